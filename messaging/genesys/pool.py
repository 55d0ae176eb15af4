"""The tokens an API call may use, in one shape (`TokenSource`) whether there are several or one.

`TokenPool`: GENESYS_TOKEN_POOL_SIZE tokens (slots), each a TokenService, with the pacing limiter picking the slot
for each call (Genesys limits each token per minute, so a pool multiplies the API budget). `SingleToken`: one
token provider used as is, unpaced (a benchmark's naive cache). The client asks either the same three questions
(acquire a slot, the slot's token provider, observe the answer) and never branches on which it has.
"""

from __future__ import annotations

import random
import threading
from typing import Protocol

import requests
from django.core.cache.backends.base import BaseCache

from .. import processes
from ..app_settings import app_settings
from .http import attempts_of
from .oauth import TokenProvider, TokenService, get_token_service
from .pacing import Permit, RateLimiter, get_rate_limiter

TOKEN_POOL_KEY = "genesys.token_pool"


class TokenSource(Protocol):
    """Where the client gets a token for one API call, and tells what Genesys answered."""

    def acquire(self, max_wait: float | None = None, *, slot: int | None = None) -> Permit:
        """A slot for one call (`slot`: stay on that token, the retry after a 401); may raise GenesysRateLimited."""
        ...

    def service(self, slot: int) -> TokenProvider:
        """The token provider of a slot."""
        ...

    def observe(self, permit: Permit, response: requests.Response) -> None:
        """Genesys' answer to a call made under `permit` (rate-limit headers, 429, retries)."""
        ...


class TokenPool:
    """GENESYS_TOKEN_POOL_SIZE tokens (slots 0..N-1) and the limiter that picks one for each API call.

    Each slot is a TokenService: fetched and renewed on its own, by one caller across the cluster. With pacing on
    (GENESYS_PACING), `acquire()` admits a call on the slot with the most budget left, waiting for budget at most
    `max_wait`; with pacing off, slots are used in turn and nothing is counted (what the site did before). Size
    and pacing are read on every call unless given, so settings may change at run time (tests, benchmarks).
    """

    def __init__(
        self,
        *,
        size: int | None = None,
        paced: bool | None = None,
        cache: BaseCache | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._size = size
        self._paced = paced
        self._cache = cache
        if limiter is None:
            limiter = get_rate_limiter() if cache is None else RateLimiter(cache=cache)
        self.limiter = limiter
        self._services: dict[int, TokenService] = {}
        self._lock = threading.Lock()
        self._turn = random.randrange(1 << 16)

    @property
    def size(self) -> int:
        return max(1, self._size if self._size is not None else app_settings.TOKEN_POOL_SIZE)

    @property
    def paced(self) -> bool:
        return self._paced if self._paced is not None else app_settings.PACING

    def service(self, slot: int) -> TokenService:
        """The slot's token service (the process-wide one when the pool uses the default cache)."""
        if self._cache is None:
            return get_token_service(slot)
        with self._lock:
            service = self._services.get(slot)
            if service is None:
                service = self._services[slot] = TokenService(slot=slot, cache=self._cache)
            return service

    def acquire(self, max_wait: float | None = None, *, slot: int | None = None) -> Permit:
        """A slot for one API call (`slot` to stay on a given token). Raises GenesysRateLimited (retryable, with
        retry_after) when no slot has budget within `max_wait` (default GENESYS_PACING_MAX_WAIT)."""
        if not self.paced:
            if slot is None:
                with self._lock:
                    self._turn += 1
                    slot = self._turn % self.size
            return Permit(slot=slot, paced=False)
        wait = app_settings.PACING_MAX_WAIT if max_wait is None else max_wait
        return self.limiter.acquire(self.size, max_wait=wait, slot=slot)

    def observe(self, permit: Permit, response: requests.Response) -> None:
        """Correct the slot's budget from Genesys' answer (inin-ratelimit-* headers, 429, urllib3's retries)."""
        self.limiter.observe(permit, response.status_code, response.headers, attempts=attempts_of(response))

    def close(self) -> None:
        with self._lock:
            for service in self._services.values():
                service.close()
            self._services.clear()


class SingleToken:
    """One token provider as a TokenSource: slot 0, nothing paced, nothing counted."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    def acquire(self, max_wait: float | None = None, *, slot: int | None = None) -> Permit:
        return Permit(slot=0, paced=False)

    def service(self, slot: int) -> TokenProvider:
        return self.provider

    def observe(self, permit: Permit, response: requests.Response) -> None:
        return None


def get_token_pool() -> TokenPool:
    """The process-wide pool (size and pacing from the settings) over the process-wide services and limiter."""
    return processes.per_process(TOKEN_POOL_KEY, TokenPool)
