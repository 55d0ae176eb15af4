"""Authenticated web messaging in a browser: the page's AuthProvider gets codes from the site (the live OpenID
Connect provider), the sandbox exchanges them, the customer is authenticated and the data action verifies by `sub`
(issue 15). Messenger's Auth events are recorded by an init script that queues subscriptions as the official
snippet's stub would."""

import statistics
import time
from typing import Any

import pytest

from sandbox import defaults
from tests.browser.steps import messenger, messenger_frame, open_widget, page_messenger_keys, send, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Queued before the page's own script: the snippet keeps an existing window.Genesys stub and its queue.
RECORD_AUTH_EVENTS = """(() => {
  window.__authEvents = [];
  const stub = function () { (stub.q = stub.q || []).push(arguments); };
  window.Genesys = stub;
  ["Auth.authenticated", "Auth.error", "Auth.loggedOut", "GenesysJS.configurationReceived"].forEach((event) =>
    stub("subscribe", event, () => window.__authEvents.push(event)));
})()"""
# Messenger's keys in its frame's localStorage (Genesys' origin): the JWT and the stored session.
JWT_KEY = f"_{defaults.DEPLOYMENT_ID}:gcatkn"
SESSION_KEY = f"_{defaults.DEPLOYMENT_ID}:gcmcsessionActive"


@pytest.fixture
def site(messenger_site, seeded, genesys_oidc_client, settings) -> str:
    """The live site as the sandbox's OpenID Connect provider, authenticated messaging on (the sandbox fixture
    points the sandbox's discovery URL and data action at the live site)."""
    settings.GENESYS_AUTHENTICATED_MESSAGING = True
    return messenger_site


def recording(page: Any) -> Any:
    page.add_init_script(RECORD_AUTH_EVENTS)
    return page


def wait_for_auth_event(page: Any, event: str) -> None:
    page.wait_for_function(f"() => (window.__authEvents || []).includes({event!r})")


def member_id(username: str) -> str:
    from accounts.models import MemberProfile

    return str(MemberProfile.objects.get(user__username=username).member_id)


def conversation_with(sandbox: Any, text: str, *, pushed: bool = True) -> dict[str, Any]:
    """The conversation whose first message is `text`, once its data action answered (and a push landed)."""

    def probe() -> dict[str, Any] | None:
        for conversation in sandbox.conversations():
            messages, calls = conversation["messages"], conversation["dataActionCalls"]
            if messages and messages[0].get("text") == text and calls and calls[0]["state"] != "pending":
                return conversation if conversation["pushes"] or not pushed else None
        return None

    return sandbox.wait_for(probe, timeout=20)


def test_alice_chats_authenticated_verified_by_sub_on_any_browser_and_signs_out(page, browser, site, sandbox):
    alice = member_id("alice")
    sign_in(recording(page), site, "alice")
    wait_for_auth_event(page, "Auth.authenticated")
    send(page, "Hello, authenticated alice")
    conversation = conversation_with(sandbox, "Hello, authenticated alice")

    # Genesys authenticated her: the customer carries her sub; the flow passed it, the site pushed Gold.
    assert conversation["authenticated"] is True and conversation["authClaims"]["sub"] == alice
    call = conversation["dataActionCalls"][0]
    assert call["request"] == {"conversationId": conversation["id"], "sub": alice}
    assert call["status"] == 200 and call["body"]["verified"] == "true", call
    attributes = conversation["attributes"]
    assert attributes["verified"] == {"value": "true", "origin": "server"}
    assert attributes["membershipLevel"] == {"value": "Gold", "origin": "server"}
    assert attributes["memberId"]["value"] == alice
    # No member token anywhere: the page set none (it removes the key), and no push names the key (issue 22).
    assert "memberToken" not in attributes
    assert all("memberToken" not in push["attributes"] for push in conversation["pushes"])
    data = page.evaluate("() => JSON.parse(document.getElementById('genesys-messenger-data').textContent)")
    assert "memberToken" not in data["attributes"] and "memberToken" in data["removeKeys"]

    # A second browser where alice signs in shows the first conversation's transcript.
    context = browser.new_context()
    try:
        other = context.new_page()
        sign_in(other, site, "alice")
        open_widget(other)
        messenger(other).locator("#genesys-messenger", has_text="Hello, authenticated alice").wait_for()
    finally:
        context.close()

    # Sign-out runs Auth.logout and waits on its Promise (no timer): Genesys revoked the session before the site's
    # sign-out was even sent, so the revoke is counted the moment the next page arrives.
    assert messenger_frame(page).evaluate(f"() => localStorage.getItem({JWT_KEY!r})")
    assert page_messenger_keys(page) == []
    started = time.perf_counter()
    with page.expect_navigation(url=f"{site}/", wait_until="domcontentloaded"):
        page.click("#logout-button")
    took = time.perf_counter() - started
    stats = sandbox.get("/_stats")
    assert stats["auth_revokes"] == 1 and alice in stats["auth_revoked_subs"]
    assert page.locator("#logout-button").count() == 0
    print(f"\nsign-out with Auth.logout: {took * 1000:.0f} ms")
    assert messenger_frame(page).evaluate(f"() => localStorage.getItem({JWT_KEY!r})") is None
    assert page_messenger_keys(page) == []
    # The next visitor on this browser is anonymous, in a new conversation.
    send(page, "Hi, I am a guest now")
    guest = conversation_with(sandbox, "Hi, I am a guest now", pushed=False)
    assert guest["id"] != conversation["id"] and guest["authenticated"] is False
    assert guest["dataActionCalls"][0]["request"] == {"conversationId": guest["id"], "memberToken": ""}
    assert guest["dataActionCalls"][0]["body"]["verified"] == "false" and guest["pushes"] == []  # a guest costs nothing


