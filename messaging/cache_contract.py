"""What messaging needs of a Django cache (the default cache, and django-ratelimit's RATELIMIT_USE_CACHE).

Every process of the site must see the same cache, since it is where the processes meet:
- the Genesys token service stores one token per slot and lets exactly one caller fetch a missing one, the one
  whose `add` on a lock key succeeds (messaging.genesys.oauth): `add` must be atomic across processes;
- API pacing counts calls per bucket with `incr` (ValueError on a missing key, as Django documents), `add` and
  `get_many`, and on Redis runs one script on the keys `make_key` names (messaging.genesys.pacing);
- the rate limits (django-ratelimit) count with `add` and `incr`; the OpenID Connect provider remembers spent
  codes with `set` and `get`.

Django's Redis cache does all of that across hosts, its database cache across the processes of one database
(`incr` is a read and a write there; pacing's headroom absorbs it). Process memory (LocMemCache) does it within
one process only, and DummyCache not at all (messaging.checks says so).

A cache may also serve from a fallback of its own for a while (the site's Redis cache keeps to process memory
while Redis is unreachable): it says so through FallbackSignal, and messaging then leaves the Redis-only paths
(pacing's script) for the generic ones, which work on whatever the cache serves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache


@runtime_checkable
class SharedCache(Protocol):
    """The operations messaging calls, with Django's cache semantics (django.core.cache.backends.base.BaseCache):
    `add` stores only when the key is absent and says whether it did, atomically for every process sharing the
    cache; `incr` raises ValueError when the key is missing; timeouts are in seconds."""

    def add(self, key: str, value: Any, timeout: Any = ..., version: int | None = None) -> bool: ...

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: Any = ..., version: int | None = None) -> Any: ...

    def delete(self, key: str, version: int | None = None) -> Any: ...

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]: ...

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int: ...

    def make_key(self, key: str, version: int | None = None) -> str: ...


@runtime_checkable
class FallbackSignal(Protocol):
    """Optional: a cache that may answer from a fallback store of its own (process memory while its server is
    unreachable, say) tells so. `serving_fallback` is True while it does, and cheap to read (no I/O)."""

    @property
    def serving_fallback(self) -> bool: ...


# Whether each cache class has FallbackSignal, found on its first instance: an isinstance check against a
# runtime-checkable Protocol walks the Protocol's members on every call, too slow for every paced API call.
_SIGNALS_FALLBACK: dict[type, bool] = {}


def serving_fallback(cache: object) -> bool:
    """Whether `cache` says it serves from its fallback right now; False for a cache without FallbackSignal.
    Whether a cache has FallbackSignal is decided once per class."""
    signals = _SIGNALS_FALLBACK.get(type(cache))
    if signals is None:
        signals = _SIGNALS_FALLBACK[type(cache)] = isinstance(cache, FallbackSignal)
    return signals and bool(cache.serving_fallback)  # type: ignore[attr-defined]


def cache_problem(cache: object) -> str | None:
    """Why `cache` cannot be messaging's cache at all, in words, or None. (Per-process memory works within one
    process: see `per_process`.)"""
    name = type(cache).__name__
    if isinstance(cache, DummyCache):
        # Its `add` always succeeds and it stores nothing.
        return f"{name} stores nothing: every call fetches a Genesys token; API pacing and rate limits never count."
    if not isinstance(cache, SharedCache):
        missing = [op for op in _OPERATIONS if not callable(getattr(cache, op, None))]
        return f"{name} lacks {', '.join(missing)}, which messaging calls (messaging.cache_contract.SharedCache)."
    return None


def per_process(cache: object) -> bool:
    """Whether `cache` is private to its process: with several processes each would fetch its own token, and
    pace and rate-limit on its own."""
    return isinstance(cache, LocMemCache)


# SharedCache's operations, read off the Protocol so the list is written once.
_OPERATIONS = tuple(name for name, member in vars(SharedCache).items() if callable(member) and not name.startswith("_"))
