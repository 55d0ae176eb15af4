"""OAuth and Platform API of the sandbox, over real HTTP, with Genesys' shapes (shared GENESYS.md)."""

import time
import uuid

import pytest

from sandbox import defaults

API = "/api/v2/conversations/messages"
ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}


def get_token(sandbox, http, **kwargs):
    kwargs.setdefault("auth", (defaults.CLIENT_ID, defaults.CLIENT_SECRET))
    kwargs.setdefault("data", {"grant_type": "client_credentials"})
    return http.post(f"{sandbox.url}/oauth/token", timeout=5, **kwargs)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert body["status"] == status and body["code"] == code
    assert body["contextId"] == response.headers["ININ-Correlation-Id"]
    return body


# --- OAuth -------------------------------------------------------------------------------------------------------


def test_token_with_client_credentials(sandbox, http):
    response = get_token(sandbox, http)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 86400 and len(body["access_token"]) > 20
    assert response.headers["Cache-Control"] == "no-store"
    assert sandbox.stats()["tokens_issued"] == 1


@pytest.mark.parametrize(
    "auth",
    [(defaults.CLIENT_ID, "wrong"), ("someone-else", defaults.CLIENT_SECRET), None],
    ids=["secret", "id", "none"],
)
def test_token_with_wrong_client_is_invalid_client(sandbox, http, auth):
    response = get_token(sandbox, http, auth=auth)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["description"] and body["error_description"] == body["description"]
    assert sandbox.stats()["tokens_issued"] == 0


@pytest.mark.parametrize("data", [{"grant_type": "password"}, {}], ids=["password", "missing"])
def test_token_with_wrong_grant_is_unsupported_grant_type(sandbox, http, data):
    response = get_token(sandbox, http, data=data)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_token_grant_must_be_a_form_body(sandbox, http):
    response = get_token(sandbox, http, data=None, json={"grant_type": "client_credentials"})
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_configured_ttl_expires_tokens(sandbox, http):
    # 3 s: the token must still be good for the first call, however slow the machine is to make it.
    sandbox.configure(token_ttl=3)
    asked = time.monotonic()
    token = get_token(sandbox, http).json()
    assert token["expires_in"] == 3
    assert http.get(f"{sandbox.url}{API}/{uuid.uuid4()}", headers=bearer(token["access_token"])).status_code == 404

    def refused():
        response = http.get(f"{sandbox.url}{API}/{uuid.uuid4()}", headers=bearer(token["access_token"]))
        return [response] if response.status_code != 404 else None  # a list: a 401 Response itself is falsy

    [response] = sandbox.wait_for(refused, timeout=30)
    assert time.monotonic() - asked >= 3  # not before its time (the sandbox issued it after we asked)
    body = assert_error(response, 401, "bad.credentials")
    assert body["message"] == "Invalid login credentials."


def test_client_credentials_follow_config(sandbox, http):
    sandbox.configure(client_id="other-id", client_secret="other-secret")
    assert get_token(sandbox, http).status_code == 401
    assert get_token(sandbox, http, auth=("other-id", "other-secret")).status_code == 200
    sandbox.reset()  # back to the start values
    assert get_token(sandbox, http).status_code == 200


# --- Platform API --------------------------------------------------------------------------------------------------


def test_api_needs_a_valid_bearer_token(sandbox, http):
    url = f"{sandbox.url}{API}/{uuid.uuid4()}"
    assert_error(http.get(url), 401, "bad.credentials")
    assert_error(http.get(url, headers=bearer("not-a-token")), 401, "bad.credentials")
    assert_error(http.get(url, headers={"Authorization": "Basic eDp5"}), 401, "bad.credentials")


def test_revoked_tokens_answer_401(sandbox, http):
    first, second = (get_token(sandbox, http).json()["access_token"] for _ in range(2))
    url = f"{sandbox.url}{API}/{uuid.uuid4()}"
    assert sandbox.revoke(first) == 1
    assert_error(http.get(url, headers=bearer(first)), 401, "bad.credentials")
    assert http.get(url, headers=bearer(second)).status_code == 404
    assert sandbox.revoke_all() == 1
    assert_error(http.get(url, headers=bearer(second)), 401, "bad.credentials")


