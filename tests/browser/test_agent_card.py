"""The member card in a browser (issue 23): alice chats with authenticated messaging; in the sandbox's agent view
agent1 (signed in as a sandbox agent) replies and sees her card in the Interaction Widget frame, signing in with
Genesys in a popup (authorization code + PKCE); a page script's forged participant data changes nothing; a level
change shows on reload; agent2, not on the conversation, is refused. SCREENSHOTS_DIR keeps a screenshot."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import defaults
from tests.browser.steps import send, sign_in
from tests.browser.test_authenticated_messaging import conversation_with, wait_for_auth_event
from tests.browser.test_authenticated_messaging import recording as recording_auth_events
from tests.browser.test_sandbox_messenger import screenshot
from tests.fixtures.agents import AGENT_CARD_REDIRECT_PATH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDGET_TEMPLATE = (
    "{site}/messaging/agent/card/?conversationId={{{{gcConversationId}}}}&gcHostOrigin={{{{gcHostOrigin}}}}"
    "&gcTargetEnv={{{{gcTargetEnv}}}}&langTag={{{{gcLangTag}}}}&usePopupAuth={{{{gcUsePopupAuth}}}}"
)
FORGE = """() => new Promise((resolve) => Genesys("command", "Database.set",
    {messaging: {customAttributes: {membershipLevel: "Platinum", verified: "true"}}}, resolve))"""


@pytest.fixture
def site(messenger_site, seeded, genesys_oidc_client, settings, sandbox) -> str:
    """The live site with authenticated messaging on; the sandbox's Interaction Widget pointed at its card, the
    card's redirect URI registered. Browser-written keys overwrite the server's there, as nothing public says
    Genesys prevents, so the forgery below lands in participant data."""
    settings.GENESYS_AUTHENTICATED_MESSAGING = True
    sandbox.configure(
        agent_redirect_uris=f"{messenger_site}{AGENT_CARD_REDIRECT_PATH}",
        interaction_widget_url=WIDGET_TEMPLATE.format(site=messenger_site),
    )
    return messenger_site


def agent_desktop(browser: Any, sandbox: Any, username: str) -> Any:
    """A fresh browser signed in to the sandbox's agent desktop, its widget column about Genesys' 360 px."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15_000)
    desk = context.new_page()
    desk.errors = []  # type: ignore[attr-defined]
    desk.on("pageerror", lambda error: desk.errors.append(str(error)))
    desk.goto(f"{sandbox.url}/agent/login")
    desk.fill("#ag-username", username)
    desk.fill("#ag-password", defaults.AGENT_PASSWORD)
    desk.click("button[type=submit]")
    desk.wait_for_url(f"{sandbox.url}/agent/")
    return desk


def open_conversation(desk: Any, sandbox: Any, conversation_id: str) -> Any:
    desk.goto(f"{sandbox.url}/agent/#{conversation_id}")
    desk.locator("[data-testid=conversation-id]", has_text=conversation_id).wait_for()
    return desk.frame_locator("#ag-widget")


def sign_in_to_card(desk: Any, card: Any) -> None:
    """The card's sign-in button opens Genesys' login in a popup; the agent is signed in there already, so the
    popup hands the code back and closes at once (the caller waits for what the card shows next)."""
    with desk.expect_popup():
        card.get_by_role("button", name="Sign in with Genesys Cloud").click()


def reload_card(desk: Any) -> Any:
    """Reload the desktop. The card posts the token kept in the frame's session (its sign-in button stays hidden
    meanwhile), or, where the browser denies a cross-site frame its storage, shows the button for one click
    again."""
    desk.reload()
    card = desk.frame_locator("#ag-widget")
    button = card.get_by_role("button", name="Sign in with Genesys Cloud")
    shown = card.locator("[data-testid=member-card]")
    shown.or_(button).wait_for()
    if not shown.is_visible():
        sign_in_to_card(desk, card)
    return card


