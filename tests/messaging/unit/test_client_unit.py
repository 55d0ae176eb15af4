"""The Genesys client and token service without the sandbox: validation, error mapping, the Retry budget and the
cache lock (on a local-memory cache, with the HTTP fetch replaced)."""

import io
import json
import logging
import os
import threading
import time

import pytest
import requests
from django.core.cache.backends.locmem import LocMemCache
from urllib3.exceptions import MaxRetryError
from urllib3.response import HTTPResponse

from messaging import processes
from messaging.genesys import client as client_module
from messaging.genesys import oauth as tokens_module
from messaging.genesys.client import GenesysClient, validate_attributes
from messaging.genesys.errors import (
    GenesysAuthError,
    GenesysBadRequest,
    GenesysConfigurationError,
    GenesysError,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysTokenError,
    GenesysTokenLockTimeout,
    GenesysUnavailable,
    InvalidAttributes,
)
from messaging.genesys.http import CappedRetry, build_retry, build_session, retry_after_seconds
from messaging.genesys.oauth import AccessToken, TokenService, safety_margin
from messaging.genesys.pool import SingleToken
from tests.clocks import ManualClock

SECRET = "unit-secret-do-not-leak-7f3a"
TOKEN = "unit-token-do-not-leak-91bc"


@pytest.fixture(autouse=True)
def _genesys_settings(settings):
    settings.GENESYS_CLIENT_ID = "unit-client"
    settings.GENESYS_CLIENT_SECRET = SECRET
    settings.GENESYS_LOGIN_BASE = "https://login.example.test"
    settings.GENESYS_API_BASE = "https://api.example.test"
    settings.GENESYS_TOKEN_LOCK_TIMEOUT = 5
    yield
    processes.reset()


@pytest.fixture
def locmem():
    cache = LocMemCache(f"unit-{time.monotonic_ns()}", {})
    yield cache
    cache.clear()


class CountingService(TokenService):
    """A TokenService whose HTTP fetch is replaced by a counter (and an optional delay or failure)."""

    def __init__(self, *, delay: float = 0.0, fail: GenesysError | None = None, expires_in: int = 3600, **kw):
        super().__init__(**kw)
        self.delay, self.fail, self.expires_in = delay, fail, expires_in
        self.fetches = 0
        self._count_lock = threading.Lock()

    def fetch(self) -> AccessToken:
        with self._count_lock:
            self.fetches += 1
            n = self.fetches
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        now = time.time()
        return AccessToken(f"{TOKEN}-{n}", self.expires_in, now, now + self.expires_in - 1)


