"""Password reset in a real browser: ask for the link, read the mail, follow the link, choose a new password,
sign in with it; the old password is refused and the link does not work twice. The live server runs in this
process, so the mail its queued task sends is in django.core.mail.outbox (locmem backend in tests)."""

import re

import pytest
from django.core import mail

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from tests.browser.steps import submit_sign_in
from tests.fixtures.tasks import run_queued_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Browser-reset-2026!"
LINK = re.compile(r"https?://\S+/accounts/password/reset/\S+/")


@pytest.fixture
def site(live_server, seeded, settings) -> str:
    # Pages without the widget: this test is about the reset, not Messenger (no sandbox to load it from).
    settings.GENESYS_DEPLOYMENT_ID = ""
    mail.outbox = []
    return live_server.url


def test_the_whole_reset_from_the_sign_in_page(page, site, console_errors):
    page.goto(f"{site}/accounts/login/")
    page.click("#forgot-password")
    page.fill("#id_email", "alice@example.com")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#reset-requested")
    assert page.url == f"{site}/accounts/password/reset/done/"

    assert run_queued_tasks() == 1  # the worker's turn: the request only queued the mail
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"]
    link = LINK.search(message.body).group(0)
    assert link.startswith(site)  # the link names the site the member used
    assert link in message.alternatives[0][0]

    page.goto(link)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#reset-complete")

    submit_sign_in(page, site, "alice", DEMO_PASSWORD)
    page.wait_for_selector("[role=alert] .errorlist.nonfield")  # the old password is refused, in a banner
    submit_sign_in(page, site, "alice", NEW_PASSWORD)
    page.wait_for_url(f"{site}/")
    page.click("#member-page-link")
    assert page.locator("#member-email").inner_text() == "alice@example.com"

    page.goto(link)  # the second use
    page.wait_for_selector("#invalid-reset-link")
    assert page.locator("#id_new_password1").count() == 0
    # Nothing broke on any page, and nothing was missing (the favicon included).
    assert console_errors == []
