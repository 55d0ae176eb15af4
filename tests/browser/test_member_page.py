"""The member's own page in the browser: her membership, and "Chat with us" opens Messenger."""

import pytest

from tests.browser.steps import messenger, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chat_with_us_opens_messenger_on_the_members_page(page, messenger_site, alice):
    sign_in(page, messenger_site, "alice")
    page.goto(f"{messenger_site}/accounts/me/", wait_until="domcontentloaded")
    assert page.locator("#member-level").inner_text().startswith("Gold")
    assert page.locator("#member-id").inner_text() == str(alice.member_profile.member_id)
    messenger(page).locator("#genesys-launcher").wait_for()  # Messenger is on the page
    assert not messenger(page).locator("#genesys-messenger").is_visible()
    page.click("#open-chat")
    messenger(page).locator("#genesys-input").wait_for(state="visible")