def _response(status: int, body=None, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    response.headers.update(headers or {})
    response.headers.setdefault("Content-Type", "application/json")
    return response


# --- attributes ---


def test_validate_attributes_accepts_strings():
    assert validate_attributes({"verified": "true", "memberId": "42"}) == {"verified": "true", "memberId": "42"}


@pytest.mark.parametrize(
    "attributes",
    [{"verified": True}, {"memberId": 42}, {"x": None}, {"nested": {"a": "b"}}, {1: "one"}, {"": "empty"}, ["a"]],
)
def test_validate_attributes_rejects_non_strings(attributes):
    with pytest.raises(InvalidAttributes):
        validate_attributes(attributes)


def test_invalid_attribute_error_names_the_key_not_the_value():
    with pytest.raises(InvalidAttributes) as caught:
        validate_attributes({"email": "a@example.com", "score": 98765})
    assert "'score' is int" in str(caught.value)
    assert "98765" not in str(caught.value)


class _Untouchable:
    def get_token(self, force_refresh: bool = False) -> str:
        raise AssertionError("a token was requested for attributes that must be refused first")

    def invalidate(self, token: str | None = None) -> None:
        raise AssertionError("unexpected")


def test_non_string_attribute_is_refused_before_any_token_or_request(monkeypatch):
    client = GenesysClient(tokens=SingleToken(_Untouchable()))
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", lambda *a, **k: pytest.fail("a request was sent"))
    with pytest.raises(InvalidAttributes):
        client.patch_participant_attributes("c1", "p1", {"verified": True})
    with pytest.raises(InvalidAttributes):
        client.patch_secure_attributes("c1", {"level": 3})


# --- customer participant ---


def test_customer_participant_prefers_the_connected_customer():
    conversation = {
        "id": "c1",
        "participants": [
            {"id": "old", "purpose": "customer", "state": "disconnected", "endTime": "2026-01-01T00:00:00.000Z"},
            {"id": "agent", "purpose": "agent", "state": "connected"},
            {"id": "now", "purpose": "customer", "state": "connected"},
        ],
    }
    assert GenesysClient(tokens=SingleToken(_Untouchable())).customer_participant(conversation)["id"] == "now"


def test_customer_participant_missing_is_not_found():
    conversation = {"id": "c1", "participants": [{"id": "a", "purpose": "agent"}]}
    with pytest.raises(GenesysNotFound):
        GenesysClient(tokens=SingleToken(_Untouchable())).customer_participant(conversation)
    with pytest.raises(GenesysNotFound):
        GenesysClient(tokens=SingleToken(_Untouchable())).customer_participant({"id": "c2"})


# --- API error mapping ---


@pytest.mark.parametrize(
    "status,headers,expected",
    [
        (400, {}, GenesysBadRequest),
        (409, {}, GenesysBadRequest),
        (413, {}, GenesysBadRequest),
        (401, {}, GenesysAuthError),
        (403, {}, GenesysAuthError),
        (404, {}, GenesysNotFound),
        (429, {"Retry-After": "3600"}, GenesysRateLimited),
        (500, {}, GenesysUnavailable),
        (503, {}, GenesysUnavailable),
    ],
)
def test_api_statuses_map_to_typed_errors(status, headers, expected):
    body = {"message": "nope", "code": "some.code", "status": status}
    response = _response(status, body, {"ININ-Correlation-Id": "corr-1", **headers})
    with pytest.raises(expected) as caught:
        client_module._result(response, "GET", "/api/v2/conversations/messages/c1")
    error = caught.value
    assert error.status == status and error.code == "some.code" and error.correlation_id == "corr-1"
    if expected is GenesysRateLimited:
        assert error.retry_after == 3600 and error.retryable


def test_success_returns_the_json_body():
    assert client_module._result(_response(200, {"id": "c1"}), "GET", "/x") == {"id": "c1"}
    assert client_module._result(_response(204), "PATCH", "/x") == {}


# --- token endpoint answers ---


def test_token_invalid_client_is_a_typed_error_without_the_secret():
    service = TokenService()
    # A stand-in (or a proxy) that echoes the secret must not get it into our message.
    body = {"error": "invalid_client", "description": f"bad secret {SECRET}", "error_description": f"x {SECRET}"}
    with pytest.raises(GenesysTokenError) as caught:
        service._parse(_response(401, body), SECRET)
    error = caught.value
    assert error.code == "invalid_client" and error.status == 401 and not error.retryable
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert "GENESYS_CLIENT_SECRET" in str(error)


def test_token_answers_map_to_typed_errors():
    service = TokenService()
    with pytest.raises(GenesysRateLimited) as limited:
        service._parse(_response(429, {"error": "too_many"}, {"Retry-After": "30"}), SECRET)
    assert limited.value.retry_after == 30
    with pytest.raises(GenesysUnavailable):
        service._parse(_response(503, {}), SECRET)
    with pytest.raises(GenesysTokenError) as bad:
        service._parse(_response(200, {"access_token": TOKEN}), SECRET)
    assert bad.value.code == "invalid_response"


def test_token_success_keeps_expiry_minus_margin(settings):
    settings.GENESYS_TOKEN_EXPIRY_MARGIN = 60
    entry = TokenService()._parse(_response(200, {"access_token": TOKEN, "expires_in": 86400}), SECRET)
    assert entry.expires_in == 86400
    assert entry.cache_seconds == 86400 - 60
    assert TOKEN not in repr(entry)


def test_safety_margin_never_exceeds_half_the_lifetime():
    assert safety_margin(86400, 60) == 60
    assert safety_margin(300, 60) == 60
    assert safety_margin(2, 60) == 1


def test_access_token_survives_the_cache_round_trip():
    entry = AccessToken(TOKEN, 100, 1000.0, 1050.0)
    assert AccessToken.from_cache(entry.to_cache()) == entry
    assert AccessToken.from_cache("garbage") is None
    assert AccessToken.from_cache({"access_token": "x"}) is None


# --- the token service's cache and lock ---


def test_cache_key_names_login_host_client_and_slot_never_the_secret():
    assert TokenService().cache_key == "genesys:token:login.example.test:unit-client:0"
    assert TokenService(slot=3).cache_key.endswith(":3")
    assert SECRET not in TokenService().cache_key + TokenService().lock_key + TokenService().error_key


def test_token_is_reused_until_it_expires(locmem):
    service = CountingService(cache=locmem)
    first = service.get_token()
    assert service.get_token() == first
    assert service.fetches == 1
    # Past its validity the cached entry is ignored even if the cache still holds it.
    entry = AccessToken.from_cache(locmem.get(service.cache_key))
    locmem.set(service.cache_key, {**entry.to_cache(), "valid_until": time.time() - 1})
    assert service.get_token() != first
    assert service.fetches == 2


def test_force_refresh_fetches_a_new_token(locmem):
    service = CountingService(cache=locmem)
    first = service.get_token()
    assert service.get_token(force_refresh=True) != first
    assert service.fetches == 2


def test_invalidate_drops_only_the_named_token(locmem):
    service = CountingService(cache=locmem)
    current = service.get_token()
    service.invalidate("some-older-token")  # another process already replaced the one that failed
    assert service.get_token() == current and service.fetches == 1
    service.invalidate(current)
    assert service.get_token() != current and service.fetches == 2


def test_many_threads_cause_one_fetch(locmem):
    service = CountingService(cache=locmem, delay=0.3)
    barrier = threading.Barrier(16)
    results: list[str] = []

    def worker():
        barrier.wait()
        results.append(service.get_token())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert service.fetches == 1
    assert len(results) == 16 and len(set(results)) == 1


def test_waiters_give_up_with_a_retryable_typed_error(locmem, settings, monkeypatch):
    settings.GENESYS_TOKEN_LOCK_TIMEOUT = 0.3
    clock = ManualClock()  # the waiter's polling sleeps and deadline, on the test's clock
    monkeypatch.setattr(tokens_module, "time", clock)
    service = CountingService(cache=locmem)
    locmem.add(service.lock_key, "someone-else", timeout=30)  # a holder that never finishes
    started = clock.now
    with pytest.raises(GenesysTokenLockTimeout) as caught:
        service.get_token()
    # Gave up at the lock timeout (0.3 s), within one poll (at most 0.1 s) of it: not the fixture's 5 s.
    assert 0.3 <= clock.now - started < 0.3 + 2 * tokens_module.POLL_INTERVAL
    assert isinstance(caught.value, GenesysUnavailable) and isinstance(caught.value, GenesysTokenError)
    assert caught.value.retryable and caught.value.code == "token_lock_timeout"
    assert service.fetches == 0


def test_a_dead_holders_lock_expires_and_a_waiter_takes_over(locmem, settings):
    # The cache forgets the lock after 1 s of real time; a waiter would give up after 30 s (a slow machine's
    # polling must not reach that first; a lock that never expired would).
    settings.GENESYS_TOKEN_LOCK_TIMEOUT = 30
    service = CountingService(cache=locmem)
    locmem.add(service.lock_key, "crashed-process", timeout=1)
    assert service.get_token().startswith(TOKEN)
    assert service.fetches == 1


def test_waiters_share_the_holders_failure_instead_of_retrying_it(locmem):
    failure = GenesysTokenError("Genesys refused the token request (HTTP 401, invalid_client).", code="invalid_client")
    service = CountingService(cache=locmem, delay=0.3, fail=failure)
    barrier = threading.Barrier(8)
    errors: list[Exception] = []

    def worker():
        barrier.wait()
        try:
            service.get_token()
        except GenesysError as error:
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert service.fetches == 1
    assert len(errors) == 8
    assert all(isinstance(e, GenesysTokenError) and e.code == "invalid_client" for e in errors)
    assert locmem.get(service.lock_key) is None  # released


def test_unconfigured_client_is_a_configuration_error(settings, locmem):
    settings.GENESYS_CLIENT_SECRET = ""
    with pytest.raises(GenesysConfigurationError):
        TokenService(cache=locmem).get_token()


# --- the Retry budget ---


def _urllib3_response(status: int, retry_after: str | None = None) -> HTTPResponse:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return HTTPResponse(body=b"", headers=headers, status=status, preload_content=False)


def test_retry_honours_a_short_retry_after_and_counts_it():
    retry = build_retry(total=3, max_wait=10)
    following = retry.increment("GET", "/x", response=_urllib3_response(429, "2"))
    assert isinstance(following, CappedRetry)
    assert following.waited == 2 and following.max_wait == 10


def test_retry_stops_at_once_on_a_retry_after_beyond_the_cap():
    retry = build_retry(total=3, max_wait=10)
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=_urllib3_response(429, str(6 * 3600)))


