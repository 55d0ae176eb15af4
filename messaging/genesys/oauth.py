"""Client-credentials tokens for the Platform API, kept in Django's cache framework and shared by every process.

One token serves the whole site (Genesys' Token Duration is a day by default). It lives in the cache under a key
naming the login host, the client id and a slot (never the secret), for `expires_in` minus a safety margin.
When it is missing, exactly one caller fetches it: the one that wins `cache.add()` on a lock key; the others
poll the cache for the new token for at most TOKEN_LOCK_TIMEOUT. The lock is as wide as the cache's `add` is
atomic (messaging.cache_contract): with Redis (production) cluster-wide; with the database cache every local
process shares it. A cache serving a per-process fallback (the site's, while Redis is unreachable) holds it
within each process, as long as the fallback is one per process, shared by its threads: one fetch per process.

Each slot of the token pool (messaging.genesys.pool) is one TokenService. `get_access_token()` and
`invalidate_token()` are slot 0.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import math
import random
import time
import uuid
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache

from .. import metrics, processes
from ..app_settings import app_settings
from .errors import (
    GenesysConfigurationError,
    GenesysError,
    GenesysRateLimited,
    GenesysTokenError,
    GenesysTokenLockTimeout,
    GenesysUnavailable,
    error_from_memory,
    error_to_memory,
)
from .http import (
    API_RETRY_METHODS,
    PooledSession,
    correlation_id,
    json_object,
    log_call,
    retry_after_seconds,
    transport_failure,
)

logger = logging.getLogger("messaging.genesys.oauth")

TOKEN_ROUTE = "/oauth/token"
# How long a failed fetch is remembered, so the callers that were waiting for it get the same error instead of
# each trying the wrong secret in turn.
ERROR_MEMORY_SECONDS = 5
POLL_INTERVAL = 0.05


class TokenProvider(Protocol):
    """One token source: a TokenService, or a benchmark's naive cache (wrapped in pool.SingleToken)."""

    def get_token(self, force_refresh: bool = False) -> str: ...

    def invalidate(self, token: str | None = None) -> None: ...


