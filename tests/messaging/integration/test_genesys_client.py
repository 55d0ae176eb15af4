"""The Genesys client and token service over real HTTP against the sandbox (the same code production runs; only
the base URLs differ). The token lives in the configured cache (Django's database cache by default, Redis with
REDIS_URL), hence the database fixture."""

import io
import logging
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import requests
import urllib3.util.retry
from django.core.management import CommandError, call_command

from messaging import processes
from messaging.genesys import oauth as oauth_module
from messaging.genesys.client import get_client
from messaging.genesys.errors import (
    GenesysAuthError,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysTokenError,
    GenesysUnavailable,
    InvalidAttributes,
)
from messaging.genesys.oauth import get_access_token, get_token_service, invalidate_token
from tests.clocks import ManualClock

CONVERSATION_ROUTE = "GET /api/v2/conversations/messages/{conversationId}"
ATTRIBUTES_ROUTE = "PATCH /api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes"
WRONG_SECRET = "wrong-secret-that-must-never-be-logged-5d1e"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_client(settings):
    # Short backoff keeps the retry tests quick; the real default (0.25 s) is exercised by the unit tests.
    settings.GENESYS_RETRY_BACKOFF_FACTOR = 0.05
    processes.reset()
    yield
    processes.reset()


@pytest.fixture
def retry_sleeps(monkeypatch) -> list[float]:
    """What urllib3's Retry slept between attempts, in order (it still sleeps: the waits are real)."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(urllib3.util.retry, "time", types.SimpleNamespace(time=time.time, sleep=sleep))
    return slept


@pytest.fixture
def conversation(sandbox):
    """A conversation started by a guest over the Guest API, as Messenger would."""
    return sandbox.start_conversation("Hello from a test", attributes={"memberId": "42", "isAuthenticated": "true"})


def _requests(sandbox, route: str) -> int:
    return sandbox.stats()["requests"].get(route, 0)


def test_token_is_fetched_once_and_reused(sandbox, conversation):
    first = get_access_token()
    assert get_access_token() == first
    client = get_client()
    for _ in range(5):
        client.get_message_conversation(conversation["id"])
    assert sandbox.stats()["tokens_issued"] == 1
    assert _requests(sandbox, CONVERSATION_ROUTE) == 5


def test_token_expires_and_is_renewed(sandbox, conversation, settings, monkeypatch):
    # A 120 s Token Duration and a 100 s margin: reused for 60 s (the margin never exceeds half the lifetime),
    # then renewed before Genesys would refuse it. The token service ages its token on the test's clock, so a
    # slow machine cannot age it (the cache keeps the entry for those 60 s of real time).
    clock = ManualClock(time.time())
    monkeypatch.setattr(oauth_module, "time", types.SimpleNamespace(time=clock.time, monotonic=time.monotonic))
    sandbox.configure(token_ttl=120)
    settings.GENESYS_TOKEN_EXPIRY_MARGIN = 100
    first = get_access_token()
    clock.advance(59)  # past the 20 s a whole margin would leave
    assert get_access_token() == first
    assert sandbox.stats()["tokens_issued"] == 1
    clock.advance(2)
    second = get_access_token()
    assert second != first
    assert sandbox.stats()["tokens_issued"] == 2
    get_client().get_message_conversation(conversation["id"])
    assert sandbox.stats()["tokens_issued"] == 2
    assert sandbox.stats()["responses"].get("401", 0) == 0


def test_revoked_token_gets_a_401_and_exactly_one_refetch(sandbox, conversation, caplog):
    client = get_client()
    client.get_message_conversation(conversation["id"])
    old = get_access_token()
    assert sandbox.revoke_all() == 1
    caplog.set_level(logging.INFO, logger="messaging.genesys.client")
    again = client.get_message_conversation(conversation["id"])
    assert again["id"] == conversation["id"]
    assert get_access_token() != old
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 2
    assert _requests(sandbox, CONVERSATION_ROUTE) == 3  # ok, 401, ok
    assert any("status=401" in r.getMessage() for r in caplog.records)


def test_a_401_that_persists_with_a_fresh_token_is_an_auth_error(sandbox, conversation):
    sandbox.faults(route=CONVERSATION_ROUTE, status=401)
    with pytest.raises(GenesysAuthError) as caught:
        get_client().get_message_conversation(conversation["id"])
    assert caught.value.status == 401 and caught.value.code == "bad.credentials"
    assert caught.value.correlation_id
    assert sandbox.stats()["tokens_issued"] == 2  # the first, and one refetch only
    assert _requests(sandbox, CONVERSATION_ROUTE) == 2


def test_wrong_secret_is_a_typed_error_that_never_shows_the_secret(sandbox, settings, caplog):
    settings.GENESYS_CLIENT_SECRET = WRONG_SECRET
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GenesysTokenError) as caught:
        get_access_token()
    error = caught.value
    assert error.code == "invalid_client" and error.status == 401 and not error.retryable
    assert WRONG_SECRET not in str(error) and WRONG_SECRET not in repr(error)
    with pytest.raises(GenesysTokenError):
        get_client().get_message_conversation("any")
    assert sandbox.stats()["tokens_issued"] == 0
    assert caplog.records, "the token calls are logged"
    assert all(WRONG_SECRET not in r.getMessage() for r in caplog.records)


def test_429_with_retry_after_is_honoured(sandbox, conversation, caplog, retry_sleeps):
    sandbox.faults(route="api", status=429, retry_after=1, count=1)
    caplog.set_level(logging.INFO, logger="messaging.genesys.client")
    started = time.monotonic()
    result = get_client().get_message_conversation(conversation["id"])
    elapsed = time.monotonic() - started
    assert result["id"] == conversation["id"]
    assert retry_sleeps == [1]  # Genesys' Retry-After, once, not the backoff (0.05 s here)
    assert elapsed >= 0.9
    assert _requests(sandbox, CONVERSATION_ROUTE) == 2
    line = next(r.getMessage() for r in caplog.records if CONVERSATION_ROUTE.split()[0] in r.getMessage())
    assert "status=200" in line and "attempts=2" in line


def test_a_long_retry_after_fails_fast_with_a_typed_error(sandbox, conversation, settings, retry_sleeps):
    settings.GENESYS_MAX_RETRY_WAIT = 10
    sandbox.faults(route="api", status=429, retry_after=3 * 3600)  # a daily limit
    with pytest.raises(GenesysRateLimited) as caught:
        get_client().get_message_conversation(conversation["id"])
    assert retry_sleeps == []  # not hours, not the 10 s budget: no wait at all
    error = caught.value
    assert error.retry_after == 3 * 3600 and error.retryable and error.status == 429
    assert error.code == "too.many.requests.retry.after" and error.correlation_id
    assert _requests(sandbox, CONVERSATION_ROUTE) == 1


def test_retry_waits_stop_at_the_total_budget(sandbox, conversation, settings, retry_sleeps):
    # Each Retry-After (2 s) is allowed, but not three of them within a 5 s budget.
    settings.GENESYS_MAX_RETRY_WAIT = 5
    settings.GENESYS_RETRY_TOTAL = 5
    sandbox.faults(route="api", status=429, retry_after=2)
    started = time.monotonic()
    with pytest.raises(GenesysRateLimited) as caught:
        get_client().get_message_conversation(conversation["id"])
    assert retry_sleeps == [2, 2]  # no third wait: it would pass the budget
    assert time.monotonic() - started >= 3.5
    assert caught.value.retry_after == 2
    assert _requests(sandbox, CONVERSATION_ROUTE) == 3


def test_the_sandboxs_own_rate_limit_is_a_typed_error(sandbox, conversation, settings):
    settings.GENESYS_MAX_RETRY_WAIT = 0.5
    sandbox.configure(rate_per_minute=2)
    client = get_client()
    client.get_message_conversation(conversation["id"])
    client.get_message_conversation(conversation["id"])
    with pytest.raises(GenesysRateLimited) as caught:
        client.get_message_conversation(conversation["id"])
    assert caught.value.retry_after and caught.value.retry_after > 0.5


def test_5xx_is_retried_then_succeeds(sandbox, conversation):
    sandbox.faults(route="api", status=503, count=2)
    assert get_client().get_message_conversation(conversation["id"])["id"] == conversation["id"]
    assert _requests(sandbox, CONVERSATION_ROUTE) == 3


def test_5xx_that_persists_is_unavailable(sandbox, conversation, settings):
    settings.GENESYS_RETRY_TOTAL = 2
    sandbox.faults(route="api", status=502)
    with pytest.raises(GenesysUnavailable) as caught:
        get_client().get_message_conversation(conversation["id"])
    assert caught.value.status == 502 and caught.value.retryable
    assert _requests(sandbox, CONVERSATION_ROUTE) == 3  # the call and two retries


def test_read_timeout_is_unavailable_quickly(sandbox, conversation, settings):
    settings.GENESYS_READ_TIMEOUT = 0.3
    get_access_token()
    sandbox.faults(route="api", latency_ms=1500)
    with pytest.raises(GenesysUnavailable) as caught:
        get_client().get_message_conversation(conversation["id"])
    # Each attempt was cut off by the 0.3 s timeout: waited out, the sandbox's 1.5 s would have answered 200.
    assert "Timeout" in str(caught.value)
    # Two attempts (a read error is retried once). The sandbox counts a request when it reads it, which a
    # loaded machine may do after the client gave up on it: wait for the count.
    sandbox.wait_for(lambda: _requests(sandbox, CONVERSATION_ROUTE) >= 2)
    assert _requests(sandbox, CONVERSATION_ROUTE) == 2


def test_unreachable_login_host_is_unavailable(sandbox, settings):
    settings.GENESYS_LOGIN_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(GenesysUnavailable):
        get_access_token()


def test_token_route_rate_limit_is_a_typed_error(sandbox, settings):
    settings.GENESYS_MAX_RETRY_WAIT = 1
    sandbox.faults(route="token", status=429, retry_after=600)
    with pytest.raises(GenesysRateLimited) as caught:
        get_access_token()
    assert caught.value.retry_after == 600


def test_non_string_attribute_is_rejected_before_any_request(sandbox, conversation):
    before = sandbox.stats()
    client = get_client()
    customer_id = next(p["id"] for p in conversation["participants"] if p["purpose"] == "customer")
    for bad in ({"verified": True}, {"level": 3}, {"memberId": None}):
        with pytest.raises(InvalidAttributes):
            client.patch_participant_attributes(conversation["id"], customer_id, bad)
    with pytest.raises(InvalidAttributes):
        client.patch_secure_attributes(conversation["id"], {"score": 1.5})
    after = sandbox.stats()
    assert after["requests"] == before["requests"]
    assert after["tokens_issued"] == 0


def test_get_conversation_find_customer_and_push_attributes(sandbox, conversation):
    client = get_client()
    fetched = client.get_message_conversation(conversation["id"])
    customer = client.customer_participant(fetched)
    assert customer["purpose"] == "customer"
    assert customer["attributes"]["memberId"] == "42"
    answer = client.patch_participant_attributes(
        conversation["id"], customer["id"], {"verified": "true", "membershipLevel": "Gold"}
    )
    assert answer == {"attributes": {"verified": "true", "membershipLevel": "Gold"}}
    seen = client.customer_participant(client.get_message_conversation(conversation["id"]))
    assert seen["attributes"]["verified"] == "true" and seen["attributes"]["memberId"] == "42"
    hook = sandbox.conversation(conversation["id"])
    assert hook["customerParticipantId"] == customer["id"]
    assert hook["attributes"]["verified"] == {"value": "true", "origin": "server"}
    assert hook["attributes"]["memberId"] == {"value": "42", "origin": "widget"}
    assert _requests(sandbox, ATTRIBUTES_ROUTE) == 1


def test_patch_is_retried_on_503(sandbox, conversation):
    sandbox.faults(route=ATTRIBUTES_ROUTE, status=503, count=1)
    client = get_client()
    customer_id = next(p["id"] for p in conversation["participants"] if p["purpose"] == "customer")
    client.patch_participant_attributes(conversation["id"], customer_id, {"verified": "true"})
    assert _requests(sandbox, ATTRIBUTES_ROUTE) == 2


def test_secure_attributes_patch_merges_and_answers_a_string(sandbox, conversation):
    client = get_client()
    first = client.patch_secure_attributes(conversation["id"], {"memberId": "42"})
    assert isinstance(first["entities"], str)  # Genesys answers PATCH with a plain string
    # PATCH does not use `version`: an old one merges all the same.
    client.patch_secure_attributes(conversation["id"], {"tier": "Gold"}, version=0)
    assert client.get_secure_attributes(conversation["id"]) == {
        "attributes": {"memberId": "42", "tier": "Gold"},
        "version": 2,
    }


def test_unknown_conversation_and_participant_are_not_found(sandbox, conversation):
    client = get_client()
    with pytest.raises(GenesysNotFound) as caught:
        client.get_message_conversation("00000000-0000-4000-8000-00000000dead")
    assert caught.value.status == 404 and caught.value.correlation_id
    with pytest.raises(GenesysNotFound):
        client.patch_participant_attributes(conversation["id"], "no-such-participant", {"a": "b"})


def test_logs_name_every_call_and_never_a_token_or_secret(sandbox, conversation, caplog, settings):
    caplog.set_level(logging.DEBUG)  # urllib3's and requests' own debug lines too
    client = get_client()
    fetched = client.get_message_conversation(conversation["id"])
    customer = client.customer_participant(fetched)
    client.patch_participant_attributes(conversation["id"], customer["id"], {"verified": "true"})
    sandbox.revoke_all()
    client.get_message_conversation(conversation["id"])
    token = get_access_token()
    secret = settings.GENESYS_CLIENT_SECRET
    ours = [r.getMessage() for r in caplog.records if r.name == "messaging.genesys.client"]
    assert any(line.startswith("genesys POST /oauth/token status=200") for line in ours)
    assert any(f"GET /api/v2/conversations/messages/{conversation['id']} status=200" in line for line in ours)
    assert any("PATCH " in line and "status=200" in line for line in ours)
    api_lines = [line for line in ours if "/api/v2/" in line]
    assert all("duration_ms=" in line and "attempts=" in line for line in api_lines)
    assert all("correlation_id=-" not in line for line in api_lines)  # the sandbox sends ININ-Correlation-Id
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything and secret not in everything
    assert "Bearer" not in everything and "Basic " not in everything


def test_invalidate_token_forces_a_new_one(sandbox):
    first = get_access_token()
    invalidate_token("not-the-current-token")
    assert get_access_token() == first
    invalidate_token(first)
    assert get_access_token() != first
    assert get_access_token(force_refresh=True) != first
    assert sandbox.stats()["tokens_issued"] == 3


def test_cache_key_names_host_and_client_never_the_secret(sandbox, settings):
    key = get_token_service().cache_key
    assert sandbox.url.split("//", 1)[1] in key and settings.GENESYS_CLIENT_ID in key
    assert settings.GENESYS_CLIENT_SECRET not in key


# --- manage.py genesys_check ---


def test_genesys_check_reports_region_hosts_and_token_lifetime(sandbox, settings):
    sandbox.configure(token_ttl=3600)
    out = io.StringIO()
    call_command("genesys_check", stdout=out)
    text = out.getvalue()
    assert "us-east-1 (mypurecloud.com)" in text
    assert f"api host:       {sandbox.url}" in text and f"login host:     {sandbox.url}" in text
    assert "lifetime:       3600 s" in text
    assert "Genesys check passed." in text
    assert settings.GENESYS_CLIENT_SECRET not in text
    assert sandbox.stats()["tokens_issued"] == 1
    get_access_token()  # the check stored its token for the site
    assert sandbox.stats()["tokens_issued"] == 1


def test_genesys_check_fails_in_plain_words_on_a_wrong_secret(sandbox, settings):
    settings.GENESYS_CLIENT_SECRET = WRONG_SECRET
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("genesys_check", stdout=out)
    assert "invalid_client" in str(caught.value)
    assert "Check GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET" in out.getvalue()
    assert WRONG_SECRET not in out.getvalue() + str(caught.value)


def test_genesys_check_fails_when_unconfigured(sandbox, settings):
    settings.GENESYS_CLIENT_ID = ""
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("genesys_check", stdout=out)
    assert "GENESYS_CLIENT_ID" in str(caught.value)
    assert sandbox.stats()["tokens_issued"] == 0


def test_genesys_check_reads_a_conversation(sandbox, conversation):
    out = io.StringIO()
    call_command("genesys_check", "--conversation", conversation["id"], stdout=out)
    assert "customer:" in out.getvalue()
    with pytest.raises(CommandError) as caught:
        call_command("genesys_check", "--conversation", "missing", stdout=io.StringIO())
    assert "GenesysNotFound" in str(caught.value)


def _genesys_check_process(sandbox, **env: str):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_"))}
    clean.update(GENESYS_API_BASE=sandbox.url, GENESYS_LOGIN_BASE=sandbox.url, GENESYS_APPS_BASE=sandbox.url, **env)
    return subprocess.run(
        [sys.executable, "manage.py", "genesys_check", "--no-store"],
        cwd=Path(__file__).resolve().parents[3],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_genesys_check_exit_codes_as_a_command(sandbox):
    ok = _genesys_check_process(sandbox)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Genesys check passed." in ok.stdout and "lifetime:       86400 s" in ok.stdout
    failed = _genesys_check_process(sandbox, GENESYS_SANDBOX="true", GENESYS_CLIENT_SECRET=WRONG_SECRET)
    assert failed.returncode != 0
    assert "invalid_client" in failed.stdout + failed.stderr
    assert WRONG_SECRET not in failed.stdout + failed.stderr


def test_a_netrc_default_entry_never_replaces_the_token(sandbox, conversation, tmp_path, monkeypatch):
    # requests gives a call without `auth` the credentials ~/.netrc has for its host, and a `default` entry
    # matches every host: the bearer token would become Basic someone:netrc-secret, sent to Genesys (a 401).
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    processes.reset()
    assert get_client().get_message_conversation(conversation["id"])["id"] == conversation["id"]
    prepared = get_client().session.prepare_request(
        requests.Request("GET", f"{sandbox.url}/api/v2/x", headers={"Authorization": "Bearer t"})
    )
    assert prepared.headers["Authorization"] == "Bearer t"
