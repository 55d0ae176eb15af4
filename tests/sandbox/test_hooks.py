"""Test hooks of the sandbox: /_stats, /_reset, /_faults, /_config, /_conversations, /_tokens/revoke."""

import time
import uuid

import pytest
import simple_websocket

API_ROUTE = "GET /api/v2/conversations/messages/{conversationId}"


def test_stats_count_per_route_template_and_reset_empties_them(sandbox, http):
    token = sandbox.token()
    for _ in range(2):
        http.get(
            f"{sandbox.url}/api/v2/conversations/messages/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
        )
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"] == {"POST /oauth/token": 1, API_ROUTE: 2}
    assert {"responses_429", "data_action_calls"} <= set(stats)
    sandbox.reset()
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 0 and stats["requests"] == {} and stats["conversations"] == 0
    # Tokens did not survive the reset.
    response = http.get(f"{sandbox.url}/api/v2/conversations/messages/x", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_fault_on_api_with_retry_after_and_count(sandbox, http):
    token = sandbox.token()
    sandbox.faults(route="api", status=503, retry_after=2, count=2)
    url = f"{sandbox.url}/api/v2/conversations/messages/{uuid.uuid4()}"
    answers = [http.get(url, headers={"Authorization": f"Bearer {token}"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 404]
    assert answers[0].headers["Retry-After"] == "2"
    body = answers[0].json()
    assert body["code"] == "service.unavailable" and body["status"] == 503
    assert body["contextId"] == answers[0].headers["ININ-Correlation-Id"]
    stats = sandbox.stats()
    assert stats["faults_injected"] == 2 and stats["requests"][API_ROUTE] == 3


def test_fault_429_always_carries_retry_after(sandbox, http):
    sandbox.faults(route="token", status=429)
    response = http.post(f"{sandbox.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=("a", "b"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["code"] == "too.many.requests.retry.after"
    assert response.json()["message"] == "Rate limit exceeded the maximum. Retry the request in [1] seconds"
    assert sandbox.stats()["responses_429"] == 1


def test_fault_on_exact_route_and_ratio(sandbox, http):
    token = sandbox.token()
    sandbox.faults(
        route="PATCH /api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes",
        status=500,
    )
    sandbox.faults(route="token", status=502, ratio=0)
    # The GET is not the faulted route; the token fault never fires (ratio 0).
    url = f"{sandbox.url}/api/v2/conversations/messages/{uuid.uuid4()}"
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert sandbox.token()
    patch = http.patch(
        f"{url}/participants/p/attributes", json={"attributes": {}}, headers={"Authorization": f"Bearer {token}"}
    )
    assert patch.status_code == 500 and patch.json()["code"] == "internal.server.error"


def test_fault_latency(sandbox, http):
    sandbox.faults(route="token", latency_ms=300)
    started = time.monotonic()
    assert sandbox.token()
    assert time.monotonic() - started >= 0.3
    sandbox.clear_faults()
    assert http.get(f"{sandbox.url}/_faults").json() == {"faults": []}


def test_fault_validation_and_clear(sandbox, http):
    bad = http.post(f"{sandbox.url}/_faults", json={"route": "api", "status": 99})
    assert bad.status_code == 400
    assert http.post(f"{sandbox.url}/_faults", json={"faults": [{"status": 503}, {"route": "token", "status": 500}]}).ok
    assert len(http.get(f"{sandbox.url}/_faults").json()["faults"]) == 2
    assert http.post(f"{sandbox.url}/_faults", json={"clear": True}).json() == {"faults": []}


def test_config_hook_takes_route_buckets_and_the_clear_switch(sandbox, http):
    route = "GET /api/v2/conversations/messages/{conversationId}"
    assert sandbox.configure(route_rate_limits={route: 5})["route_rate_limits"] == {route: 5}
    assert http.post(f"{sandbox.url}/_config", json={"route_rate_limits": {route: "5"}}).status_code == 400
    assert http.get(f"{sandbox.url}/_config").json()["conversation_clear_enabled"] is True
    assert sandbox.configure(conversation_clear_enabled=False)["conversation_clear_enabled"] is False


def test_config_hook_validates_and_reset_restores(sandbox, http):
    assert sandbox.configure(rate_per_minute=7)["rate_per_minute"] == 7
    assert http.post(f"{sandbox.url}/_config", json={"rate_per_minute": "7"}).status_code == 400
    assert http.post(f"{sandbox.url}/_config", json={"nope": 1}).status_code == 400
    config = http.get(f"{sandbox.url}/_config").json()
    assert config["client_secret"] == "***" and config["data_action_password"] == "***"
    sandbox.reset()
    assert http.get(f"{sandbox.url}/_config").json()["rate_per_minute"] == 300


def test_conversations_hook_filters_by_id(sandbox):
    first = sandbox.start_conversation("one", {"a": "1"})
    second = sandbox.start_conversation("two", {"b": "2"})
    assert [c["id"] for c in sandbox.conversations()] == [first["id"], second["id"]]
    assert sandbox.conversation(second["id"])["attributes"] == {"b": {"value": "2", "origin": "widget"}}
    assert sandbox.conversation(str(uuid.uuid4())) is None


def test_revoke_hook_needs_a_target(sandbox, http):
    assert http.post(f"{sandbox.url}/_tokens/revoke", json={}).status_code == 400


def test_hooks_are_not_counted(sandbox):
    sandbox.stats()
    sandbox.conversations()
    assert sandbox.stats()["requests"] == {}


def test_other_origins_may_not_change_the_sandbox(sandbox, http):
    foreign = {"Origin": "http://evil.example"}
    assert http.post(f"{sandbox.url}/_reset", headers=foreign).status_code == 403
    assert http.post(f"{sandbox.url}/_config", json={"flow_enabled": False}, headers=foreign).status_code == 403
    assert http.get(f"{sandbox.url}/_stats", headers=foreign).status_code == 200  # reading is harmless (no CORS)
    assert "Access-Control-Allow-Origin" not in http.get(f"{sandbox.url}/_conversations", headers=foreign).headers
    assert http.post(f"{sandbox.url}/_reset", headers={"Origin": sandbox.url}).status_code == 200


def test_fault_on_the_guest_socket_refuses_the_upgrade(sandbox):
    sandbox.faults(route="GET /v1", status=503, count=1)
    with pytest.raises(simple_websocket.ConnectionError):
        sandbox.guest()
    guest = sandbox.guest()
    assert guest.configure()["code"] == 200
    guest.close()


def test_conversations_hook_creates_a_conversation_with_widget_attributes(sandbox, http):
    sandbox.configure(flow_enabled=False)
    response = http.post(f"{sandbox.url}/_conversations", json={"attributes": {"memberId": "m-1"}, "text": "Hi"})
    assert response.status_code == 201
    created = response.json()
    conversation = sandbox.conversation(created["id"])
    customer = next(p for p in conversation["participants"] if p["purpose"] == "customer")
    assert customer["id"] == created["customerId"]
    assert customer["attributes"]["memberId"] == "m-1"
    assert customer["attributeOrigins"]["memberId"] == "widget"
    assert conversation["dataActionCalls"] == []
    bad = http.post(f"{sandbox.url}/_conversations", json={"attributes": {"n": 1}})
    assert bad.status_code == 400 and "attributes" in bad.json()["error"]
