"""The site as OpenID Connect provider for Genesys: discovery, JWKS, the code endpoint, the token endpoint with
PKCE, the ID token's claims and userinfo (messaging/oidc/provider.py, messaging/oidc/views.py)."""

import base64
import io
import json

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.test import Client, override_settings
from jwcrypto import jwk, jwt

from messaging.identity.adapter import DefaultMemberAdapter, Member
from messaging.oidc.signing_keys import generate_pem, split_pems
from tests.fixtures.oidc import AUTH_CODE_URL

pytestmark = pytest.mark.django_db

DISCOVERY = "/o/.well-known/openid-configuration"


class StaffAreNoMembers(DefaultMemberAdapter):
    """A host site's adapter for which staff are no members (GENESYS_MEMBER_ADAPTER names it in a test)."""

    def member_for_user(self, user) -> Member | None:
        return None if getattr(user, "is_staff", False) else super().member_for_user(user)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _exchange(client: Client, code: dict, *, secret: str | None = None, verifier: str | None = None, app=None):
    from django.conf import settings

    return client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code["authCode"],
            "redirect_uri": code["redirectUri"],
            "code_verifier": verifier or code["codeVerifier"],
        },
        HTTP_AUTHORIZATION=_basic(settings.GENESYS_OIDC_CLIENT_ID, secret or settings.GENESYS_OIDC_CLIENT_SECRET),
    )


def _jwks(client: Client) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(client.get("/o/.well-known/jwks.json").content)


def test_discovery_names_the_endpoints_rs256_pkce_and_the_claims(client):
    document = client.get(DISCOVERY).json()
    assert document["issuer"] == "http://testserver/o"
    assert document["token_endpoint"] == "http://testserver/o/token/"
    assert document["jwks_uri"] == "http://testserver/o/.well-known/jwks.json"
    assert document["userinfo_endpoint"] == "http://testserver/o/userinfo/"
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"sub", "email", "given_name", "family_name", "name"} <= set(document["claims_supported"])


