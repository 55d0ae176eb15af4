"""The sandbox's Messenger stand-in in Debian's chromium, loaded by the official snippet from another origin.

A tiny page server (its own origin, a strict CSP like the site's) renders the deployment snippet pointing at the
sandbox and sets custom attributes in a Database.ready subscription, as the site does. Set SCREENSHOTS_DIR to
keep screenshots of the open widget and of the agent view.
"""

import html
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from sandbox import defaults
from tests.browser.steps import messenger, messenger_frame, page_messenger_keys

pytestmark = pytest.mark.browser

# Messenger's session key in its frame's localStorage (Developer Center localStorage page).
SESSION_KEY = f"_{defaults.DEPLOYMENT_ID}:gcmcsessionActive"

EVENTS = [
    "Messenger.ready",
    "Messenger.opened",
    "Messenger.closed",
    "Database.ready",
    "Database.updated",
    "MessagingService.ready",
    "MessagingService.started",
    "MessagingService.messagesReceived",
    "MessagingService.conversationCleared",
    "MessagingService.conversationDisconnected",
    "MessagingService.error",
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Member page</title>
<script type="application/json" id="page-data">{data}</script>
<script nonce="{nonce}">
(function () {{
  var data = JSON.parse(document.getElementById("page-data").textContent);
  (function (g, e, n, es, ys) {{
    g['_genesysJs'] = e; g[e] = g[e] || function () {{ (g[e].q = g[e].q || []).push(arguments) }};
    g[e].t = 1 * new Date(); g[e].c = es; ys = document.createElement('script'); ys.async = 1; ys.src = n;
    ys.charset = 'utf-8'; document.head.appendChild(ys);
  }})(window, 'Genesys', data.scriptUrl, {{ environment: 'sandbox', deploymentId: data.deploymentId }});
  window.__events = [];
  data.events.forEach(function (name) {{
    Genesys("subscribe", name, function (e) {{ window.__events.push({{ name: name, data: e.data }}); }});
  }});
  Genesys("subscribe", "Database.ready", function () {{
    Genesys("command", "Database.set", {{ messaging: {{ customAttributes: data.attributes }} }});
  }});
}})();
</script></head>
<body><main><h1>{title}</h1><p>A page of the member site.</p></main></body></html>"""


def _json_for_script(value):
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@pytest.fixture(scope="module")
def site(sandbox_server):
    """A page server on its own origin: every query parameter becomes a custom attribute."""
    sandbox_url = sandbox_server.url
    socket_origin = sandbox_url.replace("http://", "ws://", 1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            if url.path != "/":
                self.send_response(204 if url.path == "/favicon.ico" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            nonce = secrets.token_urlsafe(12)
            data = {
                "scriptUrl": f"{sandbox_url}/genesys-bootstrap/genesys.min.js",
                "deploymentId": defaults.DEPLOYMENT_ID,
                "attributes": dict(parse_qsl(url.query)),
                "events": EVENTS,
            }
            body = PAGE.format(data=_json_for_script(data), nonce=nonce, title=html.escape("Member page")).encode()
            # The site's policy in sandbox mode: Messenger may load from, style from and connect to its origin only
            # (its guest socket: the same host and port under ws://).
            csp = (
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}' {sandbox_url}; "
                f"style-src 'self' 'nonce-{nonce}' {sandbox_url}; img-src 'self' data: {sandbox_url}; "
                f"connect-src 'self' {sandbox_url} {socket_origin}; font-src 'self' {sandbox_url}; "
                f"frame-src 'self' {sandbox_url}; "
                "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", csp)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def wait_event(page, name, predicate="true"):
    """Wait until the page saw the event (optionally one whose `e.data` satisfies a JS expression)."""
    page.wait_for_function(
        f"(name) => window.__events.some((e) => e.name === name && ({predicate}))", arg=name, timeout=10_000
    )


def command(page, name, options=None):
    """Run a Messenger command with its callbacks; answers {resolved: data} or {rejected: message, code}."""
    return page.evaluate(
        """([name, options]) => new Promise((resolve) => Genesys("command", name, options,
              (data) => resolve({resolved: data === undefined ? null : data}),
              (error) => resolve({rejected: String(error && error.message), code: (error && error.code) || null})))""",
        [name, options],
    )


def open_page(page, site, **attributes):
    query = "&".join(f"{k}={v}" for k, v in attributes.items())
    page.goto(f"{site}/?{query}")
    wait_event(page, "MessagingService.ready")


def send(page, text):
    messenger(page).locator("#genesys-input").fill(text)
    messenger(page).locator("#genesys-input").press("Enter")
    messenger(page).locator("#genesys-transcript [data-direction=Inbound]", has_text=text).wait_for()


def screenshot(page, name, full_page=False):
    directory = os.environ.get("SCREENSHOTS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / name), full_page=full_page)


def test_message_with_attributes_reaches_the_sandbox_and_the_agent_view(sandbox, site, page, console_errors):
    open_page(page, site, memberId="42", isAuthenticated="true", membershipLevel="Gold", memberToken="tok.en")
    launcher = messenger(page).locator("#genesys-launcher")
    assert launcher.get_attribute("aria-label") == "Open chat"
    launcher.click()
    panel = messenger(page).get_by_role("dialog", name="Chat")
    panel.wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert messenger_frame(page).evaluate("document.activeElement.id") == "genesys-input"
    send(page, "Hello, I need help with <b>my order</b>")
    wait_event(page, "MessagingService.started")

    [conversation] = sandbox.wait_for(sandbox.conversations)
    assert conversation["attributes"] == {
        "memberId": {"value": "42", "origin": "widget"},
        "isAuthenticated": {"value": "true", "origin": "widget"},
        "membershipLevel": {"value": "Gold", "origin": "widget"},
        "memberToken": {"value": "tok.en", "origin": "widget"},
    }
    assert [m["text"] for m in conversation["messages"]] == ["Hello, I need help with <b>my order</b>"]
    inbound = conversation["messages"][0]["channel"]["metadata"]["customAttributes"]
    assert inbound["memberToken"] == "tok.en"

    # The site's push (as a Genesys client would send it), then an agent reply from the agent view.
    token = sandbox.token()
    push = sandbox.http.patch(
        f"{sandbox.url}/api/v2/conversations/messages/{conversation['id']}/participants/"
        f"{conversation['customerParticipantId']}/attributes",
        json={"attributes": {"membershipLevel": "Gold", "verified": "true", "verifiedAt": "2026-01-01T00:00:00Z"}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert push.status_code == 200

    agent = page.context.new_page()
    agent.goto(f"{sandbox.url}/agent/")
    row = agent.locator("[data-testid=attributes] tr[data-key=memberToken]")
    row.wait_for()
    assert row.get_attribute("data-origin") == "widget"
    assert "tok.en" in row.inner_text()
    verified = agent.locator("[data-testid=attributes] tr[data-key=verified]")
    verified.wait_for()
    assert verified.get_attribute("data-origin") == "server"
    # Participant data is not vouched for: the view says who wrote it, and who the customer is comes from Genesys.
    assert agent.locator("[data-testid=conversation-verified]").inner_text() == "not authenticated by Genesys"
    assert "customer's browser or the server" in agent.locator("[data-testid=attributes-caveat]").inner_text()
    transcript = agent.locator("[data-testid=transcript]")
    assert "Hello, I need help with <b>my order</b>" in transcript.inner_text()
    assert agent.locator("[data-testid=transcript] b").count() == 0  # text, never markup
    agent.get_by_label("Reply").fill("Hi! Let me look at your order.")
    agent.get_by_role("button", name="Send reply").click()
    agent.locator("[data-testid=transcript] [data-direction=Outbound]").wait_for()

    messenger(page).locator("#genesys-transcript [data-direction=Outbound]", has_text="Let me look").wait_for()
    screenshot(page, "widget-open.png")
    agent.locator(".ag-item-last", has_text="Let me look").wait_for()  # the list caught up with the reply
    screenshot(agent, "agent-view.png", full_page=True)
    assert console_errors == []


def test_agent_reply_fires_messages_received(sandbox, site, page, console_errors):
    open_page(page, site, isAuthenticated="false")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "Anyone there?")
    [conversation] = sandbox.wait_for(sandbox.conversations)
    reply = sandbox.http.post(
        f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "Yes, how can I help?"}
    )
    assert reply.status_code == 201
    wait_event(
        page,
        "MessagingService.messagesReceived",
        "e.data.messages.some((m) => m.direction === 'Outbound' && m.text === 'Yes, how can I help?')",
    )
    messenger(page).locator("#genesys-transcript [data-direction=Outbound]", has_text="Yes, how can I help?").wait_for()
    # The agent ends it: Messenger hears of it, and the next message starts a new conversation.
    sandbox.http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/disconnect")
    wait_event(page, "MessagingService.conversationDisconnected")
    send(page, "One more thing")
    sandbox.wait_for(lambda: len(sandbox.conversations()) == 2)
    assert console_errors == []


def test_reload_continues_the_conversation(sandbox, site, page, console_errors):
    open_page(page, site, memberId="7", isAuthenticated="true")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "First message")
    [conversation] = sandbox.wait_for(sandbox.conversations)
    # Messenger's session is kept in its frame's storage (Genesys' origin), none of it in the page's.
    stored = messenger_frame(page).evaluate(f"localStorage.getItem('{SESSION_KEY}')")
    assert stored and json.loads(stored)["token"]
    assert page_messenger_keys(page) == []

    page.reload()
    wait_event(page, "MessagingService.ready")
    # Messenger remembers it was open, and shows the transcript it restored.
    messenger(page).locator("#genesys-transcript [data-direction=Inbound]", has_text="First message").wait_for()
    assert messenger(page).locator("#genesys-messenger").is_visible()
    send(page, "Second message")
    [same] = sandbox.wait_for(lambda: [c for c in sandbox.conversations() if len(c["messages"]) == 2])
    assert same["id"] == conversation["id"] and len(sandbox.conversations()) == 1
    assert console_errors == []


def test_clear_conversation_ends_it_and_the_next_message_starts_anew(sandbox, site, page, console_errors):
    open_page(page, site, memberId="7", isAuthenticated="true", memberToken="member-7")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "Before sign-out")
    [first] = sandbox.wait_for(sandbox.conversations)
    old_token = json.loads(messenger_frame(page).evaluate(f"localStorage.getItem('{SESSION_KEY}')"))["token"]

    assert command(page, "MessagingService.clearConversation") == {"resolved": {}}
    wait_event(page, "MessagingService.conversationCleared")
    assert messenger(page).locator("#genesys-transcript [data-direction]").count() == 0
    # Exactly one new session, and ready is not published again (once per page, as a plugin's ready).
    assert sandbox.stats()["guest_sessions_created"] == 2
    assert page.evaluate("window.__events.filter((e) => e.name === 'MessagingService.ready').length") == 1
    new_token = json.loads(messenger_frame(page).evaluate(f"localStorage.getItem('{SESSION_KEY}')"))["token"]
    assert new_token != old_token
    cleared = sandbox.conversation(first["id"])
    assert cleared["state"] == "disconnected" and cleared["cleared"] is True

    # What the site does after sign-out: attributes back to anonymous, then a new visitor writes.
    command(page, "Database.remove", {"messaging": {"customAttributes": {"memberId": "", "memberToken": ""}}})
    command(page, "Database.set", {"messaging": {"customAttributes": {"isAuthenticated": "false"}}})
    send(page, "After sign-out")
    second = sandbox.wait_for(lambda: [c for c in sandbox.conversations() if c["id"] != first["id"]])[0]
    assert second["state"] == "connected"
    assert second["attributes"] == {"isAuthenticated": {"value": "false", "origin": "widget"}}
    # The reload after clearing does not bring the old transcript back.
    page.reload()
    wait_event(page, "MessagingService.ready")
    messenger(page).locator("#genesys-transcript [data-direction=Inbound]", has_text="After sign-out").wait_for()
    assert messenger(page).locator("#genesys-transcript", has_text="Before sign-out").count() == 0
    assert console_errors == []


def test_clear_without_a_conversation_resolves_with_one_new_session(sandbox, site, page):
    open_page(page, site)
    assert command(page, "MessagingService.clearConversation") == {"resolved": {}}
    wait_event(page, "MessagingService.conversationCleared")
    assert sandbox.conversations() == []
    assert sandbox.stats()["guest_sessions_created"] == 2


def test_attributes_over_the_budget_are_rejected_with_4013(sandbox, site, page, console_errors):
    open_page(page, site, memberId="9")
    messenger(page).locator("#genesys-launcher").click()
    command(page, "Database.set", {"messaging": {"customAttributes": {"big": "é" * 1100}}})
    answer = command(page, "MessagingService.sendMessage", {"message": "Too much attached"})
    assert answer["code"] == 4013 and "larger than 2048 bytes" in answer["rejected"]
    wait_event(page, "MessagingService.error", "e.data.code === 4013")
    assert "too much data" in messenger(page).locator("#genesys-status").inner_text()
    assert sandbox.conversations() == []
    assert sandbox.stats()["guest_messages_rejected"] == 1
    # Within the budget again, the message goes through with the remaining attributes.
    command(page, "Database.remove", {"messaging": {"customAttributes": {"big": ""}}})
    assert (
        command(page, "MessagingService.sendMessage", {"message": "Now it fits"})["resolved"]["text"] == "Now it fits"
    )
    [conversation] = sandbox.wait_for(sandbox.conversations)
    assert set(conversation["attributes"]) == {"memberId"}
    assert console_errors == []


def test_keyboard_and_labels(sandbox, site, page, console_errors):
    open_page(page, site)
    page.locator("body").click()
    for _ in range(20):  # Tab until the launcher has focus (the page has no other focusable element before it)
        page.keyboard.press("Tab")
        if messenger_frame(page).evaluate("document.activeElement.id") == "genesys-launcher":
            break
    assert messenger_frame(page).evaluate("document.activeElement.id") == "genesys-launcher"
    page.keyboard.press("Enter")
    wait_event(page, "Messenger.opened")
    assert messenger_frame(page).evaluate("document.activeElement.id") == "genesys-input"
    messenger(page).get_by_label("Message").fill("Typed with the keyboard")
    page.keyboard.press("Enter")
    messenger(page).locator(
        "#genesys-transcript [data-direction=Inbound]", has_text="Typed with the keyboard"
    ).wait_for()
    assert messenger(page).get_by_role("log").count() == 1
    page.keyboard.press("Escape")
    wait_event(page, "Messenger.closed")
    assert messenger(page).locator("#genesys-messenger").is_hidden()
    assert messenger_frame(page).evaluate("document.activeElement.id") == "genesys-launcher"
    assert messenger(page).locator("#genesys-launcher").get_attribute("aria-label") == "Open chat"
    assert console_errors == []


def test_database_commands_and_ready_republish(sandbox, site, page):
    open_page(page, site, a="1")
    # Database.set merges customAttributes shallowly; update merges deep; get reads a path; remove drops keys.
    command(page, "Database.set", {"messaging": {"customAttributes": {"b": "2"}}})
    assert command(page, "Database.get", {"name": "messaging.customAttributes"}) == {"resolved": {"a": "1", "b": "2"}}
    command(page, "Database.update", {"messaging": {"customAttributes": {"c": "3"}}, "other": {"x": {"y": "z"}}})
    db = command(page, "Database.get")["resolved"]
    assert db["messaging"]["customAttributes"] == {"a": "1", "b": "2", "c": "3"} and db["other"] == {"x": {"y": "z"}}
    command(page, "Database.remove", {"messaging": {"customAttributes": {"a": "", "c": ""}}})
    assert command(page, "Database.get", {"name": "messaging.customAttributes"}) == {"resolved": {"b": "2"}}
    wait_event(page, "Database.updated")
    # A late subscriber still hears Database.ready and Messenger.ready.
    late = page.evaluate(
        """() => Promise.all(["Database.ready", "Messenger.ready"].map((name) =>
              new Promise((resolve) => Genesys("subscribe", name, () => resolve(name)))))"""
    )
    assert late == ["Database.ready", "Messenger.ready"]
    assert "Unknown command" in command(page, "Nope.nothing")["rejected"]
    # Messenger.open / close as commands.
    assert command(page, "Messenger.open") == {"resolved": {}}
    assert messenger(page).locator("#genesys-messenger").is_visible()
    command(page, "Messenger.close")
    assert messenger(page).locator("#genesys-messenger").is_hidden()


def test_a_failed_send_is_reported_and_the_next_one_goes_through(sandbox, site, page):
    open_page(page, site, memberId="5")
    messenger(page).locator("#genesys-launcher").click()
    sandbox.faults(route="WS onMessage", status=503, count=1)
    answer = command(page, "MessagingService.sendMessage", {"message": "Lost?"})
    assert answer["code"] == 503
    wait_event(page, "MessagingService.error", "e.data.code === 503")
    assert "Message not sent" in messenger(page).locator("#genesys-status").inner_text()
    assert sandbox.conversations() == []
    send(page, "Second try")
    [conversation] = sandbox.wait_for(sandbox.conversations)
    assert [m["text"] for m in conversation["messages"]] == ["Second try"]


READY_SENDER = """() => new Promise((resolve) => {
  Genesys("subscribe", "MessagingService.ready", function () {
    window.__readyCalls = (window.__readyCalls || 0) + 1;
    Genesys("command", "MessagingService.sendMessage", {message: "Sent on ready"}, resolve, resolve);
  });
})"""


def test_a_ready_subscriber_that_sends_once_sends_once_across_a_clear(sandbox, site, page, console_errors):
    open_page(page, site, memberId="3")
    page.evaluate(READY_SENDER)
    [conversation] = sandbox.wait_for(sandbox.conversations)
    assert command(page, "MessagingService.clearConversation") == {"resolved": {}}
    wait_event(page, "MessagingService.conversationCleared")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "After the clear")  # the new session works; ready did not fire again
    sandbox.wait_for(lambda: len(sandbox.conversations()) == 2)
    texts = [m["text"] for c in sandbox.conversations() for m in c["messages"]]
    assert texts.count("Sent on ready") == 1
    assert page.evaluate("window.__readyCalls") == 1
    assert sandbox.stats()["guest_sessions_created"] == 2
    assert console_errors == []


def test_attributes_travel_with_the_first_message_after_a_change_only(sandbox, site, page, console_errors):
    open_page(page, site, memberId="8", membershipLevel="Gold")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "one")
    send(page, "two")
    command(page, "Database.set", {"messaging": {"customAttributes": {"membershipLevel": "Platinum"}}})
    send(page, "three")
    command(page, "Database.set", {"messaging": {"customAttributes": {"membershipLevel": "Platinum"}}})
    send(page, "four")
    [conversation] = sandbox.wait_for(lambda: [c for c in sandbox.conversations() if len(c["messages"]) == 4])
    carried = [m["channel"].get("metadata", {}).get("customAttributes") for m in conversation["messages"]]
    assert carried == [
        {"memberId": "8", "membershipLevel": "Gold"},
        None,
        {"memberId": "8", "membershipLevel": "Platinum"},
        None,  # an identical set is not sent again
    ]
    assert conversation["attributes"]["membershipLevel"] == {"value": "Platinum", "origin": "widget"}
    # A reload goes on with the same session and remembers what was sent: the page's set (Gold again) is a
    # change and travels once; the message after it carries nothing.
    page.reload()
    wait_event(page, "MessagingService.ready")
    send(page, "five")
    send(page, "six")
    [conversation] = sandbox.wait_for(lambda: [c for c in sandbox.conversations() if len(c["messages"]) == 6])
    carried = [m["channel"].get("metadata", {}).get("customAttributes") for m in conversation["messages"][4:]]
    assert carried == [{"memberId": "8", "membershipLevel": "Gold"}, None]
    assert console_errors == []


def test_a_refused_clear_rejects_and_the_conversation_goes_on(sandbox, site, page):
    sandbox.configure(conversation_clear_enabled=False)
    open_page(page, site, memberId="4")
    messenger(page).locator("#genesys-launcher").click()
    send(page, "Before the refused clear")
    answer = command(page, "MessagingService.clearConversation")
    assert answer["code"] == 403 and "not supported" in answer["rejected"]
    wait_event(page, "MessagingService.error", "e.data.code === 403")
    send(page, "Still the same conversation")
    [conversation] = sandbox.wait_for(lambda: [c for c in sandbox.conversations() if len(c["messages"]) == 2])
    assert conversation["cleared"] is False and sandbox.stats()["clears_refused"] == 1


def test_too_many_messages_are_refused_with_429(sandbox, site, page):
    sandbox.configure(guest_messages_per_minute=1)
    open_page(page, site)
    messenger(page).locator("#genesys-launcher").click()
    send(page, "The only one")
    answer = command(page, "MessagingService.sendMessage", {"message": "One too many"})
    assert answer["code"] == 429
    assert "too many messages" in messenger(page).locator("#genesys-status").inner_text()
