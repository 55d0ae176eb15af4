"""HTTP plumbing shared by the token service and the API client: a pooled `requests.Session` whose adapter
retries with urllib3's `Retry`, capped so that no call ever sleeps longer than MAX_RETRY_WAIT in total.

Why a Retry subclass: urllib3's own `retry_after_max` *clamps* a long Retry-After (it would sleep 6 hours
at most); Genesys answers some daily limits with a Retry-After of hours, and a web worker must not block on
that. `CappedRetry` instead stops retrying when the next wait would exceed the budget, and hands the 429/5xx
response back (raise_on_status=False) for the caller to turn into a typed error.
"""

from __future__ import annotations

import http.cookiejar
import logging
import threading
import time
from collections.abc import Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ReadTimeoutError, ResponseError
from urllib3.util.retry import Retry

from ..app_settings import app_settings
from .ratelimit_headers import header_number

logger = logging.getLogger("messaging.genesys.client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Attribute PATCH/PUT are idempotent (the same body sets the same values), so they are retried like GET.
API_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
USER_AGENT = "member-messaging/0.1 (+requests)"
CORRELATION_HEADER = "ININ-Correlation-Id"


class CappedRetry(Retry):
    """urllib3 `Retry` with a budget for the time slept across all retries of one call.

    `max_wait`: the longest total sleep (Retry-After or backoff) one call may spend; a single Retry-After above
    it stops the retries at once. `waited` carries what was already slept through `new()`, since urllib3 makes
    a new Retry object per attempt.
    """

    def __init__(self, *args: Any, max_wait: float = 10.0, waited: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_wait = max_wait
        self.waited = waited

    def new(self, **kw: Any) -> CappedRetry:
        kw.setdefault("max_wait", self.max_wait)
        kw.setdefault("waited", self.waited)
        return super().new(**kw)

    def planned_wait(self, response: Any | None) -> float:
        """What `sleep()` will sleep before the next attempt (mirrors urllib3's own choice)."""
        if response is not None and self.respect_retry_after_header:
            try:
                retry_after = self.get_retry_after(response)
            except InvalidHeader:
                # An unreadable Retry-After: treat as "too long", the caller reports the 429.
                return float("inf")
            if retry_after:
                return float(retry_after)
        return self.get_backoff_time()

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any | None = None,
        error: Exception | None = None,
        _pool: Any | None = None,
        _stacktrace: Any | None = None,
    ) -> CappedRetry:
        new_retry = super().increment(method, url, response, error, _pool, _stacktrace)
        wait = new_retry.planned_wait(response)
        if self.waited + wait > self.max_wait:
            # Out of budget: the pool returns the response as is (raise_on_status=False), or requests raises the
            # connection error; either way the caller decides, nobody sleeps.
            reason = error or ResponseError(f"retry wait {wait:.1f}s exceeds the budget of {self.max_wait:.1f}s")
            raise MaxRetryError(_pool, url, reason) from reason  # type: ignore[arg-type]
        new_retry.waited = self.waited + wait
        return new_retry


def build_retry(
    *,
    total: int,
    max_wait: float,
    backoff_factor: float = 0.25,
    allowed_methods: Collection[str] = API_RETRY_METHODS,
) -> CappedRetry:
    return CappedRetry(
        total=total,
        # A read error means the server may have acted; retry it once (a stale pooled keep-alive connection
        # shows up as one), not `total` times, so a slow Genesys cannot hold a worker for many read timeouts.
        read=min(total, 1),
        redirect=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(m.upper() for m in allowed_methods),
        backoff_factor=backoff_factor,
        backoff_max=max_wait,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        max_wait=max_wait,
    )


class _HeadersOnly(requests.auth.AuthBase):
    """The session's auth: changes nothing. A call whose request and session both have no auth gets ~/.netrc's
    credentials from requests (a `default` entry matches every host), which would replace the call's bearer
    token with that password and send it to Genesys; with this set, requests never looks."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


def build_session(retry: Retry, *, pool_maxsize: int = 32) -> requests.Session:
    """A Session whose connections are pooled and whose calls are retried by `retry`.

    Cookies are refused: the Session is shared by every thread of the process, and Genesys' API needs none.
    Credentials are only those a call gives (its Authorization header, or `auth`), never ~/.netrc's. Calls go
    through requests' public Session.request, so proxies and CA settings come from the environment as usual.
    """
    session = requests.Session()
    session.auth = _HeadersOnly()  # the Authorization header each call sets, never ~/.netrc's
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


class PooledSession:
    """A `requests.Session` that follows the settings, built on first use.

    Its Retry is replaced when RETRY_TOTAL / MAX_RETRY_WAIT / RETRY_BACKOFF_FACTOR change (tests override them per
    test), keeping the pooled connections. Its owner (the client, a token service) is one per process through
    messaging.processes, which builds a new one after a fork: no socket is shared between processes.
    """

    def __init__(self, *, allowed_methods: Collection[str] = API_RETRY_METHODS, pool_maxsize: int = 32) -> None:
        self.allowed_methods = frozenset(allowed_methods)
        self.pool_maxsize = pool_maxsize
        self._lock = threading.Lock()
        self._session: requests.Session | None = None
        self._retry_key: tuple | None = None

    def _retry(self) -> tuple[tuple, CappedRetry]:
        key = (app_settings.RETRY_TOTAL, app_settings.MAX_RETRY_WAIT, app_settings.RETRY_BACKOFF_FACTOR)
        retry = build_retry(total=key[0], max_wait=key[1], backoff_factor=key[2], allowed_methods=self.allowed_methods)
        return key, retry

    def get(self) -> requests.Session:
        key = (app_settings.RETRY_TOTAL, app_settings.MAX_RETRY_WAIT, app_settings.RETRY_BACKOFF_FACTOR)
        with self._lock:
            if self._session is None:
                self._retry_key, retry = self._retry()
                self._session = build_session(retry, pool_maxsize=self.pool_maxsize)
            elif key != self._retry_key:
                self._retry_key, retry = self._retry()
                for adapter in self._session.adapters.values():
                    if isinstance(adapter, HTTPAdapter):
                        adapter.max_retries = retry
            return self._session

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session = None


def transport_failure(error: requests.RequestException) -> str:
    """A short name for why no answer came ("ReadTimeout", "ConnectTimeout", "ConnectionError (NewConnectionError)"):
    requests reports a read timeout that outlived the retries as a bare ConnectionError, so look at the cause."""
    cause: object = error.args[0] if error.args else None
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        cause = cause.reason
    if isinstance(error, requests.ReadTimeout) or isinstance(cause, ReadTimeoutError):
        return "ReadTimeout"
    if isinstance(error, requests.ConnectTimeout) or isinstance(cause, ConnectTimeoutError):
        return "ConnectTimeout"
    if isinstance(cause, Exception):
        return f"{type(error).__name__} ({type(cause).__name__})"
    return type(error).__name__


def attempts_of(response: requests.Response | None) -> int:
    """How many HTTP attempts urllib3 made for this response (1 + its retries)."""
    retries = getattr(getattr(response, "raw", None), "retries", None)
    history = getattr(retries, "history", None) or ()
    return len(history) + 1


def json_object(response: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} when it is not JSON or not an object (a proxy's HTML page, say)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header in seconds, or None when absent, unreadable or not finite ("inf" and "nan" are not
    a wait). Read as pacing reads Genesys' other rate-limit headers (ratelimit_headers.header_number)."""
    return header_number(response.headers, "Retry-After")


def correlation_id(response: requests.Response | None) -> str | None:
    if response is None:
        return None
    return response.headers.get(CORRELATION_HEADER)


def log_call(
    method: str,
    route: str,
    *,
    status: int | None,
    started: float,
    response: requests.Response | None = None,
    error: str | None = None,
) -> None:
    """One line per call. Only the method, the route (ids are fine; no query string, no header), the status,
    the time, the correlation id and the attempt count: never a token, never a secret."""
    duration_ms = (time.monotonic() - started) * 1000
    level = logging.INFO if status is not None and status < 400 else logging.WARNING
    logger.log(
        level,
        "genesys %s %s status=%s duration_ms=%.1f correlation_id=%s attempts=%d%s",
        method,
        route,
        status if status is not None else "-",
        duration_ms,
        correlation_id(response) or "-",
        attempts_of(response),
        f" error={error}" if error else "",
        extra={
            "genesys_method": method,
            "genesys_route": route,
            "genesys_status": status,
            "genesys_duration_ms": round(duration_ms, 1),
            "genesys_correlation_id": correlation_id(response),
            "genesys_attempts": attempts_of(response),
        },
    )
