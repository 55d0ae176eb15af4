"""Issue 21 (6, 9): a member's OpenID Connect tokens end with their password, their sign-out, their configured
lifetime, and the replay of the code they came from; Genesys' next refresh with them is refused."""

import datetime

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from oauth2_provider.models import get_access_token_model

from tests.messaging.integration.test_oidc_provider import _basic, _exchange
from tests.messaging.members import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-new-2026!"


@pytest.fixture
def tokens(alice, auth_code_for):
    """Alice's tokens as Genesys holds them after exchanging her code."""
    answer = _exchange(Client(), auth_code_for(alice))
    assert answer.status_code == 200, answer.content
    return answer.json()


def refresh(refresh_token: str):
    """Genesys' refresh at the provider, with the integration's client credentials."""
    from django.conf import settings

    return Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=_basic(settings.GENESYS_OIDC_CLIENT_ID, settings.GENESYS_OIDC_CLIENT_SECRET),
    )


def userinfo(access_token: str):
    return Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def assert_ended(tokens: dict) -> None:
    refused = refresh(tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert userinfo(tokens["access_token"]).status_code == 401


def test_a_refresh_works_while_nothing_ended_it(tokens):
    renewed = refresh(tokens["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != tokens["refresh_token"]
    assert userinfo(renewed.json()["access_token"]).status_code == 200


def test_the_members_password_change_ends_the_tokens(alice, tokens):
    browser = Client()
    browser.force_login(alice)
    form = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert browser.post(reverse("password_change"), form).status_code == 302
    assert_ended(tokens)


def test_a_password_reset_ends_the_tokens(alice, tokens):
    browser = Client()
    uid = urlsafe_base64_encode(force_bytes(alice.pk))
    link = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(alice)])
    set_password_url = browser.get(link).url
    assert (
        browser.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code
        == 302
    )
    assert_ended(tokens)


def test_an_admin_setting_the_password_ends_the_tokens(alice, tokens):
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert_ended(tokens)


def test_saving_the_member_without_a_new_password_ends_nothing(alice, tokens):
    alice.first_name = "Alicia"
    alice.save()
    assert refresh(tokens["refresh_token"]).status_code == 200


def test_sign_out_ends_the_tokens(alice, tokens):
    browser = Client()
    browser.force_login(alice)
    assert browser.post(reverse("logout")).status_code == 302
    assert_ended(tokens)


def test_another_members_sign_out_ends_nothing_of_alices(alice, bob, tokens):
    browser = Client()
    browser.force_login(bob)
    browser.post(reverse("logout"))
    assert refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize(("idle_seconds", "status"), [(50, 200), (70, 400)])
def test_a_refresh_token_dies_its_lifetime_after_its_access_token(tokens, settings, idle_seconds, status):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": 60}
    get_access_token_model().objects.update(expires=timezone.now() - datetime.timedelta(seconds=idle_seconds))
    assert refresh(tokens["refresh_token"]).status_code == status


def test_refresh_tokens_have_a_lifetime_from_the_environment():
    from django.conf import settings

    assert settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] == 24 * 60 * 60


def test_a_replayed_code_ends_the_tokens_of_its_first_exchange(alice, auth_code_for):
    """RFC 6749 4.1.2: a code used twice is refused, and the tokens issued for it SHOULD be revoked."""
    code = auth_code_for(alice)
    first = _exchange(Client(), code)
    assert first.status_code == 200
    replay = _exchange(Client(), code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert_ended(first.json())


def test_a_replayed_code_leaves_the_members_earlier_tokens_alone(alice, auth_code_for, tokens):
    code = auth_code_for(alice)
    assert _exchange(Client(), code).status_code == 200
    _exchange(Client(), code)
    assert refresh(tokens["refresh_token"]).status_code == 200