def test_a_forged_code_ends_in_auth_error_and_an_anonymous_session(page, site, sandbox):
    def forge(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "authCode": "forged-code-0123456789"})

    recording(page).route("**/o/messenger/auth-code", forge)
    sign_in(page, site, "alice")
    wait_for_auth_event(page, "Auth.error")
    assert "Auth.authenticated" not in page.evaluate("() => window.__authEvents")
    assert sandbox.get("/_stats")["auth_exchanges_refused"] == 1
    send(page, "Hello after a forged code")
    conversation = conversation_with(sandbox, "Hello after a forged code", pushed=False)
    assert conversation["authenticated"] is False and not conversation["authClaims"]
    assert conversation["dataActionCalls"][0]["body"]["verified"] == "false"


def test_bob_cannot_get_a_code_that_authenticates_as_alice(page, site, sandbox):
    alice = member_id("alice")

    def name_alice(route: Any) -> None:
        # Bob's page asks for alice's code every way a body could: the site answers with his own.
        body = {**route.request.post_data_json, "sub": alice, "username": "alice", "user": "alice"}
        route.continue_(post_data=__import__("json").dumps(body))

    recording(page).route("**/o/messenger/auth-code", name_alice)
    sign_in(page, site, "bob")
    wait_for_auth_event(page, "Auth.authenticated")
    send(page, "Hello, this is bob")
    conversation = conversation_with(sandbox, "Hello, this is bob")
    assert conversation["authClaims"]["sub"] == member_id("bob") != alice
    assert conversation["attributes"]["membershipLevel"]["value"] == "Silver"


def test_a_guest_who_signs_in_is_cleared_at_genesys(page, site, sandbox, settings):
    """GENESYS_GUEST_TO_MEMBER "clear": the sign-in form leaves only once Messenger cleared the guest's
    conversation (the agent is asked to wrap up); the member's Messenger shows nothing of it."""
    settings.GENESYS_GUEST_TO_MEMBER = "clear"
    page.goto(f"{site}/", wait_until="domcontentloaded")
    send(page, "Hello as a guest")
    guest = conversation_with(sandbox, "Hello as a guest", pushed=False)
    sandbox.http.post(f"{sandbox.url}/agent/api/conversations/{guest['id']}/reply", json={"text": "Hi!"})
    messenger(page).locator("#genesys-transcript", has_text="Hi!").wait_for()
    sign_in(recording(page), site, "alice")
    # Cleared by the sign-in form, or (when Messenger was not ready on the sign-in page yet) by alice's first
    # page before she authenticates.
    cleared = sandbox.wait_for(lambda: (c := sandbox.conversation(guest["id"])) and c["cleared"] and c)
    assert cleared["state"] == "disconnected"
    assert {p["purpose"]: p for p in cleared["participants"]}["agent"]["wrapupRequired"] is True
    wait_for_auth_event(page, "Auth.authenticated")
    open_widget(page)
    assert "Hello as a guest" not in messenger(page).locator("#genesys-messenger").inner_text()
    assert page_messenger_keys(page) == []