@dataclasses.dataclass(frozen=True)
class AccessToken:
    """A token and when we stop using it. `repr` never shows the token."""

    access_token: str = dataclasses.field(repr=False)
    expires_in: int
    fetched_at: float
    valid_until: float  # wall clock (cache entries are read by other hosts): Genesys' expiry minus the margin

    @property
    def cache_seconds(self) -> int:
        return max(1, int(self.valid_until - self.fetched_at))

    def is_valid(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.valid_until

    def to_cache(self) -> dict[str, Any]:
        # A plain dict, so an entry written by one release can be read by the next.
        return dataclasses.asdict(self)

    @classmethod
    def from_cache(cls, value: Any) -> AccessToken | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                access_token=str(value["access_token"]),
                expires_in=int(value["expires_in"]),
                fetched_at=float(value["fetched_at"]),
                valid_until=float(value["valid_until"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def safety_margin(expires_in: int, configured: int) -> float:
    """The margin, but never more than half the lifetime: a short-lived token (a test's, or a 300 s Token
    Duration with a large margin) is still reused for half its life instead of never."""
    return min(float(configured), expires_in / 2)


class TokenService:
    """Fetches, caches and shares one client-credentials token (per slot).

    Settings are read on every call (app_settings is lazy), so one instance serves the whole process and tests
    may change settings freely. `cache` defaults to Django's default cache.
    """

    def __init__(self, *, slot: int = 0, cache: BaseCache | None = None) -> None:
        self.slot = slot
        self._cache = cache
        # The grant is safe to repeat (at worst Genesys issues a second token), so POST is retried here.
        self._session = PooledSession(allowed_methods=API_RETRY_METHODS | {"POST"}, pool_maxsize=4)

    # --- configuration ---
    @property
    def cache(self) -> BaseCache:
        return self._cache if self._cache is not None else caches[DEFAULT_CACHE_ALIAS]

    @property
    def login_base(self) -> str:
        return app_settings.LOGIN_BASE

    @property
    def cache_key(self) -> str:
        host = urlsplit(self.login_base).netloc or self.login_base
        return f"genesys:token:{host}:{app_settings.CLIENT_ID}:{self.slot}"

    @property
    def lock_key(self) -> str:
        return f"{self.cache_key}:lock"

    @property
    def error_key(self) -> str:
        return f"{self.cache_key}:error"

    def _check_configured(self) -> None:
        if not app_settings.API_CONFIGURED:
            raise GenesysConfigurationError(
                "Genesys API client is not configured: set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET."
            )

    @property
    def session(self) -> requests.Session:
        return self._session.get()

    def close(self) -> None:
        self._session.close()

    # --- the cache ---
    def cached(self) -> AccessToken | None:
        """The cached token if it is still good, else None."""
        entry = AccessToken.from_cache(self.cache.get(self.cache_key))
        return entry if entry is not None and entry.is_valid() else None

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token; with `token`, only if it is still the cached one (after a 401 another process
        may already have stored a new token, which must survive). Compare-then-delete is not atomic: in the
        worst case a fresh token is dropped and fetched once more."""
        if token is None:
            self.cache.delete(self.cache_key)
            return
        entry = AccessToken.from_cache(self.cache.get(self.cache_key))
        if entry is not None and hmac.compare_digest(entry.access_token, token):
            self.cache.delete(self.cache_key)

    # --- getting a token ---
    def get_token(self, force_refresh: bool = False) -> str:
        return self.get(force_refresh=force_refresh).access_token

    def get(self, force_refresh: bool = False) -> AccessToken:
        """The cached token, or a new one fetched by exactly one caller across all processes sharing the cache.

        force_refresh drops the cached token first (genesys_check, an operator); a 401 should use
        `invalidate(token)` instead, so that many callers with the same stale token cause one fetch.
        Raises GenesysTokenLockTimeout (retryable) when another caller's fetch takes longer than
        TOKEN_LOCK_TIMEOUT, and the fetch's own typed error when the fetch fails.
        """
        self._check_configured()
        if force_refresh:
            self.invalidate()
        else:
            entry = self.cached()
            if entry is not None:
                return entry
        return self._get_under_lock()

    def _get_under_lock(self) -> AccessToken:
        owner = uuid.uuid4().hex
        lock_timeout = app_settings.TOKEN_LOCK_TIMEOUT
        # The lock's own expiry frees it if its holder dies; shorter than the waiters' patience so that one of
        # them can take over before giving up. A fetch slower than this may be joined by a second fetch.
        lock_ttl = max(1, math.ceil(lock_timeout / 2))
        deadline = time.monotonic() + lock_timeout
        holder: str | None = None
        while True:
            if self.cache.add(self.lock_key, owner, timeout=lock_ttl):
                try:
                    entry = self.cached()  # stored by the previous holder while we were polling?
                    if entry is not None:
                        return entry
                    return self._fetch_and_store(owner)
                finally:
                    self._release(owner)
            holder = self.cache.get(self.lock_key) or holder
            time.sleep(POLL_INTERVAL + random.uniform(0, POLL_INTERVAL))  # jitter: waiters don't poll in step
            entry = self.cached()
            if entry is not None:
                return entry
            failure = self.cache.get(self.error_key)
            if holder is not None and isinstance(failure, dict) and failure.get("owner") == holder:
                raise error_from_memory(failure)
            if time.monotonic() >= deadline:
                raise GenesysTokenLockTimeout(
                    f"Waited {lock_timeout:.1f}s for another process to fetch the Genesys token; try again.",
                    code="token_lock_timeout",
                )

    def _release(self, owner: str) -> None:
        # Delete only our own lock. Get-then-delete is not atomic: if our lock expired in between and another
        # caller took it, we drop theirs and a third caller may fetch too (one extra token, no harm).
        if self.cache.get(self.lock_key) == owner:
            self.cache.delete(self.lock_key)

    def _fetch_and_store(self, owner: str) -> AccessToken:
        try:
            entry = self.fetch()
        except GenesysError as error:
            metrics.oauth_token_request(metrics.token_outcome(getattr(error, "status", None)))
            self.cache.set(self.error_key, error_to_memory(error, owner), timeout=ERROR_MEMORY_SECONDS)
            raise
        metrics.oauth_token_request(metrics.TokenOutcome.ISSUED)
        self.store(entry)
        logger.info(
            "genesys token stored key=%s expires_in=%d cached_for=%d",
            self.cache_key,
            entry.expires_in,
            entry.cache_seconds,
        )
        return entry

    def store(self, entry: AccessToken) -> None:
        """Put a token in the cache for every process to use (for its validity, minus the margin)."""
        self.cache.set(self.cache_key, entry.to_cache(), timeout=entry.cache_seconds)
        self.cache.delete(self.error_key)

    def fetch(self) -> AccessToken:
        """One client-credentials grant against the login host; no cache involved (genesys_check uses it)."""
        self._check_configured()
        client_id, secret = app_settings.CLIENT_ID, app_settings.CLIENT_SECRET
        started = time.monotonic()
        try:
            response = self.session.post(
                f"{self.login_base}{TOKEN_ROUTE}",
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
                timeout=(app_settings.CONNECT_TIMEOUT, app_settings.READ_TIMEOUT),
            )
        except requests.RequestException as error:
            # requests' messages name the URL and the cause, never the Authorization header.
            log_call("POST", TOKEN_ROUTE, status=None, started=started, error=transport_failure(error))
            raise GenesysUnavailable(
                f"Could not reach the Genesys login host {self.login_base}: {transport_failure(error)}"
            ) from None
        log_call("POST", TOKEN_ROUTE, status=response.status_code, started=started, response=response)
        return self._parse(response, secret)

    def _parse(self, response: requests.Response, secret: str) -> AccessToken:
        status = response.status_code
        corr = correlation_id(response)
        body = json_object(response)
        if status == 200:
            token, expires_in = body.get("access_token"), body.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(expires_in, int | float) or expires_in <= 0:
                raise GenesysTokenError(
                    "Genesys answered the token request without a usable access_token/expires_in.",
                    status=status,
                    code="invalid_response",
                    correlation_id=corr,
                )
            now = time.time()
            margin = safety_margin(int(expires_in), app_settings.TOKEN_EXPIRY_MARGIN)
            return AccessToken(
                access_token=token, expires_in=int(expires_in), fetched_at=now, valid_until=now + expires_in - margin
            )
        code = str(body.get("error") or body.get("code") or f"http_{status}")
        described = body.get("error_description") or body.get("description") or body.get("message") or ""
        described = _scrub(str(described), secret)[:200]
        detail = f": {described}" if described else ""
        if status == 429:
            retry_after = retry_after_seconds(response)
            raise GenesysRateLimited(
                f"Genesys rate-limited the token request (HTTP 429, retry after {retry_after}s){detail}",
                retry_after=retry_after,
                status=status,
                code=code,
                correlation_id=corr,
            )
        if status >= 500:
            raise GenesysUnavailable(
                f"Genesys login host failed the token request (HTTP {status}, {code}){detail}",
                status=status,
                code=code,
                correlation_id=corr,
            )
        hint = (
            " Check GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (an OAuth client with the Client Credentials grant)."
            if code in {"invalid_client", "unauthorized_client"} or status == 401
            else ""
        )
        raise GenesysTokenError(
            f"Genesys refused the token request (HTTP {status}, {code}){detail}.{hint}",
            status=status,
            code=code,
            correlation_id=corr,
        )


def _scrub(text: str, secret: str) -> str:
    # Genesys does not echo the secret, but a proxy or a stand-in might: never let it reach a message or a log.
    return text.replace(secret, "***") if secret else text


# --- the process-wide services ---
def get_token_service(slot: int = 0) -> TokenService:
    """The slot's process-wide token service (messaging.processes: rebuilt after a fork)."""
    return processes.per_process(("genesys.token_service", slot), lambda: TokenService(slot=slot))


def get_access_token(force_refresh: bool = False) -> str:
    """A valid access token for the Platform API (cached, shared, fetched once across processes)."""
    return get_token_service().get_token(force_refresh=force_refresh)


def invalidate_token(token: str | None = None) -> None:
    """Forget the cached token (only if it is still `token`, when given): the next call fetches a new one."""
    get_token_service().invalidate(token)