def test_retry_budget_is_for_the_whole_call():
    retry = build_retry(total=5, max_wait=10)
    retry = retry.increment("GET", "/x", response=_urllib3_response(429, "6"))
    with pytest.raises(MaxRetryError):  # 6 + 6 > 10
        retry.increment("GET", "/x", response=_urllib3_response(429, "6"))


def test_retry_covers_the_statuses_and_methods_of_the_brief():
    retry = build_retry(total=3, max_wait=10)
    for status in (429, 502, 503, 504):
        assert retry.is_retry("PATCH", status) and retry.is_retry("GET", status)
    assert not retry.is_retry("GET", 500)
    assert not retry.is_retry("POST", 503)  # only the token service adds POST
    assert not retry.raise_on_status


# --- logs ---


def test_log_lines_carry_method_route_status_and_correlation_never_the_token(caplog):
    from messaging.genesys.http import log_call

    caplog.set_level(logging.DEBUG)
    response = _response(200, {}, {"ININ-Correlation-Id": "corr-42"})
    log_call("GET", "/api/v2/conversations/messages/c1", status=200, started=time.monotonic(), response=response)
    line = caplog.records[-1].getMessage()
    assert "GET /api/v2/conversations/messages/c1" in line
    assert "status=200" in line and "correlation_id=corr-42" in line and "attempts=1" in line
    assert "duration_ms=" in line
    assert caplog.records[-1].name == "messaging.genesys.client"