def test_a_guest_conversation_the_sign_in_page_could_not_clear_is_cleared_before_authenticating(
    page, site, sandbox, settings
):
    """Messenger never loads on the sign-in page (blocked there): the form goes on at once, and alice's first page
    clears the guest's conversation while Messenger is still anonymous, then authenticates."""
    settings.GENESYS_GUEST_TO_MEMBER = "clear"
    page.goto(f"{site}/", wait_until="domcontentloaded")
    send(page, "Hello as a guest")
    guest = conversation_with(sandbox, "Hello as a guest", pushed=False)

    def no_messenger_on_the_sign_in_page(route: Any) -> None:
        if "/accounts/login/" in route.request.frame.url:
            route.abort()
        else:
            route.continue_()

    page.route("**/genesys-bootstrap/genesys.min.js", no_messenger_on_the_sign_in_page)
    sign_in(recording(page), site, "alice")
    wait_for_auth_event(page, "Auth.authenticated")
    cleared = sandbox.conversation(guest["id"])
    assert cleared["cleared"] is True and cleared["state"] == "disconnected"  # cleared before she authenticated
    open_widget(page)
    assert "Hello as a guest" not in messenger(page).locator("#genesys-messenger").inner_text()
    send(page, "Now as alice")
    alice = conversation_with(sandbox, "Now as alice")
    assert alice["id"] != guest["id"] and alice["authenticated"] is True


def test_with_session_upgrade_the_guest_goes_on_as_the_member_and_other_devices_close(
    page, browser, site, sandbox, settings
):
    """GENESYS_GUEST_TO_MEMBER "upgrade" on a deployment that allows it: the guest's conversation goes on as
    alice's, and the device where alice was already signed in is disconnected (ConnectionClosedEvent signedIn)."""
    settings.GENESYS_GUEST_TO_MEMBER = "upgrade"
    context = browser.new_context()
    try:
        phone = context.new_page()
        sign_in(recording(phone), site, "alice")
        wait_for_auth_event(phone, "Auth.authenticated")
        send(phone, "From alice's phone")
        conversation_with(sandbox, "From alice's phone")

        page.goto(f"{site}/", wait_until="domcontentloaded")
        send(page, "Hello as a guest")
        guest = conversation_with(sandbox, "Hello as a guest", pushed=False)
        sign_in(recording(page), site, "alice")
        wait_for_auth_event(page, "Auth.authenticated")
        messenger(page).locator("#genesys-transcript", has_text="Hello as a guest").wait_for()
        send(page, "Now signed in")
        sandbox.wait_for(lambda: len(sandbox.conversation(guest["id"])["messages"]) == 2)
        upgraded = sandbox.conversation(guest["id"])
        assert upgraded["authenticated"] is True and upgraded["authClaims"]["sub"] == member_id("alice")
        # The phone's Messenger was disconnected and shows nothing more of the conversation.
        messenger(phone).locator("#genesys-status", has_text="continues where you signed in").wait_for()
        assert "From alice's phone" not in messenger(phone).locator("#genesys-transcript").inner_text()
    finally:
        context.close()


def test_without_upgrade_or_guest_deployment_visitors_get_no_widget(page, site, sandbox):
    """Authentication on, session upgrade off, no GENESYS_GUEST_DEPLOYMENT_ID: Genesys would refuse a visitor's
    messages, so the visitor's launcher never shows."""
    sandbox.configure(allow_session_upgrade=False)
    recording(page).goto(f"{site}/", wait_until="domcontentloaded")
    wait_for_auth_event(page, "GenesysJS.configurationReceived")
    messenger(page).locator("#genesys-launcher").wait_for(state="attached")
    # A round trip through Messenger: any Launcher.show queued on that event has been handled by now.
    page.evaluate("() => Genesys('command', 'Database.get', {})")
    assert messenger(page).locator("#genesys-launcher").is_hidden()
    # The same page on a deployment that allows session upgrade shows it.
    sandbox.configure(allow_session_upgrade=True)
    page.reload(wait_until="domcontentloaded")
    messenger(page).locator("#genesys-launcher").wait_for(state="visible")


