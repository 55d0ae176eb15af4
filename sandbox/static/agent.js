/* The sandbox agent view. Reads GET /_conversations every second; replies and ends through /agent/api/.
 * Everything from a conversation (attribute values, message text) is written with textContent, never as HTML. */
(function () {
  "use strict";

  var selected = null;
  var latest = [];

  function $(id) {
    return document.getElementById(id);
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    return node;
  }
  function row(cells, attrs) {
    var tr = el("tr", null, attrs);
    cells.forEach(function (cell) {
      tr.appendChild(cell instanceof Node ? cell : el("td", cell));
    });
    return tr;
  }
  function replaceChildren(parent, children) {
    parent.textContent = "";
    children.forEach(function (child) {
      parent.appendChild(child);
    });
  }
  function time(stamp) {
    return stamp ? stamp.replace("T", " ").replace("Z", " UTC") : "";
  }
  function summary(conversation) {
    // Who the customer is comes from Genesys (authenticated messaging), never from participant data, which the
    // customer's browser can write.
    var claims = conversation.authClaims || {};
    var who = conversation.authenticated
      ? "authenticated " + (claims.name || "customer") + " (sub " + claims.sub + ")"
      : "customer (not authenticated)";
    var last = conversation.messages.length ? conversation.messages[conversation.messages.length - 1].text : "(no messages)";
    return { who: who, last: last };
  }

  // The Interaction Widget's Application URL with Genesys' template variables filled in (GENESYS.md).
  function widgetUrl(template, conversationId) {
    var values = {
      gcConversationId: conversationId,
      gcHostOrigin: window.location.origin,
      gcTargetEnv: "sandbox",
      gcLangTag: document.documentElement.lang || "en-us",
      gcUsePopupAuth: "true",
      pcEnvironment: window.location.host,
    };
    return template.replace(/\{\{(\w+)\}\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? encodeURIComponent(values[name]) : whole;
    });
  }

  function renderWidget(conversation) {
    var template = document.body.getAttribute("data-widget-url");
    var panel = $("ag-widget-panel");
    panel.hidden = !conversation;
    var frame = $("ag-widget");
    if (!conversation || !template || !frame || frame.getAttribute("data-conversation-id") === conversation.id) {
      return; // loaded once per conversation: the card is not reloaded by the list's refresh
    }
    frame.setAttribute("data-conversation-id", conversation.id);
    frame.src = widgetUrl(template, conversation.id);
  }

  function renderList() {
    $("ag-empty").hidden = latest.length > 0;
    var items = latest
      .slice()
      .reverse()
      .map(function (conversation) {
        var li = el("li");
        var button = el("button", null, {
          type: "button",
          class: "ag-item" + (conversation.id === selected ? " ag-item-selected" : ""),
          "aria-current": conversation.id === selected ? "true" : "false",
          "data-conversation-id": conversation.id,
        });
        var info = summary(conversation);
        button.appendChild(el("span", info.who, { class: "ag-item-who" }));
        button.appendChild(el("span", conversation.state, { class: "ag-item-state" }));
        button.appendChild(el("span", info.last, { class: "ag-item-last" }));
        button.addEventListener("click", function () {
          select(conversation.id);
        });
        li.appendChild(button);
        return li;
      });
    replaceChildren($("ag-conversations"), items);
  }

  function renderDetail() {
    var conversation = latest.find(function (c) {
      return c.id === selected;
    });
    $("ag-none").hidden = !!conversation;
    $("ag-conversation").hidden = !conversation;
    renderWidget(conversation);
    if (!conversation) {
      return;
    }
    $("ag-id").textContent = conversation.id;
    $("ag-state").textContent = conversation.state + (conversation.cleared ? " (cleared by the guest)" : conversation.endedBy ? " (ended by " + conversation.endedBy + ")" : "");
    $("ag-verified").textContent = conversation.authenticated
      ? "authenticated by Genesys as " + (conversation.authClaims.name || "") + " <" +
        (conversation.authClaims.email || "") + ">, sub " + conversation.authClaims.sub
      : "not authenticated by Genesys";
    $("ag-deployment").textContent = conversation.deploymentId;
    var ended = conversation.state === "disconnected";
    $("agent-reply").disabled = ended;
    $("agent-send").disabled = ended;
    $("agent-end").disabled = ended;

    replaceChildren(
      $("ag-attributes"),
      Object.keys(conversation.attributes)
        .sort()
        .map(function (key) {
          var attr = conversation.attributes[key];
          var origin = el("td", null);
          origin.appendChild(el("span", attr.origin, { class: "ag-origin ag-origin-" + (attr.origin === "server" ? "server" : "widget") }));
          return row([el("th", key, { scope: "row" }), el("td", attr.value, { class: "ag-value" }), origin], { "data-key": key, "data-origin": attr.origin });
        })
    );
    replaceChildren(
      $("ag-transcript"),
      conversation.messages.map(function (message) {
        var guest = message.direction === "Inbound";
        var li = el("li", null, { class: guest ? "ag-msg-guest" : "ag-msg-agent", "data-direction": message.direction });
        li.appendChild(el("span", (guest ? "Customer" : "Agent") + " \u00b7 " + time(message.channel.time), { class: "ag-msg-meta" }));
        li.appendChild(el("span", message.text, { class: "ag-msg-text" }));
        return li;
      })
    );
    replaceChildren(
      $("ag-calls"),
      conversation.dataActionCalls.map(function (call) {
        var answer = call.error || (call.body === null || call.body === undefined ? "" : JSON.stringify(call.body));
        return row([time(call.startedAt), call.state, call.status === null ? "\u2013" : call.status, call.durationMs === null ? "\u2013" : call.durationMs + " ms", el("td", answer, { class: "ag-value" })]);
      })
    );
    replaceChildren(
      $("ag-pushes"),
      conversation.pushes.map(function (push) {
        return row([time(push.at), el("td", JSON.stringify(push.attributes), { class: "ag-value" })]);
      })
    );
  }

  function select(id) {
    selected = id;
    if (window.location.hash.slice(1) !== id) {
      window.history.replaceState(null, "", "#" + id);
    }
    renderList();
    renderDetail();
  }

  function refresh() {
    return window
      .fetch("/_conversations", { cache: "no-store" })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        latest = data.conversations;
        var wanted = window.location.hash.slice(1);
        if (wanted && latest.some(function (c) { return c.id === wanted; })) {
          selected = wanted;
        } else if (!latest.some(function (c) { return c.id === selected; })) {
          selected = latest.length ? latest[latest.length - 1].id : null;
        }
        renderList();
        renderDetail();
      })
      .catch(function () {
        $("ag-feedback").textContent = "The sandbox is not answering.";
      });
  }

  function post(path, body) {
    return window
      .fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}) })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) {
            throw new Error(data.error || response.statusText);
          }
          return data;
        });
      });
  }

  function start() {
    $("ag-reply-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("agent-reply");
      var text = input.value;
      if (!selected || !text.trim()) {
        return;
      }
      post("/agent/api/conversations/" + encodeURIComponent(selected) + "/reply", { text: text })
        .then(function () {
          input.value = "";
          $("ag-feedback").textContent = "Reply sent.";
          return refresh();
        })
        .catch(function (error) {
          $("ag-feedback").textContent = "Reply not sent: " + error.message;
        });
    });
    $("agent-end").addEventListener("click", function () {
      if (!selected) {
        return;
      }
      post("/agent/api/conversations/" + encodeURIComponent(selected) + "/disconnect")
        .then(function () {
          $("ag-feedback").textContent = "Conversation ended.";
          return refresh();
        })
        .catch(function (error) {
          $("ag-feedback").textContent = "Could not end: " + error.message;
        });
    });
    window.addEventListener("hashchange", function () {
      var id = window.location.hash.slice(1);
      if (id) {
        select(id);
      }
    });
    refresh();
    window.setInterval(refresh, 1000);
  }

  start();
})();
