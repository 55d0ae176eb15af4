"""The widget on every page, end to end: Debian's chromium (Playwright) against the site (live_server) and the
sandbox's Messenger stand-in, nothing mocked in between. What the sandbox recorded (/_conversations) is the
proof: the customer attributes on each conversation's FIRST message.
"""

import time
import uuid
from typing import Any

import pytest

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from messaging.identity.member_token import read_member_token
from tests.browser.steps import messenger, messenger_frame, open_widget, page_messenger_keys, send, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEMBER_KEYS = {"memberId", "membershipLevel", "memberToken", "displayName", "email"}
# Browsers of the 20-of-20 test whose message Genesys may still be taking in while the next one signs in.
IN_FLIGHT = 4


@pytest.fixture
def site(messenger_site, sandbox, seeded) -> str:
    """The live site with Messenger pointed at this run's sandbox (tests/fixtures/browser.py)."""
    # The widget alone: no data action back into the live server, whose thread would otherwise still be
    # verifying (and writing to the test database) while the test tears down.
    sandbox.configure(flow_enabled=False)
    return messenger_site


def new_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A fresh context (no cookies, no localStorage) and a page that records dialogs and script errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    events: list[str] = []
    page.on("dialog", lambda dialog: (events.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda error: events.append(f"uncaught: {error}"))
    page.on("console", lambda message: events.append(message.text) if _counts(message) else None)
    return context, page, events


def _counts(message: Any) -> bool:
    """Console errors that mean something broke: not a missing favicon."""
    if message.type != "error":
        return False
    url = (message.location or {}).get("url", "")
    return not (message.text.startswith("Failed to load resource") and "/favicon.ico" in url)


def sign_out(page: Any, site: str) -> None:
    """Click sign-out and wait for the page it lands on (the form leaves only once Messenger answered)."""
    with page.expect_navigation(url=f"{site}/"):
        page.click("#logout-button")


def wait_for(sandbox: Any, probe: Any, page: Any, timeout: float = 15) -> Any:
    """sandbox.wait_for, and on a timeout what the sandbox and the widget show, to tell slow from broken."""
    try:
        return sandbox.wait_for(probe, timeout=timeout)
    except AssertionError as error:
        seen = [(c["id"], c["state"], [m.get("text") for m in c["messages"]]) for c in sandbox.conversations()]
        widget = messenger_frame(page).evaluate(
            """() => ({transcript: document.querySelector('#genesys-transcript')?.textContent,
                       status: document.querySelector('#genesys-status')?.textContent,
                       input: document.querySelector('#genesys-input')?.value})"""
        )
        raise AssertionError(f"{error}; sandbox conversations {seen}; widget {widget}") from None


def conversation_with(sandbox: Any, text: str, page: Any) -> dict[str, Any]:
    """The sandbox's conversation whose first message is `text`."""

    def probe() -> dict[str, Any] | None:
        for conversation in sandbox.conversations():
            messages = conversation["messages"]
            if messages and messages[0].get("text") == text:
                return conversation
        return None

    return wait_for(sandbox, probe, page)


def first_message_attributes(conversation: dict[str, Any]) -> dict[str, str]:
    first = conversation["messages"][0]
    return dict(first["channel"].get("metadata", {}).get("customAttributes", {}))


def profile_of(username: str) -> Any:
    from accounts.models import MemberProfile

    return MemberProfile.objects.select_related("level", "user").get(user__username=username)


def assert_member_attributes(attrs: dict[str, str], username: str) -> None:
    profile = profile_of(username)
    assert attrs.get("isAuthenticated") == "true", attrs
    assert attrs.get("memberId") == str(profile.member_id), attrs
    assert attrs.get("membershipLevel") == profile.level.name, attrs
    assert read_member_token(attrs.get("memberToken")) == profile.member_id
    assert attrs.get("displayName") == profile.user.get_full_name()
    assert attrs.get("email") == profile.user.email


def test_first_message_carries_alice_attributes_20_of_20(browser, site, sandbox):
    """Each attempt is a fresh browser that signs in and sends at once; while Genesys (the sandbox) takes the
    message in, the next attempt already starts (up to IN_FLIGHT browsers open), so the waits overlap."""
    alice = profile_of("alice")
    failures: list[tuple] = []
    in_flight: list[tuple[int, Any, Any, list[str], str]] = []
    started = time.monotonic()

    def check(attempt: int, context: Any, page: Any, events: list[str], text: str) -> None:
        try:
            attrs = first_message_attributes(conversation_with(sandbox, text, page))
            ok = (
                attrs.get("isAuthenticated") == "true"
                and attrs.get("memberId") == str(alice.member_id)
                and attrs.get("membershipLevel") == "Gold"
                and read_member_token(attrs.get("memberToken", "")) == alice.member_id
            )
            if not ok or events:
                failures.append((attempt, attrs, events))
        except Exception as error:  # one attempt's failure is counted, the loop goes on
            failures.append((attempt, repr(error), events))
        finally:
            context.close()

    for attempt in range(20):
        context, page, events = new_page(browser)
        text = f"Hello from alice #{attempt} {uuid.uuid4().hex[:8]}"
        try:
            sign_in(page, site, "alice")
            send(page, text)
        except Exception as error:
            failures.append((attempt, repr(error), events))
            context.close()
            continue
        in_flight.append((attempt, context, page, events, text))
        if len(in_flight) >= IN_FLIGHT:
            check(*in_flight.pop(0))
    for pending in in_flight:
        check(*pending)
    elapsed = time.monotonic() - started
    assert not failures, f"{20 - len(failures)} of 20 first messages carried alice's attributes: {failures}"
    print(f"20 of 20 first messages carried alice's attributes in {elapsed:.1f} s")


def test_anonymous_visitor_sends_only_the_flag(browser, site, sandbox):
    context, page, events = new_page(browser)
    try:
        page.goto(f"{site}/")
        send(page, "Hello as a guest")
        attrs = first_message_attributes(conversation_with(sandbox, "Hello as a guest", page))
        assert attrs == {"isAuthenticated": "false"}
        assert not events
    finally:
        context.close()


def test_after_sign_out_no_transcript_and_bob_starts_a_new_conversation(browser, site, sandbox):
    context, page, events = new_page(browser)
    try:
        sign_in(page, site, "alice")
        send(page, "Alice asks about her order")
        alice_conversation = conversation_with(sandbox, "Alice asks about her order", page)
        assert_member_attributes(first_message_attributes(alice_conversation), "alice")
        messenger(page).locator("#genesys-transcript", has_text="Alice asks about her order").wait_for()

        sign_out(page, site)
        # The first page after sign-out cleared Messenger: no transcript, the old conversation ended.
        open_widget(page)
        messenger_frame(page).wait_for_function(
            "() => !document.querySelector('#genesys-transcript').textContent.trim()"
        )
        cleared = sandbox.wait_for(
            lambda: next(c for c in sandbox.conversations() if c["id"] == alice_conversation["id"])["cleared"]
        )
        assert cleared

        sign_in(page, site, "bob")
        open_widget(page)
        assert "Alice asks" not in messenger(page).locator("#genesys-transcript").inner_text()
        send(page, "Bob has a question")
        bob_conversation = conversation_with(sandbox, "Bob has a question", page)
        assert bob_conversation["id"] != alice_conversation["id"]
        attrs = first_message_attributes(bob_conversation)
        assert_member_attributes(attrs, "bob")
        assert set(attrs) == {"isAuthenticated"} | MEMBER_KEYS
        assert [m["text"] for m in bob_conversation["messages"]] == ["Bob has a question"]
        assert not events
    finally:
        context.close()


def test_member_change_without_sign_out_clears_before_the_new_attributes(browser, site, sandbox):
    """alice's session ends without a sign-out (expired, cookies gone); bob signs in at the same browser."""
    context, page, events = new_page(browser)
    try:
        sign_in(page, site, "alice")
        send(page, "Alice, before her session expires")
        alice_conversation = conversation_with(sandbox, "Alice, before her session expires", page)
        messenger(page).locator("#genesys-transcript", has_text="before her session expires").wait_for()

        context.clear_cookies()  # the session is gone; localStorage (Messenger's and our marker) stays
        sign_in(page, site, "bob")
        open_widget(page)
        messenger_frame(page).wait_for_function(
            "() => !document.querySelector('#genesys-transcript').textContent.trim()"
        )
        send(page, "Bob, on the same browser")
        bob_conversation = conversation_with(sandbox, "Bob, on the same browser", page)
        assert bob_conversation["id"] != alice_conversation["id"]
        assert_member_attributes(first_message_attributes(bob_conversation), "bob")
        cleared = next(c for c in sandbox.conversations() if c["id"] == alice_conversation["id"])
        assert cleared["cleared"] and cleared["state"] == "disconnected"
        assert not events
    finally:
        context.close()


@pytest.mark.parametrize(
    "name",
    ["</script><script>alert(1)</script>", "<img src=x onerror=alert(1)>", "Zoë 🙂 مرحبا \u2028 ${alert(1)}"],
)
def test_hostile_names_stay_inert_and_arrive_as_text(browser, site, sandbox, name):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="mallory", password=DEMO_PASSWORD, first_name=name)
    context, page, events = new_page(browser)
    try:
        sign_in(page, site, "mallory")
        text = f"Hello from mallory {uuid.uuid4().hex[:8]}"
        send(page, text)
        attrs = first_message_attributes(conversation_with(sandbox, text, page))
        assert attrs["displayName"] == name.strip()
        assert not [event for event in events if event.startswith(("dialog", "uncaught"))], events
    finally:
        context.close()


