"""The full verify path in a browser: alice chats in Debian's chromium, the sandbox's flow calls the site's data
action (live_server), and the site pushes what it vouches for. /_conversations is the proof: which attributes the
customer carries and where each came from (widget or server)."""

from typing import Any

import pytest

from tests.browser.steps import send, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEMBER_KEYS = ["isAuthenticated", "memberId", "membershipLevel", "displayName", "email"]
# The page's own attribute set-up is over once Messenger's owner marker names this page's owner.
OWNER_SETTLED = """() => {
    const data = JSON.parse(document.getElementById("genesys-messenger-data").textContent);
    return localStorage.getItem("mm.messenger.owner") === data.owner;
}"""


@pytest.fixture
def site(messenger_site, seeded) -> str:
    """The live site, Messenger pointed at this run's sandbox (tests/fixtures/browser.py), the sandbox's flow
    calling the live site's verify endpoint (the sandbox fixture does that when live_server is in use)."""
    return messenger_site


def verified_conversation(sandbox: Any, text: str, *, pushed: bool = True) -> dict[str, Any]:
    """The conversation whose first message is `text`, once its data action answered and (unless not `pushed`) a
    push landed, so no verify is still writing to the database when the test ends."""

    def probe() -> dict[str, Any] | None:
        for conversation in sandbox.conversations():
            messages = conversation["messages"]
            calls = conversation["dataActionCalls"]
            if messages and messages[0].get("text") == text and calls and calls[0]["state"] != "pending":
                return conversation if conversation["pushes"] or not pushed else None
        return None

    return sandbox.wait_for(probe, timeout=20)


def profile_of(username: str) -> Any:
    from accounts.models import MemberProfile

    return MemberProfile.objects.select_related("level", "user").get(user__username=username)


def test_alice_is_verified_by_the_server_and_an_edited_token_is_not(page, browser, site, sandbox):
    alice = profile_of("alice")

    # 1. Alice chats; the flow calls verify; the server pushes her attributes with verified "true".
    sign_in(page, site, "alice")
    send(page, "Hello, this is alice")
    conversation = verified_conversation(sandbox, "Hello, this is alice")
    call = conversation["dataActionCalls"][0]
    assert call["status"] == 200 and call["body"]["verified"] == "true", call
    assert call["request"]["memberToken"]  # the flow read the token the page set
    attributes = conversation["attributes"]
    expected = {
        "verified": "true",
        "isAuthenticated": "true",
        "memberId": str(alice.member_id),
        "membershipLevel": "Gold",
        "displayName": "Alice Anders",
        "email": "alice@example.com",
    }
    for key, value in expected.items():
        assert attributes[key] == {"value": value, "origin": "server"}, key
    assert attributes["verifiedAt"]["origin"] == "server" and attributes["verifiedAt"]["value"].endswith("Z")
    assert attributes["memberToken"] == {"value": "", "origin": "server"}  # emptied: nothing left to replay
    assert conversation["verified"] is True

    # 2. In a fresh browser, alice edits her token (claiming bob's member id) and her level before she writes.
    context = browser.new_context()
    try:
        tampered = context.new_page()
        sign_in(tampered, site, "alice")
        # The first page after sign-in clears the guest's Messenger and sets the attributes once that settles;
        # on the next page they are set at once, so the edit below comes after them.
        tampered.wait_for_function(OWNER_SETTLED)
        tampered.goto(f"{site}/", wait_until="domcontentloaded")
        tampered.wait_for_function(OWNER_SETTLED)
        bob = profile_of("bob")
        tampered.evaluate(
            """([bobId]) => new Promise((resolve) => {
                Genesys("subscribe", "Database.ready", () => {
                    Genesys("command", "Database.get", {}, (data) => {
                        const attributes = data.messaging.customAttributes;
                        const parts = attributes.memberToken.split(":");
                        const bytes = bobId.replace(/-/g, "").match(/../g).map((h) => parseInt(h, 16));
                        // The payload is <member id>.<grant>.<nonce>: only the member id is swapped.
                        parts[0] = btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_")
                            .replace(/=+$/, "") + parts[0].slice(22);
                        Genesys("command", "Database.set", {messaging: {customAttributes: {
                            memberToken: parts.join(":"), memberId: bobId, membershipLevel: "Platinum",
                        }}}, resolve);
                    });
                });
            })""",
            [str(bob.member_id)],
        )
        send(tampered, "Hello, this is not really bob")
        forged = verified_conversation(sandbox, "Hello, this is not really bob", pushed=False)
    finally:
        context.close()
    sent = forged["messages"][0]["channel"]["metadata"]["customAttributes"]
    assert sent["memberId"] == str(bob.member_id) and sent["membershipLevel"] == "Platinum"
    call = forged["dataActionCalls"][0]
    assert call["status"] == 200 and call["body"]["verified"] == "false", call
    assert call["body"]["memberId"] == call["body"]["membershipLevel"] == ""
    assert call["body"]["pushState"] == "none" and call["body"]["reason"] == "bad_signature"
    # Nothing pushed: the server vouches for no one here. The browser's own claims are participant data the
    # browser wrote (origin "widget"); the flow routes on the answer above, never on them.
    assert forged["pushes"] == [] and forged["verified"] is False
    assert {value["origin"] for value in forged["attributes"].values()} == {"widget"}

    from messaging.models import AttributePush

    pushes = {p.conversation.conversation_id.hex: p for p in AttributePush.objects.select_related("conversation")}
    assert set(pushes) == {conversation["id"].replace("-", "")} and pushes[conversation["id"].replace("-", "")].verified
    assert {p.state for p in pushes.values()} == {"delivered"}