def test_unknown_conversation_is_not_found_in_genesys_words(sandbox, http):
    token = sandbox.token()
    response = http.get(f"{sandbox.url}{API}/{uuid.uuid4()}", headers=bearer(token))
    body = assert_error(response, 404, "not.found")
    assert body["message"] == "The requested operation failed with status 404"


def test_get_conversation_answers_message_conversation(sandbox, http):
    created = sandbox.start_conversation("Hi", {"memberToken": "t0k", "isAuthenticated": "true"})
    response = http.get(f"{sandbox.url}{API}/{created['id']}", headers=bearer(sandbox.token()))
    assert response.status_code == 200
    assert response.headers["ININ-Correlation-Id"]
    body = response.json()
    assert body["id"] == created["id"]
    uuid.UUID(body["id"], version=4)
    purposes = [p["purpose"] for p in body["participants"]]
    assert purposes == ["customer", "acd"]
    customer = body["participants"][0]
    assert customer["attributes"] == {"memberToken": "t0k", "isAuthenticated": "true"}
    assert customer["type"] == "webmessaging" and customer["direction"] == "inbound"
    assert customer["state"] == "connected" and customer["authenticated"] is False
    for stamp in (customer["startTime"], customer["connectedTime"]):
        assert len(stamp) == 24 and stamp.endswith("Z") and stamp[19] == "."


def test_patch_attributes_merges_and_marks_server_origin(sandbox, http):
    created = sandbox.start_conversation("Hi", {"memberToken": "t0k", "membershipLevel": "Bronze"})
    customer_id = created["customerParticipantId"]
    url = f"{sandbox.url}{API}/{created['id']}/participants/{customer_id}/attributes"
    push = {"attributes": {"membershipLevel": "Gold", "verified": "true"}}
    response = http.patch(url, json=push, headers=bearer(sandbox.token()))
    assert response.status_code == 200, response.text
    assert response.json() == push
    seen = sandbox.conversation(created["id"])
    assert seen["attributes"] == {
        "memberToken": {"value": "t0k", "origin": "widget"},
        "membershipLevel": {"value": "Gold", "origin": "server"},
        "verified": {"value": "true", "origin": "server"},
    }
    assert seen["verified"] is True
    assert [p["attributes"] for p in seen["pushes"]] == [push["attributes"]]
    assert seen["pushes"][0]["participantId"] == customer_id


@pytest.mark.parametrize(
    "body",
    [{"attributes": {"verified": True}}, {"attributes": {"n": 1}}, {"attributes": ["x"]}, {"other": {}}, ["x"]],
    ids=["bool", "int", "list", "no-attributes", "not-object"],
)
def test_patch_rejects_what_is_not_str_to_str(sandbox, http, body):
    created = sandbox.start_conversation()
    url = f"{sandbox.url}{API}/{created['id']}/participants/{created['customerParticipantId']}/attributes"
    assert_error(http.patch(url, json=body, headers=bearer(sandbox.token())), 400, "bad.request")
    assert sandbox.conversation(created["id"])["pushes"] == []


def test_patch_needs_json(sandbox, http):
    created = sandbox.start_conversation()
    url = f"{sandbox.url}{API}/{created['id']}/participants/{created['customerParticipantId']}/attributes"
    response = http.patch(url, data="attributes=x", headers=bearer(sandbox.token()))
    assert_error(response, 415, "unsupported.media.type")


def test_patch_unknown_conversation_or_participant_is_not_found(sandbox, http):
    created = sandbox.start_conversation()
    token = sandbox.token()
    body = {"attributes": {"a": "b"}}
    unknown_conversation = f"{sandbox.url}{API}/{uuid.uuid4()}/participants/{uuid.uuid4()}/attributes"
    unknown_participant = f"{sandbox.url}{API}/{created['id']}/participants/{uuid.uuid4()}/attributes"
    assert_error(http.patch(unknown_conversation, json=body, headers=bearer(token)), 404, "not.found")
    assert_error(http.patch(unknown_participant, json=body, headers=bearer(token)), 404, "not.found")


