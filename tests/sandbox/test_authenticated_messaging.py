"""The sandbox as Genesys' side of authenticated web messaging, against the site as a live provider: the code
exchange (discovery, token endpoint, ID token checks), refresh, revoke, configureAuthenticatedSession, and one
conversation per member across browsers (sandbox/webdeployments.py, oidc_relying_party.py, auth_sessions.py)."""

import json
import secrets

import pytest
from jwcrypto import jwk

from messaging.oidc.signing_keys import generate_pem
from sandbox import defaults


@pytest.fixture
def provider(live_server, sandbox, genesys_oidc_client):
    """The site (live) as the sandbox's OpenID Connect provider, with the Genesys client registered. The flow's
    data action is off: these tests are about identity, and its calls would write to the test database
    concurrently."""
    sandbox.configure(flow_enabled=False)
    return sandbox


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"message", "code", "status", "contextId"} and "jwt" not in body
    assert reason in body["message"], body["message"]


def test_a_good_code_gives_a_jwt_and_a_refresh_token(provider, alice, auth_code_for):
    answer = provider.exchange(auth_code_for(alice))
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"jwt", "refreshToken"}
    assert provider.get("/_stats")["auth_exchanges"] == 1


def test_a_forged_code_is_refused(provider, alice, auth_code_for):
    assert_refused(provider.exchange(auth_code_for(alice), code=secrets.token_urlsafe(24)), "invalid_grant")


def test_a_replayed_code_is_refused(provider, alice, auth_code_for):
    code = auth_code_for(alice)
    assert provider.exchange(code).status_code == 200
    assert_refused(provider.exchange(code), "invalid_grant")


def test_an_expired_code_is_refused(provider, alice, auth_code_for, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "AUTHORIZATION_CODE_EXPIRE_SECONDS": -1}
    assert_refused(provider.exchange(auth_code_for(alice)), "invalid_grant")


def test_a_wrong_verifier_is_refused(provider, alice, auth_code_for):
    assert_refused(provider.exchange(auth_code_for(alice), codeVerifier=secrets.token_urlsafe(48)), "invalid_grant")


def test_a_wrong_nonce_is_refused(provider, alice, auth_code_for):
    assert_refused(provider.exchange(auth_code_for(alice), nonce="not-the-nonce"), "nonce")


def test_an_id_token_for_another_audience_is_refused(provider, alice, auth_code_for, monkeypatch):
    from messaging.oidc.provider import MemberClaimsValidator

    original = MemberClaimsValidator.get_id_token_dictionary

    def for_someone_else(self, token, token_handler, request):
        claims, expires = original(self, token, token_handler, request)
        return {**claims, "aud": "someone-else"}, expires

    monkeypatch.setattr(MemberClaimsValidator, "get_id_token_dictionary", for_someone_else)
    assert_refused(provider.exchange(auth_code_for(alice)), "aud")