def test_visitors_use_the_guest_deployment_and_members_the_authenticated_one(page, site, sandbox, settings):
    """Authentication on, session upgrade off, GENESYS_GUEST_DEPLOYMENT_ID set: visitors chat on the deployment
    without authentication; at sign-in their conversation is cleared there, and alice chats authenticated."""
    sandbox.configure(allow_session_upgrade=False)
    settings.GENESYS_GUEST_DEPLOYMENT_ID = defaults.GUEST_DEPLOYMENT_ID
    page.goto(f"{site}/", wait_until="domcontentloaded")
    send(page, "Hello from a visitor")
    guest = conversation_with(sandbox, "Hello from a visitor", pushed=False)
    assert guest["deploymentId"] == defaults.GUEST_DEPLOYMENT_ID and guest["authenticated"] is False
    sign_in(recording(page), site, "alice")
    # The member page clears the visitor's conversation once it has loaded, after sign-in has answered.
    sandbox.wait_for(lambda: sandbox.conversation(guest["id"])["cleared"] is True)
    wait_for_auth_event(page, "Auth.authenticated")
    send(page, "Hello, authenticated on the member deployment")
    member = conversation_with(sandbox, "Hello, authenticated on the member deployment")
    assert member["deploymentId"] == defaults.DEPLOYMENT_ID and member["authenticated"] is True
    assert page_messenger_keys(page) == []


def test_a_page_script_forging_verified_changes_participant_data_not_the_answer(page, site, sandbox):
    """Custom attributes on any message write participant data, server-set keys included (as in Genesys): a
    script that sets verified "true" and membershipLevel "Platinum" on a later message changes the participant
    data, never the data action's answer the flow routes on, nor what the site recorded for that conversation."""
    page.goto(f"{site}/", wait_until="domcontentloaded")
    send(page, "Hello as a visitor")
    conversation = conversation_with(sandbox, "Hello as a visitor", pushed=False)
    answer = conversation["dataActionCalls"][0]["body"]
    assert answer["verified"] == "false"
    assert "verified" not in conversation["attributes"]  # a visitor costs no push (issue 21)
    page.evaluate(
        """() => Genesys("command", "Database.set",
            {messaging: {customAttributes: {verified: "true", membershipLevel: "Platinum"}}})"""
    )
    send(page, "A later message")
    sandbox.wait_for(lambda: len(sandbox.conversation(conversation["id"])["messages"]) == 2)
    forged = sandbox.conversation(conversation["id"])
    assert forged["attributes"]["verified"] == {"value": "true", "origin": "widget"}
    assert forged["attributes"]["membershipLevel"] == {"value": "Platinum", "origin": "widget"}
    # The flow's answer is the one it got when it asked; it does not ask again, and the site recorded no member.
    assert [call["body"] for call in forged["dataActionCalls"]] == [answer]
    from messaging.models import AttributePush

    assert not AttributePush.objects.filter(conversation__conversation_id=conversation["id"]).exists()


def test_time_from_page_load_to_an_authenticated_session(page, site, sandbox):
    """Twenty loads of the home page as alice, each until Messenger says Auth.authenticated; p50 printed."""
    sign_in(recording(page), site, "alice")
    wait_for_auth_event(page, "Auth.authenticated")
    timings = []
    for _ in range(20):
        # A fresh Messenger each time: its stored session would be refreshed instead of exchanged.
        messenger_frame(page).evaluate(f"() => localStorage.removeItem({JWT_KEY!r})")
        started = time.perf_counter()
        page.goto(f"{site}/", wait_until="commit")
        wait_for_auth_event(page, "Auth.authenticated")
        timings.append((time.perf_counter() - started) * 1000)
    assert len(timings) == 20
    print(
        f"\npage load to authenticated session: p50 {statistics.median(timings):.0f} ms, "
        f"min {min(timings):.0f}, max {max(timings):.0f} (20 loads)"
    )


def test_sign_out_where_clearing_is_refused_still_leaves_the_next_person_nothing(page, site, sandbox):
    """Authenticated messaging needs no clear at sign-out: Auth.logout ends the member's session in this browser,
    so a deployment that refuses clears changes nothing for the next person."""
    sign_in(recording(page), site, "alice")
    wait_for_auth_event(page, "Auth.authenticated")
    sandbox.configure(conversation_clear_enabled=False)
    send(page, "Alice, on a deployment without clearing")
    alice = conversation_with(sandbox, "Alice, on a deployment without clearing")
    with page.expect_navigation(url=f"{site}/", wait_until="domcontentloaded"):
        page.click("#logout-button")
    assert sandbox.get("/_stats")["auth_revokes"] == 1
    open_widget(page)
    assert "Alice" not in messenger(page).locator("#genesys-transcript").inner_text()
    send(page, "The next person")
    guest = conversation_with(sandbox, "The next person", pushed=False)
    assert guest["id"] != alice["id"] and guest["authenticated"] is False
    assert sandbox.get("/_stats")["clears_refused"] == 0  # nothing asked Genesys to clear
    assert page_messenger_keys(page) == []
