"""The site's own pages as a stranger meets them: branded error pages with DEBUG off, one title pattern, a favicon,
forms rendered through the site's form templates (errors under the box they are about), and the translation
machinery in place."""

import re

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.views import defaults

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1).strip()


@pytest.fixture
def member(client, alice):
    client.force_login(alice)
    return client


def test_an_unknown_address_gets_the_branded_404_with_debug_off(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert title(response) == "Page not found · Member Messaging"
    assert "We could not find that page" in body and 'href="/"' in body
    assert "/static/css/site.css" in body


def test_a_crash_gets_the_branded_500_rendered_without_a_request_context(settings):
    settings.DEBUG = False
    # Django's handler500 renders 500.html with no context at all (no user, no request): the page must stand alone.
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "<title>Something went wrong · Member Messaging</title>" in body
    assert "/static/css/site.css" in body and "genesys" not in body.lower()


def test_the_429_page_offers_a_password_reset(client, settings, alice):
    settings.LOGIN_RATE_PER_USERNAME = "1/m"
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    assert 'href="/accounts/password/reset/"' in response.content.decode()
    assert title(response) == "Too many attempts · Member Messaging"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("home", "Welcome · Member Messaging"),
        ("login", "Sign in · Member Messaging"),
        ("password_reset", "Reset your password · Member Messaging"),
        ("password_reset_done", "Check your email · Member Messaging"),
        ("password_reset_complete", "Password set · Member Messaging"),
    ],
)
def test_every_page_has_one_title_pattern_and_a_favicon(client, name, expected):
    response = client.get(reverse(name))
    assert title(response) == expected
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in response.content.decode()


def test_signed_in_pages_follow_the_pattern_too(member):
    for name, expected in [("home", "Home"), ("member_page", "My membership"), ("password_change", "Change password")]:
        assert title(member.get(reverse(name))) == f"{expected} · Member Messaging"


def test_a_used_reset_link_is_titled_as_what_it_is(client):
    response = client.get(reverse("password_reset_confirm", args=["MQ", "not-a-token"]))
    assert title(response) == "This link does not work · Member Messaging"
    assert "Choose a new password" not in response.content.decode()


def test_every_form_field_renders_through_the_site_templates(member):
    body = member.get(reverse("member_page")).content.decode()
    form = body[body.index('id="member-details-form"') :]
    form = form[: form.index("</form>")]
    # first name, last name, email, and the current password an email change asks for: each in its own group
    assert form.count('<div class="field') == 4
    assert "<li>" not in form.split('<div class="field')[0]  # nothing rendered as a loose list above the boxes


def test_a_too_common_new_password_is_reported_under_the_new_password_box(member):
    response = member.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "This password is too common." in form.errors["new_password1"]
    assert "new_password2" not in form.errors
    body = response.content.decode()
    group = body[body.index('for="id_new_password1"') : body.index('for="id_new_password2"')]
    assert "This password is too common." in group
    assert group.index('id="id_new_password1"') < group.index("This password is too common.")


def test_mismatched_new_passwords_are_still_refused(member):
    response = member.post(
        reverse("password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "Fresh-pass-2026!", "new_password2": "Other-pass-2026!"},
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors


def test_saved_details_are_announced_as_a_banner(member):
    response = member.post(
        reverse("member_page"),
        {"first_name": "Alicia", "last_name": "Anders", "email": "alice@example.com"},
        follow=True,
    )
    assert re.search(
        r'<ul class="messages" role="status"><li class="success">Your details were saved.</li>',
        response.content.decode(),
    )


def test_the_page_language_follows_the_browser_among_the_languages_offered(client):
    assert '<html lang="en">' in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()  # only English offered
    with override_settings(LANGUAGES=[("en", "English"), ("fr", "French")]):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
        assert '<html lang="fr">' in response.content.decode()
        assert response["Content-Language"] == "fr"