def test_jwks_lists_the_active_key_and_an_inactive_one_beside_it(client, settings):
    old = generate_pem()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old]}
    keys = client.get("/o/.well-known/jwks.json").json()["keys"]
    active = jwk.JWK.from_pem(settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"].encode())
    assert [key["kid"] for key in keys] == [active.thumbprint(), jwk.JWK.from_pem(old.encode()).thumbprint()]
    assert all(key["alg"] == "RS256" and key["kty"] == "RSA" and "d" not in key for key in keys)


def test_inactive_keys_are_read_from_one_environment_value_with_escaped_newlines():
    first, second = generate_pem(), generate_pem()
    assert split_pems((first + second).replace("\n", "\\n")) == [first, second]


def test_a_visitor_gets_no_code(client, genesys_oidc_client):
    response = client.post(AUTH_CODE_URL, {"codeChallenge": "x" * 43, "nonce": "n"}, content_type="application/json")
    assert response.status_code == 403
    assert "authCode" not in response.json()


def test_a_cross_site_post_is_refused_by_the_csrf_check(alice, genesys_oidc_client, pkce):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    body = {"codeChallenge": pkce()[1], "nonce": "n-1"}
    assert browser.post(AUTH_CODE_URL, body, content_type="application/json").status_code == 403
    browser.get("/")  # the page sets the CSRF cookie; the same-origin script sends it back as the header
    token = browser.cookies["csrftoken"].value
    answer = browser.post(AUTH_CODE_URL, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert answer.status_code == 200 and answer.json()["authCode"]


def test_code_is_for_the_sessions_member_only_whatever_the_body_says(alice, bob, auth_code_for, client, public_id):
    code = auth_code_for(bob, username="alice", sub=public_id(alice), userId=str(alice.pk))
    answer = _exchange(client, code)
    claims = json.loads(jwt.JWT(jwt=answer.json()["id_token"], key=_jwks(client)).claims)
    assert claims["sub"] == public_id(bob)


def test_code_needs_a_challenge_and_a_nonce(alice, genesys_oidc_client):
    client = Client()
    client.force_login(alice)
    for body in ({"nonce": "n"}, {"codeChallenge": "c" * 43}):
        response = client.post(AUTH_CODE_URL, body, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_code_for_an_unregistered_redirect_uri_is_refused(alice, auth_code_for, genesys_oidc_client):
    client = Client()
    client.force_login(alice)
    body = {"codeChallenge": "c" * 43, "nonce": "n", "redirectUri": "https://evil.example/"}
    response = client.post(AUTH_CODE_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "authCode" not in response.json()


@override_settings(OIDC_AUTH_CODE_RATE="2/m")
def test_codes_are_rate_limited_per_member(alice, auth_code_for, pkce):
    auth_code_for(alice)
    auth_code_for(alice)
    client = Client()
    client.force_login(alice)
    response = client.post(AUTH_CODE_URL, {"codeChallenge": pkce()[1], "nonce": "n"}, content_type="application/json")
    assert response.status_code == 429 and response["Retry-After"]


def test_token_endpoint_with_the_right_verifier_gives_an_id_token_with_the_members_claims(
    alice, auth_code_for, public_id
):
    from django.conf import settings

    client = Client()
    code = auth_code_for(alice)
    assert code["redirectUri"] == settings.GENESYS_OIDC_REDIRECT_URIS[0]
    answer = _exchange(client, code)
    assert answer.status_code == 200, answer.content
    token = jwt.JWT(jwt=answer.json()["id_token"], key=_jwks(client))
    claims = json.loads(token.claims)
    assert claims["sub"] == public_id(alice) != str(alice.pk)
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is False  # the site never confirms the address the member typed
    assert (claims["given_name"], claims["family_name"], claims["name"]) == ("Alice", "Anders", "Alice Anders")
    assert claims["nonce"] == code["nonce"]
    assert claims["aud"] == settings.GENESYS_OIDC_CLIENT_ID
    assert claims["iss"] == "http://testserver/o"
    assert claims["exp"] > claims["iat"]


def test_the_id_tokens_kid_is_the_active_key_in_jwks(alice, auth_code_for):
    client = Client()
    answer = _exchange(client, auth_code_for(alice)).json()
    header = json.loads(jwt.JWT(jwt=answer["id_token"], key=_jwks(client)).header)
    assert header == {
        "typ": "JWT",
        "alg": "RS256",
        "kid": client.get("/o/.well-known/jwks.json").json()["keys"][0]["kid"],
    }


def test_token_endpoint_refuses_a_wrong_verifier(alice, auth_code_for, pkce):
    answer = _exchange(Client(), auth_code_for(alice), verifier=pkce()[0])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_token_endpoint_refuses_a_wrong_client_secret(alice, auth_code_for):
    answer = _exchange(Client(), auth_code_for(alice), secret="not-the-secret")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_a_code_works_once(alice, auth_code_for):
    client, code = Client(), auth_code_for(alice)
    assert _exchange(client, code).status_code == 200
    assert _exchange(client, code).json()["error"] == "invalid_grant"


def test_userinfo_answers_the_members_claims(alice, auth_code_for, public_id):
    client = Client()
    access = _exchange(client, auth_code_for(alice)).json()["access_token"]
    info = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}").json()
    assert info == {
        "sub": public_id(alice),
        "email": "alice@example.com",
        "email_verified": False,
        "given_name": "Alice",
        "family_name": "Anders",
        "name": "Alice Anders",
    }


def test_management_command_is_idempotent_and_never_prints_the_secret(genesys_oidc_client, settings):
    from oauth2_provider.models import get_application_model

    out = io.StringIO()
    call_command("genesys_oidc_client", stdout=out)
    settings.GENESYS_OIDC_REDIRECT_URIS = ["https://members.example.com/"]
    call_command("genesys_oidc_client", stdout=out)
    (application,) = get_application_model().objects.all()
    assert application.pk == genesys_oidc_client.pk
    assert application.redirect_uris == "https://members.example.com/"
    assert application.skip_authorization and application.algorithm == "RS256"
    assert settings.GENESYS_OIDC_CLIENT_SECRET not in out.getvalue()
    assert application.client_secret != settings.GENESYS_OIDC_CLIENT_SECRET  # stored hashed


def test_admin_lists_no_token_table(admin_client):
    from django.contrib import admin
    from oauth2_provider.models import get_access_token_model, get_grant_model

    assert not admin.site.is_registered(get_access_token_model())
    assert not admin.site.is_registered(get_grant_model())


def test_code_exchanges_are_counted_by_outcome(alice, auth_code_for):
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("messaging_code_exchanges_total", {"outcome": outcome}) or 0.0

    before = {outcome: count(outcome) for outcome in ("exchanged", "refused")}
    client, code = Client(), auth_code_for(alice)
    assert _exchange(client, code).status_code == 200
    assert _exchange(client, code).status_code == 400  # the same code again
    assert (count("exchanged"), count("refused")) == (before["exchanged"] + 1, before["refused"] + 1)


@pytest.mark.parametrize(
    "body",
    [
        {"codeChallenge": "c" * 43, "nonce": "n" * 256},
        {"codeChallenge": "c" * 129, "nonce": "n"},
        {"codeChallenge": "c" * 42 + "+", "nonce": "n"},
        {"codeChallenge": "c" * 43 + "\x00", "nonce": "n"},
        {"codeChallenge": "c" * 43, "nonce": "n\x00"},
        {"codeChallenge": "c" * 43, "nonce": "n", "redirectUri": "http://127.0.0.1:8000/\x00"},
        {"codeChallenge": "c" * 43, "nonce": "n", "redirectUri": "http://127.0.0.1:8000/" + "a" * 5000},
        {"codeChallenge": 43, "nonce": "n"},
        {"codeChallenge": "c" * 43, "nonce": ["n"]},
        {"codeChallenge": "c" * 43, "nonce": {"n": {"n": None}}},
        ["codeChallenge", "nonce"],
        "a string",
        None,
    ],
)
def test_bad_auth_code_requests_get_a_400_json_error_never_a_500(alice, genesys_oidc_client, body):
    """Issue 21 (8): over-long nonces and challenges or a NUL byte reached PostgreSQL (DataError, a 500)."""
    from oauth2_provider.models import get_grant_model

    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.post(AUTH_CODE_URL, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize("raw", [b"\xff\xfe{", b'{"nonce": "n', b"\x00"])
def test_a_body_that_is_not_json_gets_a_400(alice, genesys_oidc_client, raw):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.post(AUTH_CODE_URL, raw, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


class CountingHasher(MD5PasswordHasher):
    """The suite's MD5 hasher, counting every hash it computes (a check of a secret is one)."""

    computed = 0

    def encode(self, password, salt):
        CountingHasher.computed += 1
        return super().encode(password, salt)


def _client_auth(client: Client, client_id: str, secret: str):
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://127.0.0.1:8000/"}
    return client.post("/o/token/", form, HTTP_AUTHORIZATION=_basic(client_id, secret))


def test_an_unknown_client_id_costs_the_same_hashing_as_a_wrong_secret(genesys_oidc_client, settings):
    """Issue 21 (5): a wrong secret cost a hash (383 ms in production) and an unknown id none (7 ms): the time
    told which client ids exist."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    costs = {}
    for name, client_id in {"wrong secret": settings.GENESYS_OIDC_CLIENT_ID, "unknown id": "no-such-client"}.items():
        CountingHasher.computed = 0
        assert _client_auth(Client(), client_id, "not-the-secret").status_code == 401
        costs[name] = CountingHasher.computed
    assert costs["wrong secret"] >= 1
    assert costs["unknown id"] == costs["wrong secret"]


def test_failed_client_authentications_are_limited_per_address_before_any_hash(genesys_oidc_client, settings):
    settings.OIDC_TOKEN_AUTH_FAILURES_PER_IP = "3/m"
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    stranger = Client(REMOTE_ADDR="10.6.6.6")
    for i in range(3):
        assert _client_auth(stranger, f"guess-{i}", "x").status_code == 401
    CountingHasher.computed = 0
    refused = _client_auth(stranger, settings.GENESYS_OIDC_CLIENT_ID, settings.GENESYS_OIDC_CLIENT_SECRET)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["error"] == "slow_down"
    assert CountingHasher.computed == 0
    # Genesys, at its own address, is not affected.
    assert _client_auth(Client(REMOTE_ADDR="192.0.2.1"), settings.GENESYS_OIDC_CLIENT_ID, "wrong").status_code == 401


def test_failed_client_authentications_are_limited_per_client_id_from_any_address(genesys_oidc_client, settings):
    settings.OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT = "4/m"
    for i in range(4):
        assert _client_auth(Client(REMOTE_ADDR=f"10.7.0.{i}"), "ＧＥＮ", "x").status_code == 401
    assert _client_auth(Client(REMOTE_ADDR="10.7.1.1"), "ＧＥＮ", "x").status_code == 429
    client_id = settings.GENESYS_OIDC_CLIENT_ID
    body_auth = {"grant_type": "authorization_code", "code": "x", "client_id": client_id, "client_secret": "no"}
    for i in range(4):
        assert Client(REMOTE_ADDR=f"10.8.0.{i}").post("/o/token/", body_auth).status_code == 401
    assert _client_auth(Client(REMOTE_ADDR="10.8.1.1"), client_id, "still-wrong").status_code == 429


def test_successful_exchanges_never_spend_the_failure_budgets(alice, auth_code_for, settings):
    settings.OIDC_TOKEN_AUTH_FAILURES_PER_IP = "2/m"
    settings.OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT = "2/m"
    for _ in range(4):
        assert _exchange(Client(), auth_code_for(alice)).status_code == 200


def test_userinfo_takes_the_access_token_only_from_the_authorization_header(alice, auth_code_for):
    """Issue 21 (9): the query string and the form body were accepted too (tokens in URLs end up in logs)."""
    client = Client()
    access = _exchange(client, auth_code_for(alice)).json()["access_token"]
    assert client.get(f"/o/userinfo/?access_token={access}").status_code == 401
    assert client.post("/o/userinfo/", {"access_token": access}).status_code == 401
    assert client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200


def test_discovery_advertises_only_rs256_and_the_revocation_endpoint(client):
    document = client.get(DISCOVERY).json()
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["revocation_endpoint"] == "http://testserver/o/revoke_token/"


def test_the_revocation_endpoint_shares_the_failure_budgets(genesys_oidc_client, settings):
    settings.OIDC_TOKEN_AUTH_FAILURES_PER_IP = "2/m"
    stranger = Client(REMOTE_ADDR="10.6.6.7")
    header = _basic(settings.GENESYS_OIDC_CLIENT_ID, "wrong")
    statuses = [
        stranger.post("/o/revoke_token/", {"token": "x"}, HTTP_AUTHORIZATION=header).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    assert _client_auth(stranger, settings.GENESYS_OIDC_CLIENT_ID, "wrong").status_code == 429


def test_a_user_the_adapter_says_is_no_member_gets_no_code_and_a_member_does(
    alice, make_member, genesys_oidc_client, settings
):
    settings.GENESYS_MEMBER_ADAPTER = f"{__name__}.StaffAreNoMembers"
    body = {"codeChallenge": "c" * 43, "nonce": "n"}
    staff = Client()
    staff.force_login(make_member("staff", is_staff=True))
    refused = staff.post(AUTH_CODE_URL, body, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"] == "access_denied"
    member = Client()
    member.force_login(alice)
    answer = member.post(AUTH_CODE_URL, body, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["authCode"]