def test_a_level_changed_by_an_admin_rides_on_the_next_page(browser, site, sandbox):
    from accounts.models import MembershipLevel
    from accounts.services import move_members_to_level

    context, page, events = new_page(browser)
    try:
        sign_in(page, site, "alice")
        send(page, "Before the upgrade")
        conversation = conversation_with(sandbox, "Before the upgrade", page)
        assert first_message_attributes(conversation)["membershipLevel"] == "Gold"
        messenger(page).locator("#genesys-transcript", has_text="Before the upgrade").wait_for()

        move_members_to_level(users=[profile_of("alice").user], level=MembershipLevel.objects.get(name="Platinum"))
        page.reload(wait_until="domcontentloaded")
        send(page, "After the upgrade")

        def second_message() -> dict[str, Any] | None:
            found = next(c for c in sandbox.conversations() if c["id"] == conversation["id"])
            return found["messages"][1] if len(found["messages"]) > 1 else None

        message = wait_for(sandbox, second_message, page)
        assert message["text"] == "After the upgrade"  # the same conversation goes on: same member
        assert message["channel"]["metadata"]["customAttributes"]["membershipLevel"] == "Platinum"
        assert not events
    finally:
        context.close()


def test_messenger_traffic_is_one_websocket_under_the_sites_csp(browser, site, sandbox):
    """Messenger's guest traffic is one WebSocket to the sandbox's origin (no HTTP polling), and the site's real
    CSP allows exactly that socket's origin."""
    context, page, events = new_page(browser)
    sandbox_requests: list[str] = []
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("request", lambda r: sandbox_requests.append(r.url) if r.url.startswith(sandbox.url) else None)
    try:
        response = page.goto(f"{site}/")
        connect_src = next(
            part.split()[1:]
            for part in response.headers["content-security-policy"].split(";")
            if part.split() and part.split()[0] == "connect-src"
        )
        socket_origin = sandbox.url.replace("http://", "ws://", 1)
        assert socket_origin in connect_src
        assert not [s for s in connect_src if s in {"*", "ws:", "wss:", "http:", "https:"}]
        assert [s for s in connect_src if s.startswith("ws")] == [socket_origin]
        send(page, "Over the socket")
        conversation = conversation_with(sandbox, "Over the socket", page)
        sandbox.http.post(f"{sandbox.url}/agent/api/conversations/{conversation['id']}/reply", json={"text": "Pushed"})
        messenger(page).locator("#genesys-transcript [data-direction=Outbound]", has_text="Pushed").wait_for()
        assert sockets == [f"{socket_origin}/v1?deploymentId={conversation['deploymentId']}"]
        paths = sorted(url[len(sandbox.url) :] for url in sandbox_requests)
        # Besides its files (the bootstrap on the page, Messenger's frame), Messenger reads its deployment's public
        # configuration once.
        config_path = f"/webdeployments/v1/deployments/{conversation['deploymentId']}/config.json"
        files = ["genesys.min.js", "messenger-frame.js", "messenger.css", "messenger.html"]
        assert paths == sorted([config_path, *(f"/genesys-bootstrap/{name}" for name in files)])
        assert page_messenger_keys(page) == []
        assert not events
    finally:
        context.close()


