// {% genesys_messenger %}: starts Genesys Messenger with the page's data (the json_script block just before this
// script). Loaded synchronously (no async, no defer) right after that block, so everything below is queued in
// window.Genesys before the official snippet's async script can start: the attributes are in Messenger's database
// before any message can be sent. A static file: no CSP nonce, cached by the browser.
//
// Messenger runs in its own iframe and keeps its state in Genesys' origin: this page can neither read nor delete
// it. Only Messenger's documented commands change it (MessagingService.clearConversation, Auth.logout), and this
// script waits on their Promises.
(function () {
  "use strict";
  var element = document.getElementById("genesys-messenger-data");
  if (!element) { return; }
  // Data arrives through json_script, never interpolated into code.
  var data = JSON.parse(element.textContent);

  // The site's own markers, in the page's storage (never Messenger's keys).
  var OWNER_KEY = "mm.messenger.owner";
  // Deployments that refused to clear a conversation in this browser: Messenger still holds the previous person's
  // session there, so this browser never starts them again (a visitor uses the guest deployment when there is
  // one). A real org switches conversationClear on, and this never happens.
  var WITHHELD_KEY = "mm.messenger.withheld";
  function read(key) { try { return window.localStorage.getItem(key); } catch (err) { return undefined; } }
  function write(key, value) { try { window.localStorage.setItem(key, value); } catch (err) { /* none kept */ } }
  function readOwner() { return read(OWNER_KEY); }
  function writeOwner(value) { write(OWNER_KEY, value); }
  function withheld(deploymentId) { return (read(WITHHELD_KEY) || "").split(" ").indexOf(deploymentId) !== -1; }
  function withhold(deploymentId) {
    if (!withheld(deploymentId)) { write(WITHHELD_KEY, ((read(WITHHELD_KEY) || "") + " " + deploymentId).trim()); }
  }

  var isMember = data.owner !== "anonymous";
  if (withheld(data.deploymentId)) {
    if (isMember || !data.guestDeploymentId || withheld(data.guestDeploymentId)) { return; }  // no widget here
    data.deploymentId = data.guestDeploymentId;  // a visitor: the deployment without authentication
  }

  // Clear when the server says so (first page after sign-out) or when this browser's Messenger belonged to
  // someone else (sign-out elsewhere, another account, an expired session). No marker at all: nothing to
  // compare. With authenticated messaging a member's conversation is theirs (it follows them to every browser):
  // their page never clears it; Auth.logout ends it in this browser at sign-out, and a guest's conversation is
  // cleared on the sign-in page, before the form leaves.
  var previous = readOwner();
  var ownerChanged = typeof previous === "string" && previous !== data.owner;
  var mustClear = (data.clear || ownerChanged) && !(data.authenticatedMessaging && isMember);
  if (data.authenticatedMessaging && !isMember && previous !== "anonymous" && typeof previous === "string") {
    // A member's page came before: Auth.logout ended the member's session; nothing of theirs is left to clear.
    mustClear = false;
  }

  // The official Genesys deployment snippet: a queue in window.Genesys, then the Messenger script, async.
  (function (g, e, n, es, ys) { g["_genesysJs"] = e; g[e] = g[e] || function () { (g[e].q = g[e].q || []).push(arguments) }; g[e].t = 1 * new Date(); g[e].c = es; ys = document.createElement("script"); ys.async = 1; ys.src = n; ys.charset = "utf-8"; document.head.appendChild(ys); })(window, "Genesys", data.scriptUrl, { environment: data.environment, deploymentId: data.deploymentId });

  function custom(attrs) { return { messaging: { customAttributes: attrs } }; }
  function removeKeys(keys) {
    if (!keys.length) { return; }
    var gone = {};
    keys.forEach(function (key) { gone[key] = ""; });
    // Database.set merges, so a previous member's keys would linger without this.
    window.Genesys("command", "Database.remove", custom(gone));
  }
  function apply(remember) {
    removeKeys(data.removeKeys);
    window.Genesys("command", "Database.set", custom(data.attributes), function () {
      if (remember) { writeOwner(data.owner); }
    });
  }

  // The clear was refused (conversationClear off in the deployment) or failed: Messenger keeps the previous
  // person's session in its own storage, out of this page's reach. This browser stops using that deployment
  // (WITHHELD_KEY) and the page loads again without it, so nobody sees that session.
  function refused() {
    withhold(data.deploymentId);
    writeOwner(data.owner);
    window.location.reload();
  }
  function clearConversation() {
    return window.Genesys("command", "MessagingService.clearConversation", {});
  }

  // Authenticated messaging, a member's page: the AuthProvider plugin (Genesys' plugin API, as in Genesys' Okta
  // blueprint). getAuthCode asks the site for a fresh code for the signed-in member (same origin, session cookie,
  // CSRF token), bound to a PKCE verifier and a nonce made here; Genesys exchanges it with the site's provider.
  // Visitors register nothing.
  var authProvider = null;
  function randomUrlSafe(bytes) {
    var buffer = new Uint8Array(bytes);
    window.crypto.getRandomValues(buffer);
    return base64Url(buffer);
  }
  function base64Url(buffer) {
    var text = "";
    for (var i = 0; i < buffer.length; i++) { text += String.fromCharCode(buffer[i]); }
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function getAuthCode() {
    var verifier = randomUrlSafe(48);  // 64 URL-safe characters (RFC 7636: 43 to 128)
    var nonce = randomUrlSafe(24);
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (digest) {
      return window.fetch(data.auth.codeUrl, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRFToken": data.auth.csrfToken },
        body: JSON.stringify({ codeChallenge: base64Url(new Uint8Array(digest)), nonce: nonce }),
      });
    }).then(function (response) {
      if (!response.ok) { throw new Error("auth-code HTTP " + response.status); }
      return response.json();
    }).then(function (answer) {
      return { authCode: answer.authCode, redirectUri: answer.redirectUri, nonce: answer.nonce, codeVerifier: verifier };
    });
  }
  function registerAuthProvider(signedIn) {
    window.Genesys("registerPlugin", "AuthProvider", function (provider) {
      authProvider = provider;
      provider.registerCommand("getAuthCode", function (e) {
        // Every call gets a fresh code (codes work once), so forceUpdate needs nothing more.
        getAuthCode().then(e.resolve, e.reject);
      });
      provider.registerCommand("reAuthenticate", function (e) {
        // The session is still signed in here: the next getAuthCode gets a fresh code for the same member.
        e.resolve();
      });
      provider.ready();
      // Registered after Messenger started (anonymous): it authenticates on this, as after a sign-in on the page.
      if (signedIn) { provider.publish("signedIn", {}); }
    });
  }
  // A guest's conversation the sign-in form could not clear (Messenger was not ready yet there): cleared here,
  // while Messenger is still anonymous, and only then does the member authenticate. Refused: the deployment is
  // withheld in this browser, as after any refused clear.
  var guestLeftBehind = isMember && data.authenticatedMessaging && previous === "anonymous" &&
    data.guestToMember !== "upgrade";
  if (isMember && data.authenticatedMessaging && !guestLeftBehind) {
    registerAuthProvider(false);
  } else if (guestLeftBehind) {
    var clearedOnce = false;
    window.Genesys("subscribe", "MessagingService.ready", function () {
      if (clearedOnce) { return; }
      clearedOnce = true;
      clearConversation().then(function () { registerAuthProvider(true); }, refused);
    });
  }
  // After the sign-in form cleared the guest's conversation: nothing left for the member's page to clear.
  var GUEST_CLEARED = "guest-cleared";

  // Messenger's readiness as this page saw it: a command before it would wait on a Messenger that may never come.
  var messengerReady = false;
  window.Genesys("subscribe", "MessagingService.ready", function () { messengerReady = true; });

  // Sign-out (a form marked data-messenger-signout) and sign-in (data-messenger-signin): Messenger's own command
  // first, waiting on its Promise (plugin commands call no callbacks), then the form goes on. Sign-out with
  // authenticated messaging: Auth.logout (Genesys revokes the member's session; Messenger forgets it here).
  // Sign-out with member tokens, and a guest's sign-in (unless the deployment upgrades the guest's session):
  // MessagingService.clearConversation (the agent is asked to wrap up). A refused clear withholds the
  // deployment in this browser. Messenger not ready yet: nothing of this person reached it, the form goes on at
  // once. No timer either way.
  function messengerFirst(form, step) {
    var submitted = false;
    function submit() { if (!submitted) { submitted = true; form.submit(); } }
    if (!messengerReady) { submit(); return; }
    step().then(submit, function () { withhold(data.deploymentId); submit(); });
  }
  function stepFor(form) {
    if (form.hasAttribute("data-messenger-signout")) {
      if (authProvider) { return function () { return authProvider.command("Auth.logout"); }; }
      return isMember ? clearConversation : null;
    }
    if (form.hasAttribute("data-messenger-signin") && !isMember && data.guestToMember !== "upgrade") {
      return function () { return clearConversation().then(function () { writeOwner(GUEST_CLEARED); }); };
    }
    return null;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var step = form && form.hasAttribute ? stepFor(form) : null;
    if (!step) { return; }
    event.preventDefault();
    messengerFirst(form, step);
  });

  // A visitor on the member deployment (authenticated messaging, no guest deployment): Genesys lets an anonymous
  // session send only where the deployment allows session upgrade. The launcher shows once its settings say so.
  if (!isMember && data.authenticatedMessaging && data.deploymentId !== data.guestDeploymentId) {
    window.Genesys("command", "Launcher.hide");
    window.Genesys("subscribe", "GenesysJS.configurationReceived", function (e) {
      var auth = (e.data && e.data.deploymentConfig && e.data.deploymentConfig.auth) || {};
      if (!auth.enabled || auth.allowSessionUpgrade) { window.Genesys("command", "Launcher.show"); }
    });
  }

  var started = false;
  window.Genesys("subscribe", "Database.ready", function () {
    if (started) { return; }  // the plugin republishes ready to late subscribers
    started = true;
    if (!mustClear) { apply(true); return; }
    // First the clear, so Messenger runs it before any message; then, at once, this page's attributes, so a
    // message sent right after the clear carries them and nothing of the previous member. Once the clear is
    // done, the attributes again in case the clear reset them, and only then the marker: a clear that never
    // finished is tried again on the next page.
    clearConversation().then(function () { apply(true); }, refused);
    apply(false);
  });
  // A conversation cleared from Messenger's own menu starts the next one with this page's attributes too.
  window.Genesys("subscribe", "MessagingService.conversationCleared", function () { if (started) { apply(false); } });
})();
