// {% genesys_messenger %}: starts Genesys Messenger with the page's data (the json_script block just before this
// script). Loaded synchronously (no async, no defer) right after that block, so everything below is queued in
// window.Genesys before the official snippet's async script can start: the attributes are in Messenger's database
// before any message can be sent. A static file: no CSP nonce, cached by the browser.
(function () {
  "use strict";
  var element = document.getElementById("genesys-messenger-data");
  if (!element) { return; }
  // Data arrives through json_script, never interpolated into code.
  var data = JSON.parse(element.textContent);

  var OWNER_KEY = "mm.messenger.owner";
  var CLEAR_REFUSED_KEY = "mm.messenger.clear_refused";
  function readOwner() { try { return window.localStorage.getItem(OWNER_KEY); } catch (err) { return undefined; } }
  function writeOwner(value) { try { window.localStorage.setItem(OWNER_KEY, value); } catch (err) { /* none kept */ } }

  // Messenger keeps its session (and an authenticated session's tokens) in this origin's localStorage under keys
  // naming the deployment: dropping them makes Messenger start with a session of its own.
  function dropMessengerStorage() {
    var dropped = false;
    try {
      var keys = [];
      for (var i = 0; i < window.localStorage.length; i++) { keys.push(window.localStorage.key(i)); }
      keys.forEach(function (key) {
        if (key && key.indexOf(data.deploymentId) !== -1) { window.localStorage.removeItem(key); dropped = true; }
      });
    } catch (err) { /* no storage: Messenger kept no session either */ }
    return dropped;
  }

  // Clear when the server says so (first page after sign-out) or when this browser's Messenger belonged to
  // someone else (sign-out, another account, an expired session, a guest before a sign-in). No marker at all:
  // nothing to compare, and without storage Messenger keeps no session either.
  var previous = readOwner();
  var ownerChanged = typeof previous === "string" && previous !== data.owner;
  var mustClear = data.clear || ownerChanged;
  var isMember = !!data.auth;
  // A guest who signs in keeps the guest conversation, which Messenger upgrades to the member's session
  // (authenticated messaging with session upgrade allowed; GENESYS_GUEST_TO_MEMBER = "upgrade").
  var upgrade = data.authenticatedMessaging && data.guestToMember === "upgrade" && isMember &&
    previous === "anonymous" && !data.clear;
  if (upgrade) { mustClear = false; }
  if (mustClear && data.authenticatedMessaging) {
    // With authenticated messaging the clear happens before Messenger loads: its stored session (a guest's, or a
    // previous member's tokens) is dropped, so a member's page never clears the member's own conversation, which
    // follows them to every browser, and nobody continues the previous person's session.
    dropMessengerStorage();
    mustClear = false;
  }
  var clearRefused = false;
  try { clearRefused = window.localStorage.getItem(CLEAR_REFUSED_KEY) === "1"; } catch (err) { /* none kept */ }
  if (mustClear && clearRefused) {
    // This browser's deployment refuses clears: start Messenger without the previous session instead.
    dropMessengerStorage();
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

  // The clear was refused (conversationClear off in the deployment) or failed: the previous person's session
  // must not go on here. Drop it, remember this page's owner (so the next load does not try again) and reload,
  // so Messenger starts with a session of its own. Nothing stored: nothing to hide, carry on. The refusal is
  // remembered: on this browser the next change of owner drops the keys before Messenger loads.
  function refused() {
    try { window.localStorage.setItem(CLEAR_REFUSED_KEY, "1"); } catch (err) { /* none kept */ }
    writeOwner(data.owner);
    if (dropMessengerStorage()) { window.location.reload(); } else { apply(true); }
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
  if (isMember && data.authenticatedMessaging) {
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
    });
  }

  // Sign-out (a form marked data-messenger-signout): Auth.logout first, so Genesys revokes the member's session and
  // this browser forgets it, then the form goes on to the site's sign-out (whose next page clears Messenger).
  function signOutFirst(form) {
    var submitted = false;
    function submit() { if (!submitted) { submitted = true; form.submit(); } }
    // Never keep the member signed in because Messenger did not answer.
    window.setTimeout(submit, 3000);
    authProvider.command("Auth.logout", {}, submit, submit);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!authProvider || !form || !form.hasAttribute || !form.hasAttribute("data-messenger-signout")) { return; }
    event.preventDefault();
    signOutFirst(form);
  });

  var started = false;
  window.Genesys("subscribe", "Database.ready", function () {
    if (started) { return; }  // the plugin republishes ready to late subscribers
    started = true;
    if (!mustClear) { apply(true); return; }
    // First the clear, so Messenger runs it before any message; then, at once, this page's attributes, so a
    // message sent right after the clear carries them and nothing of the previous member. Once the clear is
    // done, the attributes again in case the clear reset them, and only then the marker: a clear that never
    // finished is tried again on the next page.
    window.Genesys("command", "MessagingService.clearConversation", {}, function () { apply(true); }, refused);
    apply(false);
  });
  // A conversation cleared from Messenger's own menu starts the next one with this page's attributes too.
  window.Genesys("subscribe", "MessagingService.conversationCleared", function () { if (started) { apply(false); } });
})();
