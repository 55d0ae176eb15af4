"""The agents' member card (issue 23) in this process against the sandbox over HTTP: the agent's token checked
with users/me, the agent checked on the conversation, the card read from the database only; every refusal
without member data; framing for Genesys' apps origin only."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from tests.data_action import verify
from tests.fixtures.agents import AGENT_CARD_REDIRECT_PATH, agent_joins, agent_token

URL = "/messaging/agent/card/"
REDIRECT_URI = f"http://testserver{AGENT_CARD_REDIRECT_PATH}"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def card_sandbox(genesys, settings):
    """The sandbox with the card's redirect URI registered (the test client's host)."""
    genesys.configure(agent_redirect_uris=REDIRECT_URI)
    return genesys


def token_of(sandbox, username: str) -> str:
    return agent_token(sandbox.url, username, REDIRECT_URI)


def card(conversation_id: str, token: str, client: Client | None = None, **extra: str):
    data = {"conversationId": conversation_id, "access_token": token, **extra}
    return (client or Client(enforce_csrf_checks=True)).post(URL, data)


def views(outcome: str) -> float:
    return REGISTRY.get_sample_value("messaging_card_views_total", {"outcome": outcome}) or 0.0


@pytest.fixture
def alices_conversation(card_sandbox, alice, member_token):
    """alice's conversation, verified by the data action, with agent1 on it."""
    token = member_token(alice)
    conversation = card_sandbox.start_conversation(attributes={"memberToken": token}, token="alice-browser")
    assert verify(conversation["id"], token)["verified"] == "true"
    agent_joins(card_sandbox.url, conversation["id"], "agent1")
    return conversation["id"]


def test_the_agent_on_the_conversation_sees_the_member_and_a_change_on_the_next_load(
    card_sandbox, alices_conversation, alice, public_id
):
    token = token_of(card_sandbox, "agent1")
    before = views("member")
    response = card(alices_conversation, token)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Anders" in page and public_id(alice) in page
    assert 'data-testid="card-authenticated">No<' in page  # member token, not authenticated messaging
    assert "by the member token of a signed-in page" in page
    assert 'data-testid="card-push">delivered<' in page
    assert views("member") == before + 1
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]

    alice.first_name = "Alicia"
    alice.save()
    page = card(alices_conversation, token).content.decode()
    assert "Alicia Anders" in page  # read fresh: the site's levels and their history are its own tests


def test_participant_data_written_by_the_browser_changes_nothing(card_sandbox, alices_conversation):
    # The same browser session writes over the server's keys, as a page script can.
    guest = card_sandbox.guest("alice-browser")
    try:
        guest.configure()
        forged = {"membershipLevel": "Platinum", "verified": "true", "memberId": str(uuid.uuid4())}
        assert guest.send("I am Platinum", forged)["code"] == 200
    finally:
        guest.close()
    page = card(alices_conversation, token_of(card_sandbox, "agent1")).content.decode()
    assert "Alice Anders" in page and "Platinum" not in page


def test_a_guest_with_forged_attributes_is_a_guest(card_sandbox, alice, public_id):
    forged = {
        "isAuthenticated": "true",
        "memberId": public_id(alice),
        "membershipLevel": "Platinum",
        "verified": "true",
    }
    conversation = card_sandbox.start_conversation(attributes=forged)
    agent_joins(card_sandbox.url, conversation["id"], "agent1")
    before = views("guest")
    response = card(conversation["id"], token_of(card_sandbox, "agent1"))
    page = response.content.decode()
    assert response.status_code == 200 and "Guest, not verified" in page
    assert "Alice" not in page and public_id(alice) not in page
    assert views("guest") == before + 1


@pytest.fixture
def alices_id(alice, public_id) -> str:
    return public_id(alice)


def assert_refused(response, status: int, reason: str, alices_id: str) -> None:
    page = response.content.decode()
    assert response.status_code == status
    assert f'data-reason="{reason}"' in page
    assert "Alice" not in page and alices_id not in page


def test_an_agent_not_on_the_conversation_is_refused(card_sandbox, alices_conversation, alices_id):
    before = views("not_on_conversation")
    assert_refused(card(alices_conversation, token_of(card_sandbox, "agent2")), 403, "not_on_conversation", alices_id)
    assert views("not_on_conversation") == before + 1