def test_a_refused_clear_withholds_messenger_from_this_browser(browser, site, sandbox):
    """conversationClear off in the deployment: alice's sign-out asks Messenger to clear, Genesys refuses, and
    Messenger keeps her session in its own storage, out of the page's reach. The site then stops starting that
    deployment in this browser: the next person sees no widget, so nothing of alice's conversation."""
    context, page, events = new_page(browser)
    try:
        sign_in(page, site, "alice")
        page.wait_for_function(OWNER_SETTLED)
        sandbox.configure(conversation_clear_enabled=False)
        send(page, "Alice's private question")
        alice_conversation = conversation_with(sandbox, "Alice's private question", page)
        messenger(page).locator("#genesys-transcript", has_text="Alice's private question").wait_for()

        sign_out(page, site)
        assert sandbox.stats()["clears_refused"] == 1  # asked before the sign-out left the page
        assert page.locator("#genesys-mxg-frame").count() == 0
        assert page.evaluate("typeof window.Genesys") == "undefined"  # Messenger's script never loaded
        assert page_messenger_keys(page) == []

        sign_in(page, site, "bob")
        page.wait_for_load_state("domcontentloaded")
        assert page.locator("#genesys-mxg-frame").count() == 0
        # What a refused clear cannot do: alice's conversation stays open at Genesys until it times out.
        assert next(c for c in sandbox.conversations() if c["id"] == alice_conversation["id"])["cleared"] is False
        assert not events
    finally:
        context.close()


OWNER_SETTLED = """() => {
    const data = JSON.parse(document.getElementById("genesys-messenger-data").textContent);
    return localStorage.getItem("mm.messenger.owner") === data.owner;
}"""
