"""The member's own page /accounts/me/: who they are, their level, the chat button; name and email editable,
the level never; visitors are sent to sign in; nothing of it is cached."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.models import LevelChange
from tests.fixtures.tasks import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client, alice):
    client.force_login(alice)
    return client


def details(email: str = "alice@example.com", **fields) -> dict[str, str]:
    return {"first_name": "Alicia", "last_name": "Anders-Berg", "email": email, **fields}


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("member_page"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={reverse('member_page')}"
    assert client.post(reverse("member_page"), details()).status_code == 302


def test_the_page_shows_the_member_and_their_level_and_is_not_cached(member, alice):
    response = member.get(reverse("member_page"))
    assert response.status_code == 200
    page = response.content.decode()
    profile = alice.member_profile
    for text in ["Alice Anders", "alice@example.com", "Gold", "Gold members", str(profile.member_id)]:
        assert text in page
    assert alice.date_joined.strftime("%Y-%m-%d") in page
    assert 'id="open-chat"' in page
    assert re.search(r'<script src="/static/js/member-page.js" defer></script>', page)
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_the_header_links_to_the_page_for_a_member_only(client, member):
    assert f'href="{reverse("member_page")}"' in member.get(reverse("home")).content.decode()
    member.logout()
    assert f'href="{reverse("member_page")}"' not in client.get(reverse("home")).content.decode()


def test_the_member_edits_name_and_email(member, alice):
    response = member.post(reverse("member_page"), details(email="Alicia@Example.COM", current_password=DEMO_PASSWORD))
    assert response.status_code == 302 and response.url == reverse("member_page")
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name, alice.email) == ("Alicia", "Anders-Berg", "Alicia@example.com")
    assert "Your details were saved." in member.get(reverse("member_page")).content.decode()


def test_posting_a_level_changes_nothing_about_it(member, alice, levels):
    member.post(reverse("member_page"), details(level=levels["Platinum"].pk, member_id="x", username="root"))
    alice.refresh_from_db()
    alice.member_profile.refresh_from_db()
    assert alice.member_profile.level == levels["Gold"]
    assert alice.get_username() == "alice" and alice.first_name == "Alicia"
    assert not LevelChange.objects.filter(member=alice, to_level=levels["Platinum"]).exists()


@pytest.mark.parametrize(
    ("email", "error"),
    [
        ("not-an-address", "Enter a valid email address."),
        ("", "This field is required."),
        ("BOB@example.com", "Another account uses this email address."),
    ],
)
def test_invalid_details_are_refused_and_nothing_is_saved(member, alice, bob, email, error):
    response = member.post(reverse("member_page"), details(email=email))
    assert response.status_code == 200
    assert error in response.content.decode()
    alice.refresh_from_db()
    assert (alice.first_name, alice.email) == ("Alice", "alice@example.com")


def test_keeping_ones_own_email_in_another_case_is_allowed(member, alice):
    assert member.post(reverse("member_page"), details(email="ALICE@example.com")).status_code == 302
    assert get_user_model().objects.get(pk=alice.pk).email == "ALICE@example.com"


@pytest.mark.parametrize("password", [None, "", "wrong-guess"])
def test_a_stolen_session_cannot_move_the_accounts_email(member, alice, password):
    """Issue 21 (3): the email changed with the cookie alone, and the password reset then went to the thief."""
    form = details(email="thief@example.net")
    if password is not None:
        form["current_password"] = password
    response = member.post(reverse("member_page"), form)
    assert response.status_code == 200
    assert "Enter your current password to change your email address." in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    run_queued_tasks()
    assert mail.outbox == []


def test_a_name_alone_changes_without_the_password(member, alice):
    assert member.post(reverse("member_page"), details()).status_code == 302
    alice.refresh_from_db()
    assert alice.first_name == "Alicia"


def test_the_old_address_is_told_of_a_new_email(member, alice):
    member.post(reverse("member_page"), details(email="alicia@example.org", current_password=DEMO_PASSWORD))
    assert run_queued_tasks() == 1
    (notice,) = mail.outbox
    assert notice.to == ["alice@example.com"]
    assert notice.subject == "The email address of your Member Messaging account was changed"
    assert "a***@example.org" in notice.body and "alicia@example.org" not in notice.body


def test_wrong_passwords_on_the_email_change_spend_the_password_budget(member, alice, settings):
    settings.LOGIN_RATE_PER_USERNAME = "3/m"
    for _ in range(3):
        member.post(reverse("member_page"), details(email="thief@example.net", current_password="guess"))
    refused = member.post(reverse("member_page"), details(email="thief@example.net", current_password=DEMO_PASSWORD))
    assert refused.status_code == 429
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_a_password_change_is_told_to_the_accounts_address(member, alice):
    form = {"old_password": DEMO_PASSWORD, "new_password1": "Brand-new-2026!", "new_password2": "Brand-new-2026!"}
    assert member.post(reverse("password_change"), form).status_code == 302
    assert run_queued_tasks() == 1
    (notice,) = mail.outbox
    assert notice.to == ["alice@example.com"]
    assert notice.subject == "The password of your Member Messaging account was changed"
