"""The product's own code paths record what /metrics shows: a real verify against the sandbox moves the verify,
Genesys-call, token and pacing series; a refused call counts as refused; a Redis outage counts fallbacks."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client
from prometheus_client import REGISTRY

from tests.data_action import post, verify
from tests.fixtures.redis_outage import resilient_caches_at

pytestmark = pytest.mark.django_db(transaction=True)

CONVERSATION_ROUTE = "/api/v2/conversations/messages/{id}"
ATTRIBUTES_ROUTE = "/api/v2/conversations/messages/{id}/participants/{id}/attributes"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_verify_through_the_endpoint_records_its_calls(genesys, alice, member_token):
    before = {
        "verified": value("messaging_verify_requests_total", outcome="verified"),
        "get": value("messaging_genesys_requests_total", route=CONVERSATION_ROUTE, status="200"),
        "patch": value("messaging_genesys_requests_total", route=ATTRIBUTES_ROUTE, status="200"),
        "issued": value("messaging_oauth_token_requests_total", outcome="issued"),
        "paced": value("messaging_pacing_wait_seconds_count"),
        "delivered": value("messaging_pushes_finished_total", state="delivered"),
        "latency": value("messaging_push_latency_seconds_count"),
    }
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    assert verify(cid, token)["verified"] == "true"
    assert value("messaging_verify_requests_total", outcome="verified") == before["verified"] + 1
    assert value("messaging_genesys_requests_total", route=CONVERSATION_ROUTE, status="200") == before["get"] + 1
    assert value("messaging_genesys_requests_total", route=ATTRIBUTES_ROUTE, status="200") == before["patch"] + 1
    assert value("messaging_oauth_token_requests_total", outcome="issued") == before["issued"] + 1  # cold cache
    assert value("messaging_pacing_wait_seconds_count") == before["paced"] + 2  # the GET and the PATCH
    assert value("messaging_pushes_finished_total", state="delivered") == before["delivered"] + 1
    assert value("messaging_push_latency_seconds_count") == before["latency"] + 1


def test_a_push_that_fails_for_good_and_one_overtaken_are_counted(genesys, alice, member_token):
    from accounts.models import MembershipLevel
    from messaging.models import AttributePush
    from sandbox.launcher import PATCH_ROUTE

    before_failed = value("messaging_pushes_finished_total", state="failed")
    before_superseded = value("messaging_pushes_finished_total", state="superseded")
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    genesys.faults(route=PATCH_ROUTE, status=400, ratio=1)  # a bad request is final
    verify(cid, token)
    assert AttributePush.objects.get().state == "failed"
    assert value("messaging_pushes_finished_total", state="failed") == before_failed + 1
    genesys.clear_faults()
    profile = alice.member_profile
    profile.level = MembershipLevel.objects.get(name="Platinum")
    profile.save()  # a new version with the new level: the failed one is superseded
    assert value("messaging_pushes_finished_total", state="superseded") == before_superseded + 1


def test_a_refused_call_counts_as_refused(genesys):
    before = value("messaging_verify_requests_total", outcome="refused")
    assert post(Client(), {"conversationId": "x"}, auth="Basic d3Jvbmc6d3Jvbmc=").status_code == 401
    assert value("messaging_verify_requests_total", outcome="refused") == before + 1


def test_a_wrong_client_secret_counts_as_a_refused_grant(genesys, alice, member_token, settings):
    from messaging import processes

    settings.GENESYS_CLIENT_SECRET = "not-the-secret"
    processes.reset()
    before = value("messaging_oauth_token_requests_total", outcome="refused")
    token = member_token(alice)
    cid = genesys.start_conversation(attributes={"memberToken": token})["id"]
    verify(cid, token)
    assert value("messaging_oauth_token_requests_total", outcome="refused") > before


def test_the_redis_fallback_is_counted(settings, unreachable_redis_url):
    settings.CACHES = resilient_caches_at(unreachable_redis_url, prefix="wiring")
    before = value("site_cache_fallbacks_total")
    cache = caches["default"]
    cache.set("k", "v")
    assert cache.get("k") == "v"
    assert value("site_cache_fallbacks_total") == before + 2


def test_every_response_is_counted_by_status_class(client):
    before = {cls: value("messaging_http_responses_total", status_class=cls) for cls in ("2xx", "4xx")}
    assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    assert value("messaging_http_responses_total", status_class="2xx") == before["2xx"] + 1
    assert value("messaging_http_responses_total", status_class="4xx") == before["4xx"] + 1
