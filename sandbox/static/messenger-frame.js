/*
 * Genesys Messenger stand-in, the frame: /genesys-bootstrap/messenger.html runs this in the iframe
 * #genesys-mxg-frame that the bootstrap (genesys.min.js) adds to the page. Genesys Messenger "runs in its own
 * iframe and uses the Web Storage API to store internal vendor-specific identifiers in the browser's
 * localStorage, using Genesys Cloud as the origin for storage" (Resource Center FAQ, help.dev-genesys.cloud
 * faq_categories/web-messaging): the session, the auth tokens and the open state live here, in the sandbox's
 * origin, under the Developer Center localStorage page's names (`_{deploymentId}:gcmcsessionActive`,
 * `_{deploymentId}:gcmcopn`; the auth tokens as `_{deploymentId}:gcatkn` / `gcartkn`). The page can neither read
 * nor delete them: only Messenger's commands reach them.
 *
 * With the page: postMessage only, and only with the embedding page's origin (given by the bootstrap in the
 * frame's URL; the frame's CSP frame-ancestors holds it to the deployment's allowed domains). In: commands
 * {gcx: "command", id, name, options}, the page's plugins ({gcx: "plugin", name}, {gcx: "pluginReady", name},
 * {gcx: "pluginResult", id, ok, value}), events a plugin published ({gcx: "publish", event, data}), and
 * {gcx: "start"} once the page's queue is through. Out: {gcx: "ready"}, {gcx: "result", id, ok, value},
 * {gcx: "event", event, data}, {gcx: "pluginCommand", id, name, data}, {gcx: "layout", open}.
 *
 * Guest traffic: one WebSocket to this sandbox's origin (`/v1?deploymentId=`, as Messenger's
 * wss://webmessaging.<domain>/v1) with the guest transport's frames: configureSession -> SessionResponse,
 * onMessage -> StructuredMessage (or 4013 when the custom attributes exceed maxCustomDataBytes, 429
 * TooManyRequestsErrorMessage when writing too fast), agent messages and presence events pushed by the server.
 * Custom attributes travel with the first message after they changed, not with every message. The one HTTP
 * request besides the files reads a restored session's history (getJwt, then GET /api/v2/webmessaging/messages).
 * See sandbox/README.md for the events and what is unverified.
 *
 * CSP-friendly: no eval, no inline handlers, no inline <style>; the DOM is built with createElement/textContent.
 */
