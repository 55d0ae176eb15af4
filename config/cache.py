"""Django's Redis cache, kept working through a Redis outage.

While Redis is unreachable (refused, reset, or silent past the socket timeouts), each process falls back to ONE
cache in its own memory, shared by all its threads, for `fallback_seconds`; then one request at a time probes
Redis again (half-open), the others staying on the fallback until the probe answers. What that means for the users
of the cache:
- cached sessions fall back to the database copy (cached_db), so members stay signed in;
- rate limits count per process instead of cluster-wide (weaker for a moment, never absent, never a 500);
- the Genesys token is shared per process instead of per cluster (one fetch per process, then reuse: the token
  service's cache.add lock holds across the process's threads);
- a hung Redis costs one request one socket timeout (REDIS_SOCKET_TIMEOUT, 0.1 s by default), after which the open
  circuit keeps every call off the socket;
- nothing raises into a page. Each switch (to the fallback and back) is logged once, as a warning, and each call
  the fallback answers counts in site_cache_fallbacks_total (config.metrics);
- it says so (messaging.cache_contract.FallbackSignal), so messaging's pacing leaves its Redis script meanwhile.

Django makes one backend instance per thread (`caches` is thread-local), so the fallback store and the circuit
are per process (messaging.processes), keyed by LOCATION and KEY_PREFIX, and made anew in a forked child.
The fallback is emptied whenever the circuit opens, so nothing from an earlier outage (a session since logged out
in Redis, an old counter) is served again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config import metrics
from messaging import processes

logger = logging.getLogger("config.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

# The three routes of a call.
REDIS, PROBE, FALLBACK = "redis", "probe", "fallback"


class Circuit:
    """Closed (use Redis), open (use the fallback until `open_until`), half-open (one caller probes Redis).

    Thread-safe; `clock` is injectable for tests."""

    def __init__(self, open_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.open_seconds = open_seconds
        self.clock = clock
        self.open_until: float | None = None  # None: closed
        self.probing = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self.open_until is not None

    def route(self) -> str:
        """REDIS when closed; PROBE for the one caller that may try Redis once the open period is over; else
        FALLBACK."""
        with self._lock:
            if self.open_until is None:
                return REDIS
            if self.probing or self.clock() < self.open_until:
                return FALLBACK
            self.probing = True
            return PROBE

    def failed(self, on_open: Callable[[], None]) -> bool:
        """Redis did not answer: (re)open for open_seconds. True when this call switched a closed circuit open;
        `on_open` then runs under the lock, before any other caller can route to the fallback."""
        with self._lock:
            switched = self.open_until is None
            if switched:
                on_open()
            self.open_until = self.clock() + self.open_seconds
            self.probing = False
            return switched

    def recovered(self) -> None:
        """The probe got an answer from Redis: close."""
        with self._lock:
            self.open_until = None
            self.probing = False


class SharedState:
    """What every thread of one process shares for one Redis cache: the fallback store and the circuit."""

    def __init__(self, name: str, fallback_params: dict[str, Any], open_seconds: float) -> None:
        # The pid in the name: a forked child gets a LocMemCache (and its lock) of its own, not the parent's copy.
        self.fallback = LocMemCache(f"redis-fallback-{os.getpid()}-{name}", fallback_params)
        self.circuit = Circuit(open_seconds)

    def close(self) -> None:
        self.fallback.clear()


def shared_state(name: str, fallback_params: dict[str, Any], open_seconds: float) -> SharedState:
    """The process's one SharedState for `name` (messaging.processes: made anew after a fork)."""
    return processes.per_process(("config.cache", name), lambda: SharedState(name, fallback_params, open_seconds))


class ResilientRedisCache(RedisCache):
    """RedisCache with a process-wide fallback and circuit breaker (see the module docstring).

    OPTIONS: the redis-py connection options (socket_connect_timeout and socket_timeout bound what a hung Redis
    costs), plus `fallback_seconds` (how long the circuit stays open before a probe; FALLBACK_SECONDS by default).
    """

    FALLBACK_SECONDS = 5.0
    # Sessions, rate-limit counters and tokens of a whole process for a few seconds (LocMemCache's default of 300
    # would cull rate-limit counters under load).
    FALLBACK_MAX_ENTRIES = 10000

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        open_seconds = float(options.pop("fallback_seconds", self.FALLBACK_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})
        name = f"{server}|{params.get('KEY_PREFIX', '')}"
        self._shared_args = (
            name,
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": self.FALLBACK_MAX_ENTRIES},
            },
            open_seconds,
        )

    @property
    def shared(self) -> SharedState:
        return shared_state(*self._shared_args)

    @property
    def circuit(self) -> Circuit:
        return self.shared.circuit

    @property
    def fallback(self) -> LocMemCache:
        return self.shared.fallback

    @property
    def serving_fallback(self) -> bool:
        """True while this process serves the cache from its own memory (messaging.cache_contract.FallbackSignal:
        messaging then keeps off the Redis-only paths)."""
        return self.circuit.is_open

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        shared = self.shared
        route = shared.circuit.route()
        if route == FALLBACK:
            metrics.cache_fallback()
            return getattr(shared.fallback, name)(*args, **kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except UNREACHABLE as error:
            if shared.circuit.failed(on_open=shared.fallback.clear):
                logger.warning(
                    "redis cache unreachable (%s); this process uses its own memory, trying again every %.0f s",
                    type(error).__name__,
                    shared.circuit.open_seconds,
                )
            metrics.cache_fallback()
            return getattr(shared.fallback, name)(*args, **kwargs)
        except Exception:
            if route == PROBE:  # Redis answered (e.g. incr of a missing key): it is back
                self._recovered(shared)
            raise
        if route == PROBE:
            self._recovered(shared)
        return result

    @staticmethod
    def _recovered(shared: SharedState) -> None:
        shared.circuit.recovered()
        shared.fallback.clear()  # free the memory; what it held was this process's only
        logger.warning("redis cache reachable again; this process uses redis")

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        return self._call("clear")
