"""Messaging's provider on this site: who gets an authorization code (its adapter's members only,
accounts/adapter.py: a superuser has none until an admin makes them a member), and the signing key its production
settings require."""

import pytest
from django.test import Client

from tests.fixtures.oidc import AUTH_CODE_URL

pytestmark = pytest.mark.django_db


def test_a_superuser_is_no_member_and_gets_no_code(genesys_oidc_client):
    """Issue 21 (9): the superuser got a member profile, and so a chat identity and ID tokens."""
    from django.contrib.auth import get_user_model

    from accounts.models import MemberProfile

    root = get_user_model().objects.create_superuser("root", "root@example.com", "x-Admin-2026")
    assert not MemberProfile.objects.filter(user=root).exists()
    client = Client()
    client.force_login(root)
    response = client.post(AUTH_CODE_URL, {"codeChallenge": "c" * 43, "nonce": "n"}, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "access_denied"


def test_a_superuser_an_admin_made_a_member_gets_a_code(genesys_oidc_client, levels):
    from django.contrib.auth import get_user_model

    from accounts.services import ensure_member_profile

    root = get_user_model().objects.create_superuser("root", "root@example.com", "x-Admin-2026")
    ensure_member_profile(user=root)
    client = Client()
    client.force_login(root)
    response = client.post(AUTH_CODE_URL, {"codeChallenge": "c" * 43, "nonce": "n"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["authCode"]


def test_production_with_authenticated_messaging_needs_a_signing_key():
    from tests.integration.test_settings_and_commands import PRODUCTION_ENV, _manage

    result = _manage("check", env=dict(PRODUCTION_ENV, GENESYS_AUTHENTICATED_MESSAGING="true", OIDC_RSA_PRIVATE_KEY=""))
    assert result.returncode != 0
    assert "OIDC_RSA_PRIVATE_KEY is required" in result.stderr
    assert "BEGIN" not in result.stderr