def test_an_expired_id_token_is_refused(provider, alice, auth_code_for, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ID_TOKEN_EXPIRE_SECONDS": -300}
    assert_refused(provider.exchange(auth_code_for(alice)), "expired")


def test_an_id_token_signed_by_a_key_not_in_jwks_is_refused(provider, alice, auth_code_for, monkeypatch):
    from django.http import JsonResponse
    from oauth2_provider.views import oidc

    stranger = jwk.JWK.from_pem(generate_pem().encode())
    public = {"alg": "RS256", "use": "sig", "kid": stranger.thumbprint(), **json.loads(stranger.export_public())}
    monkeypatch.setattr(oidc.JwksInfoView, "get", lambda self, request, *a, **k: JsonResponse({"keys": [public]}))
    assert_refused(provider.exchange(auth_code_for(alice)), "JWKS")
    assert provider.get("/_stats")["auth_exchanges_refused"] == 1


def test_a_wrong_client_secret_is_refused(provider, alice, auth_code_for):
    provider.configure(oidc_client_secret="not-the-secret")
    assert_refused(provider.exchange(auth_code_for(alice)), "invalid_client")


def test_refresh_gives_a_new_jwt_and_revoke_ends_both(provider, alice, auth_code_for):
    tokens = provider.exchange(auth_code_for(alice)).json()
    url = f"{provider.url}/api/v2/webdeployments/token"
    refreshed = provider.http.post(f"{url}/refresh", json={"refreshToken": tokens["refreshToken"]}, timeout=10)
    assert refreshed.status_code == 200 and refreshed.json()["jwt"] != tokens["jwt"]
    jwt = refreshed.json()["jwt"]
    revoked = provider.http.delete(f"{url}/revoke", headers={"Authorization": f"bearer {jwt}"}, timeout=10)
    assert revoked.status_code == 204
    stats = provider.get("/_stats")
    assert stats["auth_revokes"] == 1 and stats["auth_revoked_subs"] == [str(alice.member_profile.member_id)]
    again = provider.http.post(f"{url}/refresh", json={"refreshToken": tokens["refreshToken"]}, timeout=10)
    assert again.status_code == 401
    guest = provider.guest()
    try:
        answer = guest.ask("configureAuthenticatedSession", deploymentId=defaults.DEPLOYMENT_ID, data={"code": jwt})
        assert answer["code"] == 401
    finally:
        guest.close()


def refresh_at_genesys(sandbox, refresh_token: str):
    url = f"{sandbox.url}/api/v2/webdeployments/token/refresh"
    return sandbox.http.post(
        url, json={"refreshToken": refresh_token, "deploymentId": defaults.DEPLOYMENT_ID}, timeout=20
    )


def test_a_password_change_makes_genesys_next_refresh_refused(provider, alice, auth_code_for):
    """Issue 21 (6): after a password change the Genesys session refreshed and stayed authenticated. Genesys
    refreshes with the provider; the provider revoked the member's tokens, so the refresh is refused and the
    member's sessions end."""
    tokens = provider.exchange(auth_code_for(alice)).json()
    guest = provider.signed_in_guest(tokens["jwt"])
    try:
        assert refresh_at_genesys(provider, tokens["refreshToken"]).status_code == 200
        alice.set_password("Brand-new-2026!")
        alice.save()
        assert refresh_at_genesys(provider, tokens["refreshToken"]).status_code == 401
        assert "invalid_grant" in provider.get("/_stats")["auth_refusals"][-1]
        assert refresh_at_genesys(provider, tokens["refreshToken"]).status_code == 401
    finally:
        guest.close()


def test_a_sign_out_at_the_site_makes_genesys_next_refresh_refused(provider, alice, auth_code_for):
    from django.test import Client

    tokens = provider.exchange(auth_code_for(alice)).json()
    browser = Client()
    browser.force_login(alice)
    browser.post("/accounts/logout/")
    assert refresh_at_genesys(provider, tokens["refreshToken"]).status_code == 401


def test_an_authenticated_session_makes_the_customer_authenticated_with_the_claims(provider, alice, auth_code_for):
    jwt = provider.exchange(auth_code_for(alice)).json()["jwt"]
    guest = provider.signed_in_guest(jwt)
    try:
        assert guest.send("Hello")["code"] == 200
    finally:
        guest.close()
    (conversation,) = provider.conversations()
    assert conversation["authenticated"] is True
    assert conversation["authClaims"] == {
        "sub": str(alice.member_profile.member_id),
        "email": "alice@example.com",
        "name": "Alice Anders",
    }
    token = provider.token()
    api = provider.http.get(
        f"{provider.url}/api/v2/conversations/messages/{conversation['id']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    customer = next(p for p in api["participants"] if p["purpose"] == "customer")
    assert customer["authenticated"] is True
    # The identity Genesys authenticated, where the Platform API shows it (MessageMediaParticipant.fromAddress, an
    # Address): the site's verify checks the flow's sub against it.
    sub = str(alice.member_profile.member_id)
    assert customer["fromAddress"] == {
        "name": "Alice Anders",
        "nameRaw": "Alice Anders",
        "addressNormalized": sub,
        "addressRaw": sub,
        "addressDisplayable": sub,
    }
    hooked = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert hooked["authClaims"] == conversation["authClaims"]


def test_an_anonymous_session_stays_unauthenticated(provider):
    conversation = provider.start_conversation("Hello")
    assert conversation["authenticated"] is False and conversation["authClaims"] == {}
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert "fromAddress" not in customer and "authClaims" not in customer


def test_the_same_member_gets_the_same_conversation_in_a_second_browser(provider, alice, auth_code_for):
    first = provider.signed_in_guest(provider.exchange(auth_code_for(alice)).json()["jwt"])
    second = None
    try:
        first.send("From the laptop")
        second = provider.signed_in_guest(provider.exchange(auth_code_for(alice)).json()["jwt"])
        second.send("From the phone")
        jwt = second.ask("getJwt")["body"]["jwt"]
        history = provider.http.get(
            f"{provider.url}/api/v2/webmessaging/messages", headers={"Authorization": f"Bearer {jwt}"}, timeout=10
        ).json()
        assert [m["text"] for m in history["entities"]] == ["From the phone", "From the laptop"]
        (conversation,) = provider.conversations()
        provider.post(f"/agent/api/conversations/{conversation['id']}/reply", text="Hi Alice")
        assert first.receive()["body"]["text"] == "Hi Alice"
        assert second.receive()["body"]["text"] == "Hi Alice"
    finally:
        first.close()
        if second is not None:
            second.close()


def test_two_members_never_share_a_conversation(provider, alice, bob, auth_code_for):
    for member in (alice, bob):
        guest = provider.signed_in_guest(provider.exchange(auth_code_for(member)).json()["jwt"])
        try:
            guest.send(f"I am {member.username}")
        finally:
            guest.close()
    subs = sorted(c["authClaims"]["sub"] for c in provider.conversations())
    assert subs == sorted(str(m.member_profile.member_id) for m in (alice, bob))


def test_exchange_is_refused_when_the_deployment_has_authentication_off(provider, alice, auth_code_for):
    provider.configure(auth_enabled=False)
    assert_refused(provider.exchange(auth_code_for(alice)), "not enabled")


def test_the_flow_passes_an_authenticated_customers_sub_and_no_token(provider, alice, auth_code_for):
    # The data action's target is unreachable here: what matters is what the flow sent.
    provider.configure(flow_enabled=True, data_action_url="http://127.0.0.1:9/verify", data_action_timeout=1.0)
    jwt = provider.exchange(auth_code_for(alice)).json()["jwt"]
    guest = provider.signed_in_guest(jwt)
    try:
        assert guest.send("Hello", attributes={"memberToken": "from-the-page"})["code"] == 200
    finally:
        guest.close()
    (conversation,) = provider.conversations()
    (call,) = conversation["dataActionCalls"]
    assert call["request"] == {"conversationId": conversation["id"], "sub": str(alice.member_profile.member_id)}


def test_a_revoke_pushes_logout_event_to_the_session(provider, alice, auth_code_for):
    jwt = provider.exchange(auth_code_for(alice)).json()["jwt"]
    guest = provider.signed_in_guest(jwt)
    revoked = provider.http.delete(
        f"{provider.url}/api/v2/webdeployments/token/revoke", headers={"Authorization": f"bearer {jwt}"}, timeout=10
    )
    assert revoked.status_code == 204
    assert guest.receive()["class"] == "LogoutEvent"
    guest.close()


def test_an_authenticated_session_cannot_go_back_to_anonymous(provider, alice, auth_code_for):
    guest = provider.signed_in_guest(provider.exchange(auth_code_for(alice)).json()["jwt"])
    assert guest.configure()["code"] == 4017
    guest.close()


def test_session_upgrade_keeps_the_guest_conversation_and_closes_the_members_other_devices(
    provider, alice, auth_code_for
):
    phone = provider.signed_in_guest(provider.exchange(auth_code_for(alice)).json()["jwt"])
    assert phone.send("From my phone")["code"] == 200
    laptop = provider.guest()
    assert laptop.configure()["code"] == 200
    assert laptop.send("As a guest")["code"] == 200
    jwt = provider.exchange(auth_code_for(alice)).json()["jwt"]
    upgraded = laptop.ask("configureAuthenticatedSession", deploymentId=defaults.DEPLOYMENT_ID, data={"code": jwt})
    assert upgraded["code"] == 200 and upgraded["body"]["clearedExistingSession"] is True
    assert phone.receive() == {
        "type": "message",
        "class": "ConnectionClosedEvent",
        "code": 200,
        "body": {"reason": "signedIn"},
    }
    assert laptop.send("Now signed in")["code"] == 200
    [guest_conversation] = [c for c in provider.conversations() if c["messages"][0].get("text") == "As a guest"]
    assert guest_conversation["authenticated"] is True and guest_conversation["authClaims"]["sub"]
    assert [m["text"] for m in guest_conversation["messages"] if m.get("text")] == ["As a guest", "Now signed in"]
    phone.close()
    laptop.close()


def test_without_upgrade_signing_in_leaves_the_guest_conversation_behind(provider, alice, auth_code_for):
    laptop = provider.guest()
    assert laptop.configure()["code"] == 200
    assert laptop.send("As a guest")["code"] == 200
    provider.configure(allow_session_upgrade=False)
    jwt = provider.exchange(auth_code_for(alice)).json()["jwt"]
    answer = laptop.ask("configureAuthenticatedSession", deploymentId=defaults.DEPLOYMENT_ID, data={"code": jwt})
    assert answer["code"] == 200 and answer["body"]["clearedExistingSession"] is False
    assert laptop.send("Signed in")["code"] == 200
    texts = {c["id"]: [m.get("text") for m in c["messages"]] for c in provider.conversations()}
    assert sorted(texts.values()) == [["As a guest"], ["Signed in"]]
    laptop.close()