def test_get_client_is_process_wide_and_resettable():
    first = client_module.get_client()
    assert client_module.get_client() is first
    assert first.session is first.session  # one pooled Session
    processes.reset()
    assert client_module.get_client() is not first


def test_token_module_accessors(monkeypatch, locmem):
    service = CountingService(cache=locmem)
    monkeypatch.setattr(tokens_module, "get_token_service", lambda slot=0: service)
    token = tokens_module.get_access_token()
    assert tokens_module.get_access_token() == token
    tokens_module.invalidate_token(token)
    assert tokens_module.get_access_token() != token
    assert service.fetches == 2


def test_session_follows_retry_settings(settings):
    from messaging.genesys.http import PooledSession

    pooled = PooledSession()
    session = pooled.get()
    assert session.get_adapter("https://api.example.test").max_retries.max_wait == 10
    settings.GENESYS_MAX_RETRY_WAIT = 3
    settings.GENESYS_RETRY_TOTAL = 1
    assert pooled.get() is session  # same pooled connections, new Retry
    retry = session.get_adapter("https://api.example.test").max_retries
    assert retry.max_wait == 3 and retry.total == 1


def test_a_forked_child_builds_its_own_client_and_session(monkeypatch):
    client = client_module.get_client()
    session = client.session
    pool = client.tokens
    real_pid = os.getpid()
    monkeypatch.setattr("messaging.processes.os.getpid", lambda: real_pid + 1)
    child = client_module.get_client()
    assert child is not client and child.session is not session  # a forked child never shares the parent's sockets
    assert child.tokens is not pool  # nor its token services and limiter
    assert client_module.get_client() is child


def test_session_refuses_cookies_and_sends_json_headers():
    session = GenesysClient(tokens=SingleToken(_Untouchable())).session
    assert session.headers["Accept"] == "application/json"
    assert "member-messaging" in session.headers["User-Agent"]
    assert session.cookies.get_policy().allowed_domains() == ()


class _RecordingAdapter(requests.adapters.HTTPAdapter):
    """Answers 200 {"ok": true} without a network, keeping what it was asked to send."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[requests.PreparedRequest, dict]] = []

    def send(self, request, **kwargs):
        self.sent.append((request, kwargs))
        raw = HTTPResponse(
            body=io.BytesIO(b'{"ok": true}'),
            headers={"Content-Type": "application/json"},
            status=200,
            preload_content=False,
        )
        return self.build_response(request, raw)


def test_an_api_call_carries_its_token_and_json_through_the_environments_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    session = build_session(build_retry(total=0, max_wait=0, backoff_factor=0, allowed_methods={"GET"}))
    adapter = _RecordingAdapter()
    session.mount("https://", adapter)
    url = "https://api.example.test/api/v2/conversations/c%2F1/participants/p1/attributes"
    response = session.request(
        "PATCH", url, headers={"Authorization": "Bearer t"}, json={"attributes": {"a": "é"}}, timeout=(3, 10)
    )
    assert response.status_code == 200 and response.json() == {"ok": True}
    prepared, kwargs = adapter.sent[0]
    assert (prepared.method, prepared.url) == ("PATCH", url)
    assert prepared.headers["Authorization"] == "Bearer t" and prepared.headers["Accept"] == "application/json"
    assert "member-messaging" in prepared.headers["User-Agent"]
    assert json.loads(prepared.body) == {"attributes": {"a": "é"}}
    assert kwargs["timeout"] == (3, 10) and kwargs["proxies"]["https"] == "http://proxy.example.test:3128"


@pytest.mark.parametrize(
    ("header", "seconds"), [("2", 2.0), ("0.5", 0.5), ("inf", None), ("nan", None), ("soon", None), (None, None)]
)
def test_retry_after_is_a_finite_number_of_seconds_or_nothing(header, seconds):
    response = requests.Response()
    if header is not None:
        response.headers["Retry-After"] = header
    assert retry_after_seconds(response) == seconds
