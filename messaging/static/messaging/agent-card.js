/* The member card's sign-in step, the only script the card has (the card itself is plain HTML from the server).
 *
 * In the card's frame: the agent signs in with Genesys in a popup (the login page refuses to be framed), by the
 * authorization code flow with PKCE S256 for the org's public OAuth client; the code comes back from the popup by
 * postMessage (same origin only, with the state we sent), this frame exchanges it at the login host's token
 * endpoint, keeps the access token in sessionStorage (the card's session: gone with the tab; in memory where the browser
 * denies a cross-site frame its storage) and posts it to the
 * server in a form, which answers the card. A refused token is forgotten.
 * In the popup (the redirect URI's page): hand the code and state to the opener, then close. */
(function () {
  "use strict";

  var TOKEN_KEY = "messaging.agentCard.token";

  // The frame is cross-site in Genesys' desktop: a browser that blocks third-party storage denies sessionStorage
  // (it throws). Then the token lives in this page only, and each load of the card asks for one click.
  var memory = {};
  var store = {
    get: function () {
      try {
        return window.sessionStorage.getItem(TOKEN_KEY);
      } catch (denied) {
        return memory.token || null;
      }
    },
    set: function (token) {
      memory.token = token;
      try {
        window.sessionStorage.setItem(TOKEN_KEY, token);
      } catch (denied) {
        /* kept in memory only */
      }
    },
    clear: function () {
      delete memory.token;
      try {
        window.sessionStorage.removeItem(TOKEN_KEY);
      } catch (denied) {
        /* nothing was stored */
      }
    },
  };

  function base64url(bytes) {
    var text = "";
    new Uint8Array(bytes).forEach(function (b) {
      text += String.fromCharCode(b);
    });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function randomString() {
    return base64url(window.crypto.getRandomValues(new Uint8Array(32)));
  }

  function landing() {
    var params = new URLSearchParams(window.location.search);
    if (window.opener) {
      window.opener.postMessage(
        { type: "messaging.agentCard.code", code: params.get("code"), state: params.get("state"), error: params.get("error") },
        window.location.origin
      );
    }
    window.close();
  }

  function shell(root) {
    var form = document.getElementById("agent-card-form");
    var status = document.getElementById("agent-card-status");
    var button = document.getElementById("agent-card-sign-in");
    if (root.dataset.clearToken === "true") {
      store.clear();
    }
    function show(token) {
      form.elements.access_token.value = token;
      form.submit();
    }
    var stored = store.get();
    if (stored && root.dataset.autoSubmit === "true") {
      show(stored);
      return;
    }
    if (!button) {
      return;
    }
    button.hidden = false;
    var pending = null;
    window.addEventListener("message", function (event) {
      var data = event.data || {};
      if (event.origin !== window.location.origin || data.type !== "messaging.agentCard.code" || !pending) {
        return;
      }
      if (data.state !== pending.state || !data.code) {
        status.textContent = "Sign-in did not complete.";
        pending = null;
        return;
      }
      var body = new URLSearchParams({
        grant_type: "authorization_code",
        client_id: root.dataset.clientId,
        code: data.code,
        redirect_uri: root.dataset.redirectUri,
        code_verifier: pending.verifier,
      });
      pending = null;
      window
        .fetch(root.dataset.tokenUrl, { method: "POST", body: body, credentials: "omit" })
        .then(function (response) {
          return response.ok ? response.json() : Promise.reject(new Error(String(response.status)));
        })
        .then(function (answer) {
          store.set(answer.access_token);
          show(answer.access_token);
        })
        .catch(function () {
          status.textContent = "Genesys did not accept the sign-in.";
        });
    });
    button.addEventListener("click", function () {
      var token = store.get();
      if (token) {
        show(token);
        return;
      }
      var verifier = randomString();
      var state = randomString();
      window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (digest) {
        pending = { verifier: verifier, state: state };
        var url = new URL(root.dataset.authorizeUrl);
        url.search = new URLSearchParams({
          response_type: "code",
          client_id: root.dataset.clientId,
          redirect_uri: root.dataset.redirectUri,
          code_challenge: base64url(digest),
          code_challenge_method: "S256",
          state: state,
        }).toString();
        window.open(url.toString(), "genesys-sign-in", "width=480,height=640");
      });
    });
  }

  var root = document.getElementById("agent-card-signin");
  if (root) {
    shell(root);
  } else if (document.getElementById("agent-card-signed-in")) {
    landing();
  }
})();
