"""Password reset by email: no account discovery, a text and an HTML mail, a link that works once and expires,
every session of the member ended, and requests limited per client address and per email address."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import Client
from django.urls import resolve, reverse

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from tests.fixtures.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Fresh-start-2026!"
LINK = re.compile(r"https?://[^/\s\"]+(/accounts/password/reset/[^\s\"<]+/)")


def request_reset(client: Client, email: str):
    """Ask for a reset, then let the worker send what the request queued."""
    response = client.post(reverse("password_reset"), {"email": email})
    run_queued_tasks()
    return response


def main_of(response) -> str:
    """The page's own content (the head differs by its CSP nonce)."""
    return re.search(r"<main id=\"content\">(.*)</main>", response.content.decode(), re.S).group(1)


def link_in(message) -> str:
    """The path of the reset link in the mail's text part."""
    return LINK.search(message.body).group(1)


def set_new_password(client: Client, link: str, password: str = NEW_PASSWORD):
    """Open the link as a browser does (Django moves the token into the session and redirects), then post."""
    opened = client.get(link)
    if opened.status_code != 302:
        return opened
    return client.post(opened.url, {"new_password1": password, "new_password2": password})


def sign_in(client: Client, username: str, password: str) -> bool:
    client.post(reverse("login"), {"username": username, "password": password})
    return SESSION_KEY in client.session


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_a_mail(client, alice):
    known = request_reset(client, "alice@example.com")
    unknown = request_reset(Client(), "nobody@example.com")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url) == (302, reverse("password_reset_done"))
    assert main_of(client.get(known.url)) == main_of(Client().get(unknown.url))
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]


def test_a_known_and_an_unknown_address_cost_the_request_the_same_work(client, alice, django_assert_num_queries):
    """Issue 21 (4): a known address was answered 48 ms later (the lookup, token, templates and SMTP happened in
    the request). Now both requests run the same queries, send nothing, and the mail leaves from the worker."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statements = {}
    for email in ("alice@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            assert client.post(reverse("password_reset"), {"email": email}).status_code == 302
        # The statements' shapes, past the rate limits' counters (the database cache here, Redis in production):
        # the same tables, in the same order, whatever the address.
        statements[email] = [
            re.sub(r"'[^']*'|\d+", "?", query["sql"])
            for query in queries.captured_queries
            if "django_cache" not in query["sql"] and "SAVEPOINT" not in query["sql"]
        ]
    assert statements["alice@example.com"] == statements["nobody@example.com"]
    assert not any("auth_user" in sql for sql in statements["alice@example.com"])
    assert mail.outbox == []
    assert run_queued_tasks() == 2
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]


def test_the_mail_has_a_text_and_an_html_part_with_the_link(client, alice, settings):
    settings.DEFAULT_FROM_EMAIL = "Members <help@example.com>"
    request_reset(client, "ALICE@example.com ")
    (message,) = mail.outbox
    assert message.subject == "Reset your Member Messaging password"
    assert message.from_email == "Members <help@example.com>"
    link = link_in(message)
    assert "Hello Alice" in message.body and "60 minutes" in message.body
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert f'{link}">Choose a new password</a>' in html
    assert resolve(link).url_name == "password_reset_confirm"


def test_the_link_sets_a_new_password_once_and_the_old_one_is_refused(client, alice):
    request_reset(client, "alice@example.com")
    link = link_in(mail.outbox[0])
    done = set_new_password(client, link)
    assert done.status_code == 302 and done.url == reverse("password_reset_complete")
    assert not sign_in(Client(), "alice", DEMO_PASSWORD)
    assert sign_in(Client(), "alice", NEW_PASSWORD)
    # The token covered the old password hash: the same link is dead now, in this browser or another.
    for browser in (client, Client()):
        again = browser.get(link, follow=True)
        assert again.status_code == 200 and again.context["validlink"] is False
        assert b"expired or was already used" in again.content
    assert set_new_password(Client(), link, "Yet-another-2026!").status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


@pytest.fixture
def clock(monkeypatch):
    """The token generator's clock, moved by the test (no sleeping)."""
    from datetime import datetime, timedelta

    now = {"at": datetime.now()}
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: now["at"])

    def advance(seconds: int) -> None:
        now["at"] += timedelta(seconds=seconds)

    return advance