def test_the_agent_sees_alices_card_from_the_database(page, browser, site, sandbox):
    from accounts.models import LevelChange, MemberProfile, MembershipLevel
    from accounts.services import change_member_level

    alice = MemberProfile.objects.select_related("level").get(user__username="alice")
    recording_auth_events(page)
    sign_in(page, site, "alice")
    wait_for_auth_event(page, "Auth.authenticated")
    send(page, "Hello, this is alice")
    conversation = conversation_with(sandbox, "Hello, this is alice")
    assert conversation["authenticated"] and conversation["dataActionCalls"][0]["body"]["verified"] == "true"

    desk = agent_desktop(browser, sandbox, "agent1")
    try:
        card = open_conversation(desk, sandbox, conversation["id"])
        desk.get_by_label("Reply").fill("Hi Alice, how can I help?")
        desk.get_by_role("button", name="Send reply").click()
        desk.locator("[data-testid=transcript] [data-direction=Outbound]").wait_for()
        sign_in_to_card(desk, card)
        card.locator("[data-testid=card-level]", has_text="Gold").wait_for()
        assert card.locator("[data-testid=card-name]").inner_text() == "Alice Anders"
        assert card.locator("[data-testid=card-member-id]").inner_text() == str(alice.member_id)
        assert card.locator("[data-testid=card-authenticated]").inner_text() == "Yes"
        assert "authenticated messaging" in card.locator("[data-testid=card-verified]").inner_text()
        # Fits the widget's column: nothing wider than the frame.
        frame = desk.frame(url=lambda url: "/messaging/agent/card/" in url)
        assert frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert desk.locator("#ag-widget").bounding_box()["width"] <= 360
        screenshot(desk, "agent-view-with-member-card.png", full_page=True)

        # A page script writes Platinum and verified into participant data; the card does not move.
        page.evaluate(FORGE)
        send(page, "I am Platinum now")
        forged = sandbox.wait_for(
            lambda: (
                (sandbox.conversation(conversation["id"])["attributes"].get("membershipLevel") or {}).get("value")
                == "Platinum"
            )
        )
        assert forged
        card = reload_card(desk)
        card.locator("[data-testid=card-level]").wait_for()
        assert "Gold" in card.locator("[data-testid=card-level]").inner_text()
        assert "Platinum" not in card.locator("[data-testid=member-card]").inner_text()

        # The admin moves her to Platinum; the card shows it on its next load.
        change_member_level(
            profile=alice, level=MembershipLevel.objects.get(name="Platinum"), via=LevelChange.Via.ADMIN_FORM
        )
        card = reload_card(desk)
        card.locator("[data-testid=card-level]", has_text="Platinum").wait_for()
        assert "Gold → Platinum" in card.locator("[data-testid=card-level-changes]").inner_text()
        assert desk.errors == []
    finally:
        desk.context.close()

    # agent2 is not on the conversation: refused, nothing of alice's.
    other = agent_desktop(browser, sandbox, "agent2")
    try:
        card = open_conversation(other, sandbox, conversation["id"])
        sign_in_to_card(other, card)
        refusal = card.locator("[data-testid=card-refusal]")
        refusal.wait_for()
        assert refusal.get_attribute("data-reason") == "not_on_conversation"
        text = card.locator("body").inner_text()
        assert "Alice" not in text and str(alice.member_id) not in text
        assert other.errors == []
    finally:
        other.context.close()


def test_the_agent_view_fits_a_phone(browser, sandbox):
    conversation = sandbox.start_conversation("Hello from a phone", {"memberId": "forged", "verified": "true"})
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        desk = context.new_page()
        desk.goto(f"{sandbox.url}/agent/#{conversation['id']}")
        desk.locator("[data-testid=conversation-id]", has_text=conversation["id"]).wait_for()
        assert desk.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        # A guest is a customer, not a "member", whatever its participant data says.
        who = desk.locator(".ag-item-who").inner_text()
        assert who == "customer (not authenticated)"
    finally:
        context.close()