@pytest.mark.parametrize("kind", ["forged", "revoked", "expired", "client_credentials", "missing", "huge"])
def test_a_token_genesys_does_not_accept_is_refused(card_sandbox, alices_conversation, alices_id, kind):
    if kind == "forged":
        token = "x" * 43
    elif kind == "revoked":
        token = token_of(card_sandbox, "agent1")
        assert card_sandbox.revoke(token) == 1
    elif kind == "expired":
        card_sandbox.configure(token_ttl=0)  # issued already expired: no waiting on a clock
        token = token_of(card_sandbox, "agent1")
    elif kind == "client_credentials":
        token = card_sandbox.token()  # the site's own kind of token: it has no user
    elif kind == "missing":
        token = ""
    else:
        token = "x" * 5000
    response = card(alices_conversation, token)
    assert_refused(response, 401, "bad_token", alices_id)
    assert 'data-clear-token="true"' in response.content.decode()  # the frame forgets it


def test_a_plain_site_member_is_refused(card_sandbox, alices_conversation, alice, alices_id, client):
    client.force_login(alice)
    assert_refused(client.post(URL, {"conversationId": alices_conversation}), 401, "bad_token", alices_id)
    shell = client.get(URL, {"conversationId": alices_conversation})
    assert shell.status_code == 200 and "Alice" not in shell.content.decode()


def test_unknown_and_malformed_conversations(card_sandbox, alices_id):
    token = token_of(card_sandbox, "agent1")
    assert_refused(card(str(uuid.uuid4()), token), 404, "unknown_conversation", alices_id)
    for bad in ["", "not-a-uuid", "../../etc"]:
        assert card(bad, token).status_code == 400
        assert Client().get(URL, {"conversationId": bad}).status_code == 400


def test_genesys_unavailable_shows_nothing_unchecked(card_sandbox, alices_conversation, alices_id, settings):
    settings.GENESYS_RETRY_TOTAL = 0
    token = token_of(card_sandbox, "agent1")
    card_sandbox.faults(route="GET /api/v2/users/me", status=503, ratio=1)
    assert_refused(card(alices_conversation, token), 503, "unavailable", alices_id)


def test_rate_limited(card_sandbox, alices_conversation, alices_id, settings):
    settings.GENESYS_AGENT_CARD_RATE = "2/m"
    token = token_of(card_sandbox, "agent1")
    assert [card(alices_conversation, token).status_code for _ in range(2)] == [200, 200]
    refused = card(alices_conversation, token)
    assert_refused(refused, 429, "rate_limited", alices_id)
    assert 1 <= int(refused["Retry-After"]) <= 60  # the rest of the window (test_retry_after.py)


def directives(response) -> dict[str, str]:
    """The response's Content-Security-Policy, directive name -> its sources."""
    pairs = (part.strip().partition(" ") for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: sources for name, _, sources in pairs}


def test_only_genesys_apps_origin_may_frame_the_card(card_sandbox, client):
    shell = client.get(URL, {"conversationId": str(uuid.uuid4()), "langTag": "en-us"})
    policy = directives(shell)
    assert policy["frame-ancestors"] == card_sandbox.url
    assert "X-Frame-Options" not in shell
    assert policy["connect-src"] == f"'self' {card_sandbox.url}"  # the sign-in's token call, nothing else
    home = client.get("/")
    assert directives(home)["frame-ancestors"] == "'none'" and home["X-Frame-Options"] == "DENY"
    signed_in = client.get(AGENT_CARD_REDIRECT_PATH)
    assert directives(signed_in)["frame-ancestors"] == "'none'" and signed_in["X-Frame-Options"] == "DENY"
    assert signed_in["Referrer-Policy"] == "no-referrer"


def test_the_agents_token_is_not_logged_or_kept(card_sandbox, alices_conversation, caplog, client):
    token = token_of(card_sandbox, "agent1")
    with caplog.at_level(logging.DEBUG):
        response = card(alices_conversation, token, client=client)
    assert response.status_code == 200
    assert token not in caplog.text and token not in response.content.decode()
    assert not client.cookies and not client.session.keys()


def test_the_check_says_whether_the_agent_client_is_configured(settings):
    from messaging.agent_card.checks import agent_client_problem

    settings.GENESYS_AGENT_CLIENT_ID = ""
    assert "GENESYS_AGENT_CLIENT_ID" in agent_client_problem()
    settings.GENESYS_AGENT_CLIENT_ID = "client"
    assert agent_client_problem() is None


@pytest.mark.parametrize(("tag", "lang"), [("en-us", "en-us"), ("EN-GB", "en-gb"), ("xx-yy", "en-us"), ("", "en-us")])
def test_the_card_follows_the_agents_language_tag_where_the_site_has_it(client, settings, tag, lang):
    settings.LANGUAGES = [("en-us", "English (US)"), ("en-gb", "English (UK)")]
    shell = client.get(URL, {"conversationId": str(uuid.uuid4()), "langTag": tag})
    assert shell.status_code == 200 and f'<html lang="{lang}">' in shell.content.decode()