def test_secure_attributes(sandbox, http):
    created = sandbox.start_conversation()
    url = f"{sandbox.url}/api/v2/conversations/{created['id']}/secureattributes"
    token = bearer(sandbox.token())
    assert http.get(url, headers=token).json() == {"attributes": {}, "version": 0}
    # PUT and PATCH answer a plain string, not the object (ConversationsApi.md).
    put = http.put(url, json={"attributes": {"a": "1"}}, headers=token)
    assert put.status_code == 200 and isinstance(put.json(), str)
    patched = http.patch(url, json={"attributes": {"b": "2"}, "version": 1}, headers=token)
    assert isinstance(patched.json(), str)
    # PATCH does not use `version`: a stale one merges all the same.
    stale = http.patch(url, json={"attributes": {"c": "3"}, "version": 0}, headers=token)
    assert stale.status_code == 200
    assert http.get(url, headers=token).json() == {"attributes": {"a": "1", "b": "2", "c": "3"}, "version": 3}
    assert_error(http.put(url, json={"attributes": {"c": 3}}, headers=token), 400, "bad.request")
    # Secure attributes are not participant attributes: the guest-visible customer is unchanged.
    assert "a" not in sandbox.conversation(created["id"])["attributes"]
    missing = f"{sandbox.url}/api/v2/conversations/{uuid.uuid4()}/secureattributes"
    assert_error(http.get(missing, headers=token), 404, "not.found")


def test_unknown_api_route_answers_genesys_404(sandbox, http):
    response = http.get(f"{sandbox.url}/api/v2/nothing/here", headers=bearer(sandbox.token()))
    assert_error(response, 404, "not.found")


# --- Rate limit ----------------------------------------------------------------------------------------------------


def test_rate_headers_and_429_per_token(sandbox, http):
    sandbox.configure(rate_per_minute=3)
    token, other = sandbox.token(), sandbox.token()
    url = f"{sandbox.url}{API}/{uuid.uuid4()}"
    counts = []
    for _ in range(3):
        response = http.get(url, headers=bearer(token))
        assert response.status_code == 404
        assert response.headers["inin-ratelimit-allowed"] == "3"
        assert 1 <= int(response.headers["inin-ratelimit-reset"]) <= 60
        counts.append(response.headers["inin-ratelimit-count"])
    assert counts == ["1", "2", "3"]
    limited = http.get(url, headers=bearer(token))
    body = assert_error(limited, 429, "too.many.requests.retry.after")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    # The budget is per token.
    assert http.get(url, headers=bearer(other)).status_code == 404
    stats = sandbox.stats()
    assert stats["responses_429"] == 1
    assert stats["requests"]["GET /api/v2/conversations/messages/{conversationId}"] == 5


def test_rate_headers_describe_the_bucket_that_applied(sandbox, http):
    """A route with a bucket of its own answers that bucket's figures; the others the token's (GENESYS.md)."""
    created = sandbox.start_conversation()
    secure = f"{sandbox.url}/api/v2/conversations/{created['id']}/secureattributes"
    conversation = f"{sandbox.url}{API}/{created['id']}"
    token = bearer(sandbox.token())
    assert sandbox.configure(rate_per_minute=300)["route_rate_limits"] == {
        "PUT /api/v2/conversations/{conversationId}/secureattributes": 180,
        "PATCH /api/v2/conversations/{conversationId}/secureattributes": 180,
    }
    first = http.get(conversation, headers=token)
    assert (first.headers["inin-ratelimit-allowed"], first.headers["inin-ratelimit-count"]) == ("300", "1")
    patched = http.patch(secure, json={"attributes": {"a": "1"}}, headers=token)
    assert (patched.headers["inin-ratelimit-allowed"], patched.headers["inin-ratelimit-count"]) == ("180", "1")
    # The PATCH counted in the token's bucket too.
    again = http.get(conversation, headers=token)
    assert (again.headers["inin-ratelimit-allowed"], again.headers["inin-ratelimit-count"]) == ("300", "3")
    # A full route bucket refuses that route only, and its 429 describes the route's bucket.
    sandbox.configure(route_rate_limits={"PATCH /api/v2/conversations/{conversationId}/secureattributes": 1})
    limited = http.patch(secure, json={"attributes": {"b": "2"}}, headers=token)
    body = assert_error(limited, 429, "too.many.requests.retry.after")
    assert limited.headers["inin-ratelimit-allowed"] == "1" and limited.headers["Retry-After"]
    assert body["message"].startswith("Rate limit exceeded the maximum. Retry the request in [")
    assert http.get(conversation, headers=token).headers["inin-ratelimit-count"] == "4"
