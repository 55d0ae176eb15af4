"""{% genesys_messenger %} with authenticated messaging on: the member's page asks for codes, carries no token."""

import json
import re

import pytest
from django.test import Client

from messaging.app_settings import app_settings
from messaging.models import MemberTokenGrant
from tests.messaging.members import PASSWORD

DATA_RE = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def authenticated_messaging(settings):
    settings.GENESYS_DEPLOYMENT_ID = "11111111-2222-4333-8444-555555555555"
    settings.GENESYS_AUTHENTICATED_MESSAGING = True


def page_data(client) -> dict:
    response = client.get("/")
    assert response.status_code == 200
    return json.loads(DATA_RE.search(response.content.decode()).group(1))


def test_on_by_default_with_the_sandbox_and_off_for_a_real_org(settings):
    del settings.GENESYS_AUTHENTICATED_MESSAGING
    settings.GENESYS_SANDBOX = True
    assert app_settings.AUTHENTICATED_MESSAGING is True
    settings.GENESYS_SANDBOX = False
    assert app_settings.AUTHENTICATED_MESSAGING is False
    settings.GENESYS_AUTHENTICATED_MESSAGING = True
    assert app_settings.AUTHENTICATED_MESSAGING is True


def test_a_members_page_asks_for_codes_and_carries_no_member_token(client, alice, public_id):
    client.login(username="alice", password=PASSWORD)
    data = page_data(client)
    assert data["authenticatedMessaging"] is True
    assert data["auth"]["codeUrl"] == "/o/messenger/auth-code"
    assert data["auth"]["csrfToken"]
    assert "memberToken" not in data["attributes"] and "memberToken" in data["removeKeys"]
    assert data["attributes"]["memberId"] == public_id(alice)
    assert not MemberTokenGrant.objects.exists()  # no grant: nothing in the browser could be replayed


def test_the_pages_csrf_token_lets_the_script_get_a_code(alice, genesys_oidc_client, pkce):
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    token = page_data(client)["auth"]["csrfToken"]
    _, challenge = pkce()
    body = {"codeChallenge": challenge, "nonce": "n-1"}
    refused = client.post("/o/messenger/auth-code", body, content_type="application/json")
    assert refused.status_code == 403
    answer = client.post("/o/messenger/auth-code", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200 and answer.json()["authCode"]


def test_the_page_masks_one_csrf_token_for_its_forms_and_messenger(client, alice):
    client.login(username="alice", password=PASSWORD)
    html = client.get("/").content.decode()
    form_tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    data = json.loads(DATA_RE.search(html).group(1))
    assert form_tokens and set(form_tokens) == {data["auth"]["csrfToken"]}


def test_a_visitor_registers_nothing(client):
    data = page_data(client)
    assert data["auth"] is None
    assert data["attributes"] == {"isAuthenticated": "false"}


@pytest.mark.parametrize("setting,expected", [(None, "clear"), ("upgrade", "upgrade"), ("clear", "clear")])
def test_guest_to_member_follows_the_setting(client, alice, settings, setting, expected):
    if setting is not None:
        settings.GENESYS_GUEST_TO_MEMBER = setting
    client.login(username="alice", password=PASSWORD)
    assert page_data(client)["guestToMember"] == expected


def test_without_authenticated_messaging_a_guest_is_always_cleared(client, alice, settings):
    settings.GENESYS_AUTHENTICATED_MESSAGING = False
    settings.GENESYS_GUEST_TO_MEMBER = "upgrade"
    client.login(username="alice", password=PASSWORD)
    data = page_data(client)
    assert data["guestToMember"] == "clear" and data["auth"] is None and data["attributes"]["memberToken"]


@pytest.mark.parametrize(("value", "errors"), [("clear", []), ("UPGRADE", []), ("merge", ["messaging.E005"])])
def test_guest_to_member_takes_clear_or_upgrade(settings, value, errors):
    from messaging.checks import check_guest_to_member

    settings.GENESYS_GUEST_TO_MEMBER = value
    assert [error.id for error in check_guest_to_member()] == errors