def test_the_link_expires_after_the_timeout(client, alice, settings, clock):
    settings.PASSWORD_RESET_TIMEOUT = 600
    request_reset(client, "alice@example.com")
    link = link_in(mail.outbox[0])
    assert "10 minutes" in mail.outbox[0].body
    clock(599)
    assert client.get(link).status_code == 302  # still valid: on to the new-password form
    clock(2)
    assert set_new_password(Client(), link).status_code == 200  # the "does not work" page
    alice.refresh_from_db()
    assert alice.check_password(DEMO_PASSWORD)


def test_setting_the_password_ends_every_session_of_the_member(alice, bob):
    phone, laptop, bobs = Client(), Client(), Client()
    for browser, name in [(phone, "alice"), (laptop, "alice"), (bobs, "bob")]:
        assert sign_in(browser, name, DEMO_PASSWORD)
        assert browser.get(reverse("member_page")).status_code == 200
    request_reset(Client(), "alice@example.com")
    assert set_new_password(Client(), link_in(mail.outbox[0])).status_code == 302
    for browser in (phone, laptop):
        response = browser.get(reverse("member_page"))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
        assert SESSION_KEY not in browser.session
    assert bobs.get(reverse("member_page")).status_code == 200


@pytest.fixture
def reset_budgets(settings):
    settings.PASSWORD_RESET_RATE_PER_IP = "100/m"
    settings.PASSWORD_RESET_RATE_PER_EMAIL = "100/m"
    settings.PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL = "100/m"
    return settings


def assert_too_many(response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_reset_requests_are_limited_per_client_address(client, alice, reset_budgets):
    reset_budgets.PASSWORD_RESET_RATE_PER_IP = "3/m"
    for i in range(3):
        assert request_reset(client, f"someone{i}@example.com").status_code == 302
    assert_too_many(request_reset(client, "alice@example.com"))
    assert mail.outbox == []
    assert request_reset(Client(REMOTE_ADDR="10.9.8.7"), "alice@example.com").status_code == 302
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
def test_reset_requests_are_limited_per_email_whether_or_not_it_has_an_account(alice, reset_budgets, email):
    reset_budgets.PASSWORD_RESET_RATE_PER_EMAIL = "2/m"
    variants = [email, email.upper(), f"  {email} "]
    statuses = [request_reset(Client(REMOTE_ADDR="10.0.0.1"), v).status_code for v in variants]
    assert statuses[:2] == [302, 302]
    assert_too_many(request_reset(Client(REMOTE_ADDR="10.0.0.1"), f"  {email} "))
    assert request_reset(Client(REMOTE_ADDR="10.0.0.1"), "other@example.com").status_code == 302


def test_a_stranger_spending_the_members_reset_budget_does_not_close_it_elsewhere(alice, reset_budgets):
    """Issue 21 (9): three requests for alice's address from one place used to close her resets for an hour from
    everywhere."""
    reset_budgets.PASSWORD_RESET_RATE_PER_EMAIL = "3/m"
    stranger = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(3):
        assert request_reset(stranger, "alice@example.com").status_code == 302
    assert_too_many(request_reset(stranger, "alice@example.com"))
    assert request_reset(Client(REMOTE_ADDR="192.0.2.10"), "alice@example.com").status_code == 302


def test_requests_for_one_email_from_many_addresses_meet_the_global_budget(alice, reset_budgets):
    reset_budgets.PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL = "4/m"
    for i in range(4):
        assert request_reset(Client(REMOTE_ADDR=f"10.8.0.{i}"), "alice@example.com").status_code == 302
    assert_too_many(request_reset(Client(REMOTE_ADDR="10.8.1.1"), "ALICE@example.com"))


def test_the_sign_in_page_links_to_the_reset(client):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page and "Forgot your password?" in page


def test_mail_settings_and_the_link_lifetime_come_from_the_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "EMAIL_"))}
    env.update(
        EMAIL_URL="smtp+tls://mailer:s3cret@mail.example.com:587",
        DEFAULT_FROM_EMAIL="Members <help@example.com>",
        PASSWORD_RESET_TIMEOUT="900",
    )
    code = (
        "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS,"
        " s.EMAIL_HOST_USER, s.DEFAULT_FROM_EMAIL, s.PASSWORD_RESET_TIMEOUT, sep='|')"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend|mail.example.com|587|True|mailer|Members",
        "<help@example.com>|900",
    ]
    # In development (DEBUG, no EMAIL_URL) mail is printed where `make run` runs.
    del env["EMAIL_URL"]
    default = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "from django.conf import settings as s; print(s.EMAIL_BACKEND)",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert default.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