(function () {
  "use strict";

  var params = (function () {
    try {
      return JSON.parse(decodeURIComponent(location.hash.slice(1)));
    } catch (err) {
      return {};
    }
  })();
  var deploymentId = String(params.deploymentId || "");
  var environment = String(params.environment || "");
  var PARENT_ORIGIN = String(params.parentOrigin || "");
  var BASE = location.origin;
  var SESSION_KEY = "_" + deploymentId + ":gcmcsessionActive";
  var OPEN_KEY = "_" + deploymentId + ":gcmcopn";
  var JWT_KEY = "_" + deploymentId + ":gcatkn";
  var REFRESH_KEY = "_" + deploymentId + ":gcartkn";

  function toPage(message) {
    if (window.parent !== window && PARENT_ORIGIN) {
      window.parent.postMessage(message, PARENT_ORIGIN);
    }
  }
  // ------------------------------------------------------------------ helpers
  function clone(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }
  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }
  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (err) {
      return null;
    }
  }
  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (err) {
      /* no storage: the session lives as long as the page */
    }
  }
  function storageRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (err) {
      /* nothing kept */
    }
  }
  function newToken() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }
  function sleep(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  // ------------------------------------------------------------------ publish / subscribe
  var subscribers = {};
  var fired = {};

  function publish(event, data) {
    if (/\.ready$/.test(event)) {
      fired[event] = { data: data };
    }
    (subscribers[event] || []).slice().forEach(function (callback) {
      deliver(callback, event, data);
    });
    toPage({ gcx: "event", event: event, data: clone(data) });
  }
  function deliver(callback, event, data) {
    try {
      callback({ event: event, data: clone(data) });
    } catch (err) {
      window.console.error("Genesys subscriber of " + event + " failed:", err);
    }
  }
  function subscribe(event, callback) {
    if (typeof event !== "string" || typeof callback !== "function") {
      return;
    }
    (subscribers[event] = subscribers[event] || []).push(callback);
    // The plugins republish "ready" to a late subscriber, so its callback still runs.
    if (fired[event]) {
      var data = fired[event].data;
      Promise.resolve().then(function () {
        deliver(callback, event, data);
      });
    }
  }
  function unsubscribe(event, callback) {
    var list = subscribers[event] || [];
    subscribers[event] = callback ? list.filter(function (cb) { return cb !== callback; }) : [];
  }

  // ------------------------------------------------------------------ Database plugin
  var db = { messaging: { customAttributes: {} } };

  function deepMerge(target, source) {
    Object.keys(source).forEach(function (key) {
      if (isObject(source[key]) && isObject(target[key])) {
        deepMerge(target[key], source[key]);
      } else {
        target[key] = clone(source[key]);
      }
    });
    return target;
  }
  function getPath(path) {
    return String(path)
      .split(".")
      .reduce(function (node, part) {
        return node === undefined || node === null ? undefined : node[part];
      }, db);
  }
  function customAttributes() {
    return (db.messaging && isObject(db.messaging.customAttributes) && db.messaging.customAttributes) || {};
  }

  var database = {
    set: function (options) {
      if (!isObject(options)) {
        throw new Error("Database.set needs an object");
      }
      Object.keys(options).forEach(function (key) {
        if (key === "messaging" && isObject(options.messaging)) {
          db.messaging = isObject(db.messaging) ? db.messaging : {};
          Object.keys(options.messaging).forEach(function (inner) {
            var value = options.messaging[inner];
            if (inner === "customAttributes" && isObject(value)) {
              // "If the customAttributes property already exists ... update with the new data (shallow merge)."
              db.messaging.customAttributes = Object.assign({}, customAttributes(), clone(value));
            } else {
              db.messaging[inner] = clone(value);
            }
          });
        } else {
          db[key] = clone(options[key]);
        }
      });
      publish("Database.updated", db);
      return clone(db);
    },
    update: function (options) {
      if (!isObject(options)) {
        throw new Error("Database.update needs an object");
      }
      deepMerge(db, options);
      publish("Database.updated", db);
      return clone(db);
    },
    get: function (options) {
      return clone(options && options.name ? getPath(options.name) : db);
    },
    remove: function (options) {
      // Only the local database: what an earlier message carried stays with the conversation (GENESYS.md).
      if (options && typeof options.name === "string") {
        var parts = options.name.split(".");
        var last = parts.pop();
        var parent = parts.length ? getPath(parts.join(".")) : db;
        if (isObject(parent)) {
          delete parent[last];
        }
      }
      if (isObject(options) && isObject(options.messaging) && isObject(options.messaging.customAttributes)) {
        var attrs = customAttributes();
        Object.keys(options.messaging.customAttributes).forEach(function (key) {
          delete attrs[key];
        });
      }
      publish("Database.updated", db);
      return clone(db);
    },
  };

  // ------------------------------------------------------------------ the guest socket
  // One WebSocket, as Messenger opens wss://webmessaging.<domain>/v1?deploymentId=<id>: here the sandbox's origin
  // under ws://. Frames out: {action, token, ...}; frames in: {type, class, code, body}. Answers come back in the
  // order of the requests; agent messages, presence events, SessionClearedEvent and ConnectionClosedEvent arrive
  // on their own.
  var SOCKET_URL = BASE.replace(/^http/, "ws") + "/v1?deploymentId=" + encodeURIComponent(deploymentId);
  var session = {
    token: null,
    maxCustomDataBytes: null,
    readOnly: false,
    hadConversation: false, // a conversation exists in this session (so clearing has something to clear)
    active: false, // the current conversation is open (the next message continues it)
    sentAttributes: null, // the custom attributes last sent, as canonical JSON (they travel once per change)
  };
  var socket = null;
  var opening = null;
  var waiters = [];
  var closeExpected = false; // ConnectionClosedEvent came after a clear: this client closes the socket
  var closedByServer = false; // ConnectionClosedEvent outside a clear (signed in elsewhere, connection limit)
  var clearing = null; // {resolve, reject} of the clearConversation in flight
  var readyPublished = false;
  var rendered = {};
  var readyPromise = null;
  var chain = Promise.resolve();

  function serial(task) {
    // Guest operations run one after the other (a message never overtakes a clear).
    var run = chain.then(task, task);
    chain = run.catch(function () {});
    return run;
  }

  function openSocket() {
    if (socket && socket.readyState === 1) {
      return Promise.resolve(socket);
    }
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var ws = new window.WebSocket(SOCKET_URL);
        ws.onopen = function () {
          socket = ws;
          opening = null;
          resolve(ws);
        };
        ws.onmessage = function (event) {
          receive(JSON.parse(event.data));
        };
        ws.onclose = function () {
          var wasOpen = socket === ws;
          if (wasOpen) {
            socket = null;
          } else {
            opening = null;
            reject(new Error("no connection to the messaging service"));
          }
          var failed = waiters;
          waiters = [];
          failed.forEach(function (waiter) {
            waiter.reject(new Error("the connection to the messaging service closed"));
          });
          if (wasOpen) {
            socketClosed();
          }
        };
      });
    }
    return opening;
  }

  function request(frame) {
    return openSocket().then(function (ws) {
      return new Promise(function (resolve, reject) {
        waiters.push({ resolve: resolve, reject: reject });
        ws.send(JSON.stringify(frame));
      });
    });
  }

  function receive(frame) {
    if (frame.class === "SessionClearedEvent") {
      sessionCleared();
    } else if (frame.class === "ConnectionClosedEvent") {
      // The client, not the server, closes the socket after ConnectionClosedEvent (GENESYS.md, More frames).
      if (clearing) {
        closeExpected = true;
      } else {
        closedByServer = true;
        if (frame.body && frame.body.reason === "signedIn") {
          // The member signed in on another device, which upgraded its session: this one is over.
          sessionCleared();
          ui.note("This chat continues where you signed in.");
        }
      }
      if (socket) {
        socket.close();
      }
    } else if (frame.class === "LogoutEvent") {
      // Genesys pushes LogoutEvent after a revoke (another tab's Auth.logout): forget the member here too.
      saveAuth(null, null);
      sessionCleared();
      readyPromise = null;
      publish("Auth.loggedOut", {});
    } else if (frame.class === "StructuredMessage" && frame.body && frame.body.direction === "Outbound") {
      handleEvent(frame);
    } else if (waiters.length) {
      waiters.shift().resolve(frame);
    }
  }

  function socketClosed() {
    if (closeExpected) {
      // After a clear: one new session on a new socket, then the clear is done.
      closeExpected = false;
      var done = clearing;
      clearing = null;
      startSession(newToken()).then(
        function () {
          publish("MessagingService.conversationCleared", {});
          if (done) {
            done.resolve({});
          }
        },
        function (err) {
          if (done) {
            done.reject(err);
          }
        }
      );
      return;
    }
    if (closedByServer) {
      // Closed on purpose: the next command opens a new connection (and a new session if this one is gone).
      closedByServer = false;
      return;
    }
    // Dropped (network, sandbox restarted): reconnect like Messenger, with the same session.
    (function retry(delay) {
      sleep(delay).then(function () {
        if (socket || !session.token) {
          return;
        }
        configure(session.token).catch(function () {
          retry(Math.min(delay * 2, 10000));
        });
      });
    })(500);
  }

  function saveSession() {
    storageSet(
      SESSION_KEY,
      JSON.stringify({
        token: session.token,
        deploymentId: deploymentId,
        sentAttributes: session.sentAttributes,
        authenticated: !!auth.jwt,
      })
    );
  }
  function loadSession() {
    try {
      var saved = JSON.parse(storageGet(SESSION_KEY) || "null");
      return saved && typeof saved.token === "string" ? saved : null;
    } catch (err) {
      return null;
    }
  }

  function configure(token) {
    // One configureSession per session (configureAuthenticatedSession with the exchange's JWT when signed in);
    // the answer says whether it is new, and whether it is read-only.
    var frameOut = { action: "configureSession", deploymentId: deploymentId, token: token };
    if (auth.jwt) {
      frameOut = {
        action: "configureAuthenticatedSession",
        deploymentId: deploymentId,
        token: token,
        startNew: false,
        data: { code: auth.jwt },
      };
    }
    return request(frameOut).then(function (frame) {
      if (frame.class === "SessionExpiredEvent") {
        // An expired session cannot be configured again: a new one.
        return configure(newToken());
      }
      if (frame.code !== 200) {
        throw new Error("configureSession failed: " + frame.code + " " + frame.body);
      }
      var saved = loadSession();
      session.token = token;
      session.maxCustomDataBytes = frame.body.maxCustomDataBytes;
      session.readOnly = !!frame.body.readOnly;
      session.sentAttributes =
        !frame.body.newSession && !session.readOnly && saved && saved.token === token ? saved.sentAttributes : null;
      saveSession();
      return frame.body;
    });
  }

  function history() {
    // The transcript of a session that goes on: a JWT from the socket opens the history over HTTP.
    return request({ action: "getJwt", token: session.token }).then(function (frame) {
      if (frame.code !== 200) {
        return [];
      }
      var url = BASE + "/api/v2/webmessaging/messages?pageSize=25&pageNumber=1";
      var init = { headers: { Authorization: "Bearer " + frame.body.jwt }, credentials: "omit", cache: "no-store" };
      return window.fetch(url, init).then(function (response) {
        return response.ok ? response.json().then(function (page) { return page.entities.slice().reverse(); }) : [];
      });
    });
  }

  function startSession(token) {
    // The widget must exist before the transcript is drawn (a command can start the session before the DOM).
    return Promise.all([configure(token), widgetReady]).then(function (results) {
      var body = results[0];
      var restored = body.newSession ? Promise.resolve([]) : history();
      return restored.then(function (messages) {
        session.hadConversation = messages.length > 0;
        session.active = messages.length > 0 && !session.readOnly;
        ui.clearTranscript();
        messages.forEach(renderMessage);
        if (session.readOnly) {
          ui.note("The conversation has ended. Send a message to start a new one.");
        }
        if (messages.length) {
          publish("MessagingService.restored", { messages: messages });
        }
        if (!readyPublished) {
          // Once per page, as a plugin's ready event: a clear or a reconnect does not publish it again.
          readyPublished = true;
          publish("MessagingService.ready", { deploymentId: deploymentId, environment: environment });
        }
      });
    });
  }

  function ensureReady() {
    if (!readyPromise) {
      readyPromise = (function attempt(delay) {
        return authenticateIfAsked()
          .then(function () {
            return deploymentConfig;
          })
          .then(function (config) {
            var saved = loadSession();
            // An anonymous session of this browser goes on as the member's only where the deployment allows
            // session upgrade; a member's session never goes on as anonymous (4017).
            var upgrade = !!auth.jwt && !!(config.auth && config.auth.allowSessionUpgrade);
            var reuse = saved && (!!saved.authenticated === !!auth.jwt || (upgrade && !saved.authenticated));
            return startSession(reuse ? saved.token : newToken());
          })
          .catch(function (err) {
          publish("MessagingService.error", { code: 0, message: String(err && err.message) });
          return sleep(delay).then(function () {
            return attempt(Math.min(delay * 2, 10000));
          });
        });
      })(1000);
    }
    return readyPromise;
  }

  function handleEvent(frame) {
    var message = frame.body;
    var presence = message.type === "Event" && message.events && message.events[0] && message.events[0].presence;
    if (presence && presence.type === "Disconnect") {
      session.active = false;
      session.readOnly = true;
      session.sentAttributes = null; // the next conversation gets the attributes again
      saveSession();
      ui.note("The agent ended the conversation. Send a message to start a new one.");
      publish("MessagingService.conversationDisconnected", {});
      return;
    }
    if (message.type === "Text" && renderMessage(message)) {
      publish("MessagingService.messagesReceived", { messages: [message] });
    }
  }

  function sessionCleared() {
    // The stored session goes with it: the next person on this browser starts with nothing.
    storageRemove(SESSION_KEY);
    session.token = null;
    session.sentAttributes = null;
    session.active = false;
    session.hadConversation = false;
    rendered = {};
    ui.clearTranscript();
  }

  function renderMessage(message) {
    if (!message || message.type !== "Text" || rendered[message.id]) {
      return false;
    }
    rendered[message.id] = true;
    ui.addMessage(message);
    return true;
  }

  function utf8Bytes(attributes) {
    var encoder = new TextEncoder();
    return Object.keys(attributes).reduce(function (total, key) {
      return total + encoder.encode(key).length + encoder.encode(String(attributes[key])).length;
    }, 0);
  }

  function canonical(attributes) {
    var sorted = {};
    Object.keys(attributes)
      .sort()
      .forEach(function (key) {
        sorted[key] = attributes[key];
      });
    return JSON.stringify(sorted);
  }

  function guestMessage(message, retried) {
    // onMessage; custom attributes ride along only when they changed since the last ones sent (transport SDK).
    var attributes = clone(customAttributes());
    var current = canonical(attributes);
    if (current !== session.sentAttributes) {
      message.channel = { metadata: { customAttributes: attributes } };
    }
    return request({ action: "onMessage", token: session.token, message: message }).then(function (frame) {
      if ((frame.code === 4006 || frame.code === 4007) && !retried) {
        // The session expired (4006) or is gone (4007: cleared elsewhere, the sandbox reset): a new one.
        delete message.channel;
        return startSession(newToken()).then(function () {
          return guestMessage(message, true);
        });
      }
      if (frame.code !== 200) {
        var error = new Error(typeof frame.body === "string" ? frame.body : JSON.stringify(frame.body));
        error.code = frame.code;
        if (frame.code === 4013) {
          // CustomAttributeSizeTooLarge (genesys-messenger-transport-mobile-sdk): the message is not sent.
          ui.note("Message not sent: too much data is attached (" + utf8Bytes(attributes) + " bytes).");
        } else if (frame.code === 429) {
          ui.note("Message not sent: too many messages. Try again in " + frame.body.retryAfter + " seconds.");
        } else {
          ui.note("Message not sent (" + frame.code + ").");
        }
        publish("MessagingService.error", { code: frame.code, message: error.message });
        throw error;
      }
      if (message.channel) {
        session.sentAttributes = current;
        saveSession();
      }
      if (!session.active) {
        session.active = true;
        session.readOnly = false;
        session.hadConversation = true;
        publish("MessagingService.started", {});
      }
      return frame.body;
    });
  }

  function sendText(text) {
    return ensureReady().then(function () {
      return serial(function () {
        return guestMessage({ type: "Text", text: text }).then(
          function (sent) {
            if (renderMessage(sent)) {
              publish("MessagingService.messagesReceived", { messages: [sent] });
            }
            return sent;
          },
          function (err) {
            if (err.code === undefined) {
              // No answer at all (network down, sandbox stopped): say so rather than fail silently.
              ui.note("Message not sent: no connection to the messaging service.");
              publish("MessagingService.error", { code: 0, message: String(err && err.message) });
            }
            throw err;
          }
        );
      });
    });
  }

  function clearConversation() {
    // A Presence Clear on the socket: 200, then SessionClearedEvent and ConnectionClosedEvent; one new session
    // follows. Refused (conversationClear off in the deployment): rejected with the frame's code.
    return ensureReady().then(function () {
      return serial(function () {
        return new Promise(function (resolve, reject) {
          clearing = { resolve: resolve, reject: reject };
          var clear = { type: "Event", events: [{ eventType: "Presence", presence: { type: "Clear" } }] };
          request({ action: "onMessage", token: session.token, message: clear }).then(
            function (frame) {
              if (frame.code !== 200) {
                clearing = null;
                var error = new Error(typeof frame.body === "string" ? frame.body : "clearConversation refused");
                error.code = frame.code;
                publish("MessagingService.error", { code: frame.code, message: error.message });
                reject(error);
              }
            },
            function (err) {
              clearing = null;
              reject(err);
            }
          );
        });
      });
    });
  }

  // ------------------------------------------------------------------ the widget
  var ui = (function () {
    var launcher, panel, transcript, input, status, form, launcherVisible = true;

    function el(tag, attrs, text) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) {
        node.setAttribute(name, attrs[name]);
      });
      if (text) {
        node.textContent = text;
      }
      return node;
    }

    function bubbleIcon() {
      // A speech bubble drawn as SVG: no icon font or emoji font needed.
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("width", "28");
      svg.setAttribute("height", "28");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      var path = document.createElementNS(ns, "path");
      path.setAttribute("fill", "currentColor");
      path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
      svg.appendChild(path);
      return svg;
    }

    function build() {
      var root = el("div", { class: "gcx-sbx-root", "data-testid": "genesys-messenger-root" });
      launcher = el("button", {
        type: "button",
        id: "genesys-launcher",
        class: "gcx-sbx-launcher",
        "aria-label": "Open chat",
        "aria-expanded": "false",
        "aria-controls": "genesys-messenger",
        "data-testid": "genesys-launcher",
      });
      launcher.appendChild(bubbleIcon());
      panel = el("div", {
        id: "genesys-messenger",
        class: "gcx-sbx-panel",
        role: "dialog",
        "aria-label": "Chat",
        "data-testid": "genesys-messenger",
      });
      panel.hidden = true;
      var header = el("div", { class: "gcx-sbx-header" });
      header.appendChild(el("h2", { class: "gcx-sbx-title", id: "genesys-title" }, "Chat with us"));
      var minimize = el("button", {
        type: "button",
        class: "gcx-sbx-minimize",
        "aria-label": "Minimize chat",
        "data-testid": "genesys-minimize",
      });
      minimize.appendChild(el("span", { "aria-hidden": "true" }, "\u2013"));
      header.appendChild(minimize);
      transcript = el("div", {
        id: "genesys-transcript",
        class: "gcx-sbx-transcript",
        role: "log",
        "aria-live": "polite",
        "aria-label": "Conversation",
        tabindex: "0",
        "data-testid": "genesys-transcript",
      });
      status = el("p", { class: "gcx-sbx-status", role: "status", id: "genesys-status", "data-testid": "genesys-status" });
      form = el("form", { class: "gcx-sbx-form", novalidate: "" });
      var label = el("label", { for: "genesys-input", class: "gcx-sbx-label" }, "Message");
      input = el("input", {
        type: "text",
        id: "genesys-input",
        class: "gcx-sbx-input",
        autocomplete: "off",
        maxlength: "4000",
        "data-testid": "genesys-input",
      });
      var send = el("button", { type: "submit", id: "genesys-send", class: "gcx-sbx-send", "data-testid": "genesys-send" }, "Send");
      form.appendChild(label);
      form.appendChild(input);
      form.appendChild(send);
      panel.appendChild(header);
      panel.appendChild(transcript);
      panel.appendChild(status);
      panel.appendChild(form);
      root.appendChild(panel);
      root.appendChild(launcher);
      document.body.appendChild(root);

      launcher.addEventListener("click", function () {
        if (panel.hidden) {
          open();
        } else {
          close(true);
        }
      });
      minimize.addEventListener("click", function () {
        close(true);
      });
      panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          close(true);
        }
      });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = input.value;
        if (!text.trim()) {
          return;
        }
        input.value = "";
        setStatus("");
        sendText(text).catch(function () {
          input.value = input.value || text; // give the text back so nothing typed is lost
        });
      });
      if (storageGet(OPEN_KEY) === "true") {
        open(false);
      }
    }

    function open(focus) {
      if (!panel) {
        return;
      }
      var wasHidden = panel.hidden;
      panel.hidden = false;
      launcher.setAttribute("aria-label", "Close chat");
      launcher.setAttribute("aria-expanded", "true");
      storageSet(OPEN_KEY, "true");
      if (focus !== false) {
        input.focus();
      }
      if (wasHidden) {
        toPage({ gcx: "layout", open: true });
        publish("Messenger.opened", {});
      }
    }

    function close(returnFocus) {
      if (!panel) {
        return;
      }
      var wasOpen = !panel.hidden;
      panel.hidden = true;
      launcher.setAttribute("aria-label", "Open chat");
      launcher.setAttribute("aria-expanded", "false");
      storageSet(OPEN_KEY, "false");
      if (returnFocus && launcherVisible) {
        launcher.focus();
      }
      if (wasOpen) {
        toPage({ gcx: "layout", open: false });
        publish("Messenger.closed", {});
      }
    }

    function setStatus(text) {
      if (status) {
        status.textContent = text;
      }
    }

    function addMessage(message) {
      if (!transcript) {
        return;
      }
      var inbound = message.direction === "Inbound";
      var item = el("div", {
        class: "gcx-sbx-msg " + (inbound ? "gcx-sbx-msg-guest" : "gcx-sbx-msg-agent"),
        "data-direction": message.direction,
        "data-message-id": message.id,
      });
      item.appendChild(el("span", { class: "gcx-sbx-who" }, inbound ? "You" : "Agent"));
      item.appendChild(el("span", { class: "gcx-sbx-text" }, message.text));
      transcript.appendChild(item);
      transcript.scrollTop = transcript.scrollHeight;
    }

    function clearTranscript() {
      if (transcript) {
        transcript.textContent = "";
      }
      setStatus("");
    }

    function showLauncher(visible) {
      launcherVisible = visible;
      if (launcher) {
        launcher.hidden = !visible;
      }
    }

    return {
      build: build,
      open: open,
      close: close,
      note: setStatus,
      addMessage: addMessage,
      clearTranscript: clearTranscript,
      showLauncher: showLauncher,
      isOpen: function () {
        return !!panel && !panel.hidden;
      },
    };
  })();

  var domReady = new Promise(function (resolve) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", resolve, { once: true });
    } else {
      resolve();
    }
  });
  // Always asynchronous, so the queue below is drained before Messenger.ready is published.
  var widgetReady = domReady.then(function () {
    ui.build();
    publish("Messenger.ready", {});
  });


  // ------------------------------------------------------------------ authenticated messaging
  // GENESYS.md, Authenticated messaging: with the deployment's auth.enabled and an AuthProvider plugin, the code
  // from its getAuthCode is exchanged for Genesys' JWT (oauthcodegrantjwtexchange), and the session is
  // configured with it. A failed exchange publishes Auth.error and the session is anonymous, with nothing of
  // the member. The JWT and refresh token are kept in this frame's localStorage (Genesys' origin).
  // The page's plugins: registered there (their handlers are page code), known here by name.
  var plugins = {};
  var pluginData = { "Auth.authenticated": false };
  var loggedOut = false;
  var auth = { jwt: storageGet(JWT_KEY), refreshToken: storageGet(REFRESH_KEY) };
  function saveAuth(jwt, refreshToken) {
    auth.jwt = jwt;
    auth.refreshToken = refreshToken;
    if (jwt) {
      storageSet(JWT_KEY, jwt);
      storageSet(REFRESH_KEY, refreshToken || "");
    } else {
      storageRemove(JWT_KEY);
      storageRemove(REFRESH_KEY);
    }
    pluginData["Auth.authenticated"] = !!jwt;
  }
  // The deployment's public settings, as Messenger reads them (transport SDK Urls.kt: api-cdn.<domain>).
  var deploymentConfig = window
    .fetch(BASE + "/webdeployments/v1/deployments/" + encodeURIComponent(deploymentId) + "/config.json", {
      credentials: "omit",
      cache: "no-store",
    })
    .then(function (response) {
      return response.ok ? response.json() : { auth: { enabled: false } };
    })
    .catch(function () {
      return { auth: { enabled: false } };
    })
    .then(function (config) {
      publish("GenesysJS.configurationReceived", { deploymentConfig: config });
      return config;
    });

  function postJson(method, path, body, jwt) {
    var headers = { "Content-Type": "application/json" };
    if (jwt) {
      headers.Authorization = "bearer " + jwt;
    }
    var init = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
    if (body) {
      init.body = JSON.stringify(body);
    }
    return window.fetch(BASE + "/api/v2/webdeployments/token/" + path, init).then(function (response) {
      if (!response.ok) {
        return response.json().then(
          function (error) {
            throw Object.assign(new Error(error.message || "HTTP " + response.status), { status: response.status });
          },
          function () {
            throw Object.assign(new Error("HTTP " + response.status), { status: response.status });
          }
        );
      }
      return response.status === 204 ? {} : response.json();
    });
  }

  var pluginCalls = {};
  var nextPluginCall = 1;
  function providerCommand(name, data) {
    // A command of the page's AuthProvider plugin: run there, answered by postMessage.
    return new Promise(function (resolve, reject) {
      var id = nextPluginCall++;
      pluginCalls[id] = { resolve: resolve, reject: reject };
      toPage({ gcx: "pluginCommand", id: id, name: "AuthProvider." + name, data: data || {} });
    });
  }

  function exchangeCode(forceUpdate) {
    return providerCommand("getAuthCode", { forceUpdate: !!forceUpdate }).then(function (code) {
      var oauth = { code: code.authCode, redirectUri: code.redirectUri, nonce: code.nonce };
      if (code.codeVerifier) {
        oauth.codeVerifier = code.codeVerifier;
      }
      if (code.maxAge) {
        oauth.maxAge = code.maxAge;
      }
      return postJson("POST", "oauthcodegrantjwtexchange", { deploymentId: deploymentId, oauth: oauth });
    });
  }

  function authenticated() {
    pluginData["Auth.authenticated"] = true;
    publish("Auth.authenticated", { authenticated: true });
  }

  function authenticateIfAsked() {
    return deploymentConfig.then(function (config) {
      var provider = plugins.AuthProvider;
      publish("Auth.ready", {});
      if (loggedOut || !(config.auth && config.auth.enabled) || !provider) {
        saveAuth(null, null);
        return;
      }
      return provider.readyPromise.then(function () {
        if (auth.jwt && auth.refreshToken) {
          // A stored session: a fresh JWT from its refresh token, else a new code (reAuthenticate first).
          return postJson("POST", "refresh", { refreshToken: auth.refreshToken, deploymentId: deploymentId }).then(
            function (answer) {
              saveAuth(answer.jwt, auth.refreshToken);
              authenticated();
            },
            function () {
              saveAuth(null, null);
              return providerCommand("reAuthenticate").then(signIn, signIn);
            }
          );
        }
        return signIn();
      });
    });
  }

  function signIn() {
    return exchangeCode(false).then(
      function (answer) {
        saveAuth(answer.jwt, answer.refreshToken);
        authenticated();
      },
      function (err) {
        // Anonymous from here on: nothing of the member goes with the session.
        saveAuth(null, null);
        publish("Auth.error", { errorCode: err && err.status ? err.status : 0, message: String(err && err.message) });
      }
    );
  }

  function logout() {
    // Auth.logout: Genesys revokes the JWT; this browser's session is forgotten and the next one is anonymous.
    var jwt = auth.jwt;
    loggedOut = true;
    saveAuth(null, null);
    sessionCleared();
    readyPromise = null;
    var revoked = jwt ? postJson("DELETE", "revoke", null, jwt).catch(function () {}) : Promise.resolve();
    return revoked.then(function () {
      publish("Auth.loggedOut", {});
      return {};
    });
  }

  function pluginRegistered(name) {
    if (plugins[name]) {
      return;
    }
    var resolveReady;
    plugins[name] = {
      readyPromise: new Promise(function (resolve) {
        resolveReady = resolve;
      }),
      ready: function () {
        resolveReady();
      },
    };
  }

  // A sign-in on the page after Messenger started (AuthProvider publishes signedIn): authenticate now.
  subscribe("AuthProvider.signedIn", function () {
    loggedOut = false;
    readyPromise = null;
    ensureReady();
  });

  // ------------------------------------------------------------------ commands
  var commands = {
    "Auth.logout": function () {
      return logout();
    },
    "Auth.getTokens": function () {
      return { jwt: auth.jwt, refreshToken: auth.refreshToken };
    },
    "Auth.refreshToken": function () {
      if (!auth.refreshToken) {
        return Promise.reject(new Error("not authenticated"));
      }
      return postJson("POST", "refresh", { refreshToken: auth.refreshToken, deploymentId: deploymentId }).then(
        function (answer) {
          saveAuth(answer.jwt, auth.refreshToken);
          return { jwt: answer.jwt };
        }
      );
    },
    "Auth.reAuthenticate": function () {
      saveAuth(null, null);
      readyPromise = null;
      return ensureReady().then(function () {
        return {};
      });
    },
    "Database.set": database.set,
    "Database.update": database.update,
    "Database.get": database.get,
    "Database.remove": database.remove,
    "Messenger.open": function () {
      return widgetReady.then(function () {
        ui.open();
        return {};
      });
    },
    "Messenger.close": function () {
      return widgetReady.then(function () {
        ui.close(false);
        return {};
      });
    },
    "Launcher.show": function () {
      return widgetReady.then(function () {
        ui.showLauncher(true);
        return {};
      });
    },
    "Launcher.hide": function () {
      return widgetReady.then(function () {
        ui.showLauncher(false);
        return {};
      });
    },
    "MessagingService.sendMessage": function (options) {
      var text = options && options.message;
      if (typeof text !== "string" || !text.trim()) {
        throw new Error("MessagingService.sendMessage needs {message: '<text>'}");
      }
      return sendText(text);
    },
    "MessagingService.startConversation": function () {
      // The auto-start join event: attributes ride on it, no text (GENESYS.md, custom attributes).
      return ensureReady().then(function () {
        return serial(function () {
          if (session.active) {
            return {};
          }
          return guestMessage({ type: "Event", events: [{ eventType: "Presence", presence: { type: "Join" } }] }).then(
            function () {
              return {};
            }
          );
        });
      });
    },
    "MessagingService.clearConversation": clearConversation,
  };

  function runCommand(name, options) {
    var handler = commands[name];
    try {
      if (!handler) {
        throw new Error("Unknown command: " + name);
      }
      return Promise.resolve(handler(options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ------------------------------------------------------------------ the page
  var started = false;
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== PARENT_ORIGIN || !isObject(event.data)) {
      return; // only the page that embeds this frame, from the origin it announced
    }
    var message = event.data;
    if (message.gcx === "command") {
      runCommand(String(message.name), message.options).then(
        function (value) {
          toPage({ gcx: "result", id: message.id, ok: true, value: clone(value) === undefined ? null : clone(value) });
        },
        function (err) {
          var error = { message: String((err && err.message) || err), code: err && err.code };
          toPage({ gcx: "result", id: message.id, ok: false, value: error });
        }
      );
    } else if (message.gcx === "plugin") {
      pluginRegistered(String(message.name));
    } else if (message.gcx === "pluginReady") {
      pluginRegistered(String(message.name));
      plugins[String(message.name)].ready();
    } else if (message.gcx === "pluginResult" && pluginCalls[message.id]) {
      var call = pluginCalls[message.id];
      delete pluginCalls[message.id];
      if (message.ok) {
        call.resolve(message.value);
      } else {
        call.reject(Object.assign(new Error(String((message.value && message.value.message) || "rejected"))));
      }
    } else if (message.gcx === "publish" && typeof message.event === "string") {
      // A plugin's event on the page (AuthProvider.signedIn): heard here, not echoed back.
      (subscribers[message.event] || []).slice().forEach(function (callback) {
        deliver(callback, message.event, message.data);
      });
    } else if (message.gcx === "start" && !started) {
      started = true;
      widgetReady.then(ensureReady);
    }
  });

  publish("Database.ready", {});
  toPage({ gcx: "ready" });
})();
