"""The sandbox as Genesys for agents: the user login (authorization code + PKCE S256, public client), UserMe, and
agent participants with their `user` (issue 23). As strict as Genesys: a code works once, for its client,
redirect URI and verifier; a client-credentials token has no user."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import defaults
from tests.fixtures.agents import AGENT_CARD_REDIRECT_PATH, agent_joins, agent_token, pkce_pair

REDIRECT_URI = f"http://127.0.0.1:8000{AGENT_CARD_REDIRECT_PATH}"  # registered by default
USER_ME_KEYS = {"id", "name", "division", "chat", "email", "primaryContactInfo", "state", "username", "version"}


def authorize_params(challenge: str, **changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": defaults.AGENT_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st",
    }
    return {**params, **changes}


def sign_in(sandbox, http, challenge: str, username: str = "agent1", password: str = defaults.AGENT_PASSWORD):
    return http.post(
        f"{sandbox.url}/oauth/authorize",
        params=authorize_params(challenge),
        data={"username": username, "password": password},
        allow_redirects=False,
    )


def redeem(sandbox, http, code: str, verifier: str, **changes: str):
    data = {
        "grant_type": "authorization_code",
        "client_id": defaults.AGENT_CLIENT_ID,
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **changes,
    }
    return http.post(f"{sandbox.url}/oauth/token", data=data, headers={"Origin": "http://127.0.0.1:8000"})


def code_of(response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st"]
    return query["code"][0]


def test_the_login_page_is_not_frameable_and_escapes_what_it_echoes(sandbox, http):
    _, challenge = pkce_pair()
    page = http.get(f"{sandbox.url}/oauth/authorize", params=authorize_params(challenge, state='"><script>'))
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and 'name="password"' in page.text


def test_a_code_works_once_with_its_verifier_and_gives_the_users_token(sandbox, http):
    verifier, challenge = pkce_pair()
    code = code_of(sign_in(sandbox, http, challenge))
    assert redeem(sandbox, http, code, "wrong-" + verifier).json()["error"] == "invalid_grant"
    # The failed attempt spent it: a guessed verifier costs the holder the code, not a second try.
    assert redeem(sandbox, http, code, verifier).json()["error"] == "invalid_grant"

    code = code_of(sign_in(sandbox, http, challenge))
    answer = redeem(sandbox, http, code, verifier)
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    token = answer.json()["access_token"]
    assert redeem(sandbox, http, code, verifier).status_code == 400  # once
    me = http.get(f"{sandbox.url}/api/v2/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and set(me.json()) >= USER_ME_KEYS
    assert me.json()["name"] == "Avery Agent" and me.json()["state"] == "active"


def test_codes_are_bound_to_client_and_redirect_uri(sandbox, http):
    verifier, challenge = pkce_pair()
    code = code_of(sign_in(sandbox, http, challenge))
    assert redeem(sandbox, http, code, verifier, redirect_uri="http://127.0.0.1:8000/other").status_code == 400
    code = code_of(sign_in(sandbox, http, challenge))
    assert redeem(sandbox, http, code, verifier, client_id="someone-else").status_code == 401


@pytest.mark.parametrize(
    "changes",
    [{"client_id": "unknown"}, {"redirect_uri": "https://evil.example/steal"}],
)
def test_an_unknown_client_or_redirect_uri_is_never_redirected_to(sandbox, http, changes):
    _, challenge = pkce_pair()
    page = http.get(f"{sandbox.url}/oauth/authorize", params=authorize_params(challenge, **changes))
    assert page.status_code == 400 and "Location" not in page.headers


@pytest.mark.parametrize(
    "changes", [{"code_challenge_method": "plain"}, {"code_challenge": ""}, {"response_type": "token"}]
)
def test_pkce_s256_and_the_code_flow_are_required(sandbox, http, changes):
    _, challenge = pkce_pair()
    page = http.get(
        f"{sandbox.url}/oauth/authorize", params=authorize_params(challenge, **changes), allow_redirects=False
    )
    assert page.status_code == 302 and "error=invalid_request" in page.headers["Location"]


def test_a_wrong_password_gets_no_code(sandbox, http):
    _, challenge = pkce_pair()
    page = sign_in(sandbox, http, challenge, password="nope")
    assert page.status_code == 200 and "Wrong username or password" in page.text and "Location" not in page.headers


def test_the_token_endpoint_answers_cors_for_registered_origins_only(sandbox, http):
    verifier, challenge = pkce_pair()
    code = code_of(sign_in(sandbox, http, challenge))
    data = {"grant_type": "authorization_code", "client_id": defaults.AGENT_CLIENT_ID, "code": code}
    answer = http.post(f"{sandbox.url}/oauth/token", data=data, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_users_me_wants_a_users_token(sandbox, http):
    answer = http.get(f"{sandbox.url}/api/v2/users/me", headers={"Authorization": f"Bearer {sandbox.token()}"})
    assert answer.status_code == 400 and "requires a user context" in answer.json()["message"]
    assert http.get(f"{sandbox.url}/api/v2/users/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_agents_who_reply_are_participants_with_their_user(sandbox, http):
    conversation = sandbox.start_conversation("Hello")
    agent_joins(sandbox.url, conversation["id"], "agent1")
    agent_joins(sandbox.url, conversation["id"], "agent2")
    token = sandbox.token()
    shown = http.get(
        f"{sandbox.url}/api/v2/conversations/messages/{conversation['id']}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    agents = [p for p in shown["participants"] if p["purpose"] == "agent"]
    me1 = http.get(
        f"{sandbox.url}/api/v2/users/me",
        headers={"Authorization": f"Bearer {agent_token(sandbox.url, 'agent1', REDIRECT_URI)}"},
    ).json()
    assert [a["user"]["id"] for a in agents][0] == me1["id"]
    assert len({a["user"]["id"] for a in agents}) == 2
    assert all(set(a["user"]) == {"id", "name", "selfUri"} for a in agents)


def test_the_agent_view_frames_the_widget_for_a_signed_in_agent_only(sandbox, http):
    assert "Sign in as an agent" in http.get(f"{sandbox.url}/agent/").text
    http.post(f"{sandbox.url}/agent/login", data={"username": "agent2", "password": defaults.AGENT_PASSWORD})
    page = http.get(f"{sandbox.url}/agent/")
    assert "Blake Agent" in page.text and 'id="ag-widget"' in page.text
    assert "{{gcConversationId}}" in page.text  # the template; the page fills it per conversation
    assert "frame-src http://127.0.0.1:8000" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
