"""Pacing of Platform API calls: every process together keeps each token under Genesys' per-minute budget.

Genesys allows each client-credentials token GENESYS_TOKEN_RATE_PER_MINUTE API requests a minute (300 published)
and answers 429 beyond. Its minute starts when Genesys decides (the sandbox opens one at the first request after the
previous one closed), so we cannot line up with it. The limiter makes sure instead that *every* 60-second interval
holds at most the budget, wherever Genesys' minute falls:

- Time is cut in BUCKETS buckets per window (5 s each), numbered from the epoch (wall clock: every host counts in
  the same keys). A call is admitted in bucket i only while buckets i-BUCKETS..i (a window plus the current bucket)
  hold less than the budget, so any 60 s interval, wherever Genesys' minute falls, stays within it. The price: at
  saturation the budget is spread over 65 s instead of 60.
- The budget is the per-token rate minus the headroom (GENESYS_TOKEN_RATE_HEADROOM, 10 %): room for clock skew
  between hosts, for requests that reach Genesys late, and for the database cache's imprecision (below).
- Counting on Redis: one Lua script reads every candidate's span and hold, picks the slot and increments, in one
  round trip that nothing can interleave with (pacing_redis), so the cluster admits exactly the budget.
  Elsewhere (process memory, the database cache; Redis unreachable): `cache.incr` on the bucket's key, then the
  check; a call gives its unit back if the budget is spent, or if the next bucket began before its increment
  landed (a call admitted there may have read ours without it). The database cache's `incr` is a read and a
  write, exact between threads (a lock) but not between processes: the headroom absorbs that.
- No budget on any slot: wait until the earliest slot frees one (a bucket leaving the span), at most `max_wait`
  (GENESYS_PACING_MAX_WAIT, 2 s, since the verify endpoint answers the flow within 20 s); if that is later,
  fail at once with GenesysRateLimited (retryable, retry_after = seconds until budget frees), and the push stays
  in the outbox for the worker.
- The budget is the configured rate. Genesys' `inin-ratelimit-allowed` / `-count` / `-reset` describe the bucket
  that applied to *that response* (a route may have a smaller one: Genesys' JS SDK README shows 180 on one answer
  and 300 on another), so `allowed` never changes the budget. Only a bucket whose `allowed` equals the configured
  rate is taken for the token's: its `count` above ours raises ours (never lowers it), a count at the limit holds
  the slot until the reset. A 429 always holds the slot (reset / Retry-After). Retries urllib3 made inside a call
  count too. The last headers seen are kept (`last_rate_limit_headers()`).

Keys (Django's cache; Redis in production), per API host and client id, never a token or a secret:
    genesys:rate:<host>:<client id>:<slot>:<bucket>   calls admitted in that bucket
    genesys:rate:<host>:<client id>:<slot>:hold-ms    wall-clock ms until which Genesys said the slot is spent
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from .. import metrics, processes
from ..app_settings import app_settings
from . import pacing_redis
from .errors import GenesysRateLimited
from .pacing_redis import Redis
from .ratelimit_headers import RateLimitHeaders, header_number, read_rate_limit_headers

logger = logging.getLogger("messaging.genesys.pacing")

# The code of the GenesysRateLimited our own pacing raises: nothing was sent to Genesys.
BUDGET_EXHAUSTED_CODE = "pacing.budget.exhausted"

WINDOW_SECONDS = 60.0  # Genesys' limit is per minute
BUCKETS = 12
# Waiters that wake for the same freed bucket spread over this much, so they do not all hit the cache at once.
WAKE_JITTER = 0.05


def budget_for(rate: int, headroom: float) -> int:
    """Calls per window we allow ourselves: the rate minus the headroom, rounded in favour of small rates (2/min
    keeps 2), never below one."""
    return max(1, rate - int(rate * max(0.0, min(headroom, 0.9))))


@dataclasses.dataclass(frozen=True)
class Permit:
    """One admitted API call on a slot (a token). `used`: the slot's count in the span, this call included, when
    it was admitted."""

    slot: int
    used: int = 0
    budget: int = 0
    paced: bool = True
    scope: str = ""


@dataclasses.dataclass(frozen=True)
class SlotUsage:
    slot: int
    counts: tuple[int, ...]  # per bucket, oldest first; the last is the current bucket
    held_until: float  # wall clock; 0 when not held

    @property
    def used(self) -> int:
        return sum(self.counts)


class RateLimiter:
    """Admits API calls per slot within the budget, counted in Django's cache so that every process shares it.

    Settings are read on each call. `window`/`buckets`: the length of Genesys' window and how finely we count it
    (a benchmark may shrink the window together with the sandbox's); `clock`/`sleep` for tests. `redis`: the
    client admission's script runs on, for a `cache` given here on Redis (without `cache`, the default cache's
    settings name it, pacing_redis.client_for_alias); without one, the generic path.
    """

    def __init__(
        self,
        *,
        cache: BaseCache | None = None,
        redis: Redis | None = None,
        window: float = WINDOW_SECONDS,
        buckets: int = BUCKETS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if window <= 0 or buckets < 1:
            raise ValueError("window must be positive and buckets at least 1")
        self._cache = cache
        self._redis = redis
        self.window = float(window)
        self.buckets = int(buckets)
        self.bucket_seconds = self.window / self.buckets
        self.clock = clock
        self.sleep = sleep
        self._incr_lock = threading.Lock()
        self._last_headers: RateLimitHeaders | None = None

    # --- keys ---
    @property
    def cache(self) -> BaseCache:
        return self._cache if self._cache is not None else caches[DEFAULT_CACHE_ALIAS]

    @property
    def redis(self) -> Redis | None:
        if self._cache is not None:
            return self._redis
        return pacing_redis.client_for_alias(DEFAULT_CACHE_ALIAS)

    @staticmethod
    def scope() -> str:
        """The API host and client id: the limit is per token of this client on this API."""
        host = urlsplit(app_settings.API_BASE).netloc or app_settings.API_BASE
        return f"genesys:rate:{host}:{app_settings.CLIENT_ID}"

    def _count_key(self, scope: str, slot: int, bucket: int) -> str:
        return f"{scope}:{slot}:{bucket}"

    @staticmethod
    def _hold_key(scope: str, slot: int) -> str:
        return f"{scope}:{slot}:hold-ms"

    @property
    def _count_ttl(self) -> int:
        # A bucket is read for one window after it closes; a little longer, then the cache forgets it.
        return math.ceil(self.window + 2 * self.bucket_seconds)

    def bucket(self, now: float) -> int:
        return math.floor(now / self.bucket_seconds)

    # --- reading ---
    def _read(self, scope: str, slots: list[int], now: float) -> list[SlotUsage]:
        """One round trip: every slot's bucket counts in the span and their holds."""
        current = self.bucket(now)
        span = range(current - self.buckets, current + 1)
        count_keys = {slot: [self._count_key(scope, slot, b) for b in span] for slot in slots}
        hold_keys = {slot: self._hold_key(scope, slot) for slot in slots}
        keys = [k for slot_keys in count_keys.values() for k in slot_keys] + [*hold_keys.values()]
        values = self.cache.get_many(keys)
        return [
            SlotUsage(
                slot=slot,
                counts=tuple(_as_int(values.get(key)) for key in count_keys[slot]),
                held_until=_as_int(values.get(hold_keys[slot])) / 1000,
            )
            for slot in slots
        ]

    def budget(self) -> int:
        """Calls per window and slot: the configured per-token rate less the headroom (never Genesys' headers)."""
        return budget_for(app_settings.TOKEN_RATE_PER_MINUTE, app_settings.TOKEN_RATE_HEADROOM)

    def last_headers(self) -> RateLimitHeaders | None:
        """The rate-limit headers of the last answer this limiter observed in this process, or None."""
        return self._last_headers

    def usage(self, slots: int) -> tuple[list[SlotUsage], int]:
        """Each slot's counts now, and the budget per slot (for tests, benchmarks, an operator's shell)."""
        return self._read(self.scope(), list(range(slots)), self.clock()), self.budget()

    def free_in(self, usage: SlotUsage, budget: int, now: float) -> float:
        """Seconds until the slot may take one more call: its hold, and enough of its oldest buckets leaving the
        span to bring the count under the budget."""
        held = max(0.0, usage.held_until - now)
        excess = usage.used - budget + 1
        if excess <= 0:
            return held
        current = self.bucket(now)
        freed = 0
        for leaving, count in enumerate(usage.counts, start=1):
            freed += count
            if freed >= excess:
                # The span's oldest `leaving` buckets are gone once bucket current+leaving begins.
                return max(held, (current + leaving) * self.bucket_seconds - now)
        # Unreachable unless counts moved under us: the whole span, to be safe.
        return max(held, (current + len(usage.counts)) * self.bucket_seconds - now)

    # --- admitting ---
    def acquire(self, slots: int, *, max_wait: float, slot: int | None = None) -> Permit:
        """Admit one call on the slot with the most budget left (ties at random), or on `slot` when given (the
        retry after a 401 stays on its token). Waits for budget at most `max_wait` seconds; raises
        GenesysRateLimited at once when none frees within that."""
        scope = self.scope()
        candidates = [slot] if slot is not None else list(range(max(1, slots)))
        started = self.clock()
        deadline = started + max(0.0, max_wait)
        while True:
            now = self.clock()
            budget = self.budget()
            tried = self._try(scope, candidates, now, budget)
            if isinstance(tried, Permit):
                metrics.pacing_wait(self.clock() - started)
                return tried
            if tried is None:
                continue  # a new bucket began while we counted: read the new span at once
            wait = min(self.free_in(u, budget, now) for u in tried)
            if any(u.used < budget and u.held_until <= now for u in tried):
                # Someone took the last unit between our read and our increment: look again shortly.
                wait = max(wait, random.uniform(0.001, 0.01))
            if now + wait > deadline:
                metrics.pacing_fail_fast()
                raise self._exhausted(len(candidates), budget, wait, max_wait)
            self.sleep(min(wait + random.uniform(0, WAKE_JITTER), max(0.0, deadline - now)))

    def _try(self, scope: str, candidates: list[int], now: float, budget: int) -> Permit | list[SlotUsage] | None:
        """One try at admitting a call: the permit; or every candidate's usage when none was admitted; or None
        when a new bucket began meanwhile (try again at once). On Redis, one atomic script (pacing_redis)."""
        cache, client = self.cache, self.redis
        if client is not None and pacing_redis.usable(cache, client):
            order = random.sample(candidates, len(candidates))  # ties broken at random: not all on slot 0
            current = self.bucket(now)
            span = range(current - self.buckets, current + 1)
            admission = pacing_redis.admit(
                cache,
                client,
                order,
                {slot: [self._count_key(scope, slot, b) for b in span] for slot in order},
                {slot: self._hold_key(scope, slot) for slot in order},
                budget=budget,
                now=now,
                ttl=self._count_ttl,
            )
            if admission is not None and admission.slot is not None:
                return Permit(slot=admission.slot, used=admission.used, budget=budget, scope=scope)
            if admission is not None:
                return [SlotUsage(s, admission.counts[s], admission.held_until[s]) for s in candidates]
        usages = self._read(scope, candidates, now)
        current = self.bucket(now)
        open_slots = [u for u in usages if u.used < budget and u.held_until <= now]
        random.shuffle(open_slots)  # ties broken at random: processes do not all start on slot 0
        open_slots.sort(key=lambda u: u.used)  # stable: most budget left first
        for usage in open_slots:
            permit = self._take(scope, usage, current, budget)
            if permit is not None:
                return permit
            if self.bucket(self.clock()) != current:
                return None
        return usages

    def _take(self, scope: str, usage: SlotUsage, current: int, budget: int) -> Permit | None:
        key = self._count_key(scope, usage.slot, current)
        mine = self._incr(key, 1)
        used = sum(usage.counts[:-1]) + mine
        # If the next bucket began before our increment landed, a call admitted in it may have read our bucket
        # without our unit, and the two together could pass the budget: not ours either way, give the unit back.
        if used > budget or self.bucket(self.clock()) != current:
            self._incr(key, -1)
            return None
        return Permit(slot=usage.slot, used=used, budget=budget, scope=scope)

    def _incr(self, key: str, delta: int) -> int:
        """Atomic on Redis and in process memory. Elsewhere (the database cache) `incr` is a read then a write:
        a lock makes it exact between the threads of this process, other processes may still lose an increment
        (see the module's docstring)."""
        cache = self.cache
        if isinstance(cache, RedisCache | LocMemCache):
            return self._incr_in(cache, key, delta)
        with self._incr_lock:
            return self._incr_in(cache, key, delta)

    def _incr_in(self, cache: BaseCache, key: str, delta: int) -> int:
        try:
            return cache.incr(key, delta)
        except ValueError:  # no such key yet (or it just expired)
            if delta <= 0:
                return 0
            if cache.add(key, delta, timeout=self._count_ttl):
                return delta
            return cache.incr(key, delta)

    def _exhausted(self, slots: int, budget: int, wait: float, max_wait: float) -> GenesysRateLimited:
        retry_after = round(max(wait, 0.001), 3)
        message = (
            f"No Genesys API budget within {max_wait:g}s ({slots} token(s) at {budget} calls per {self.window:g}s "
            f"each); retry in {retry_after:.1f}s"
        )
        # INFO: the caller decides what a deferred call means (the outbox logs its retry as a warning).
        logger.info("genesys pacing: %s", message)
        return GenesysRateLimited(message, retry_after=retry_after, code=BUDGET_EXHAUSTED_CODE)

    # --- what Genesys answered ---
    def hold(self, scope: str, slot: int, seconds: float) -> None:
        """Keep calls off the slot for `seconds` (Genesys said its budget is spent), at most one window."""
        seconds = min(max(0.0, seconds), self.window)
        if seconds > 0:
            until_ms = math.ceil((self.clock() + seconds) * 1000)  # an integer: the Redis script reads it too
            self.cache.set(self._hold_key(scope, slot), until_ms, timeout=math.ceil(seconds) + 1)

    def observe(self, permit: Permit, status: int, headers: Mapping[str, str], attempts: int = 1) -> None:
        """Correct the slot's count from an answer to a call admitted by `permit`. Never raises: a failed
        correction must not fail a call that succeeded."""
        if not permit.paced:
            return
        try:
            self._observe(permit, status, headers, attempts)
        except Exception:
            logger.warning("genesys pacing: could not record the rate-limit headers", exc_info=True)

    def _observe(self, permit: Permit, status: int, headers: Mapping[str, str], attempts: int) -> None:
        scope, slot = permit.scope, permit.slot
        now = self.clock()
        current = self.bucket(now)
        extra = max(0, attempts - 1)
        if extra:
            # urllib3 retried inside the call: each attempt was a request Genesys may have counted.
            self._incr(self._count_key(scope, slot, current), extra)
        count, allowed, reset = read_rate_limit_headers(headers)
        self._note_headers(slot, status, count, allowed, reset, now)
        # The bucket that applied is taken for the token's own only when its size is the token's configured rate.
        tokens_bucket = allowed is not None and allowed == app_settings.TOKEN_RATE_PER_MINUTE
        if tokens_bucket and count is not None and count > permit.used + extra:
            # Genesys counted more than we had at admission (others may have been admitted since): read again and
            # raise our count to Genesys' if it is still below. With the reset known, Genesys' minute began at
            # now + reset - window: compare with our buckets of that minute (give or take the second the reset is
            # rounded to), and put what is missing in the bucket where it began, so that it leaves our span when
            # Genesys' minute ends rather than a minute from now.
            oldest = current - self.buckets
            windowed = reset is not None and reset <= self.window
            began = now + (reset or 0.0) - self.window
            first = self.bucket(began) if windowed else current
            since = max(oldest, self.bucket(began - 1.0)) if windowed else oldest
            ours = sum(self._read(scope, [slot], now)[0].counts[since - oldest :])
            missing = count - ours
            if missing > 0:
                self._incr(self._count_key(scope, slot, first), missing)
                logger.info("genesys pacing: slot %d raised by %d to Genesys' count %d", slot, missing, count)
        if status == 429 or (tokens_bucket and count is not None and allowed and count >= allowed):
            wait = reset if reset is not None else header_number(headers, "Retry-After")
            self.hold(scope, slot, wait if wait is not None else self.bucket_seconds)

    def _note_headers(
        self, slot: int, status: int, count: int | None, allowed: int | None, reset: float | None, now: float
    ) -> None:
        if count is None and allowed is None and reset is None:
            return
        previous = self._last_headers
        self._last_headers = RateLimitHeaders(slot, status, count, allowed, reset, now)
        rate = app_settings.TOKEN_RATE_PER_MINUTE
        if allowed is not None and allowed != rate:
            # A bucket other than the token's (a route's own, say): a signal only. INFO when its size changes.
            changed = previous is None or previous.allowed != allowed
            logger.log(
                logging.INFO if changed else logging.DEBUG,
                "genesys pacing: an answer's rate-limit bucket allows %d (count %s), not the token's configured %d; "
                "the budget stays on the configured rate",
                allowed,
                count if count is not None else "-",
                rate,
            )


def get_rate_limiter() -> RateLimiter:
    """The process-wide limiter over Django's default cache (messaging.processes: rebuilt after a fork)."""
    return processes.per_process("genesys.rate_limiter", RateLimiter)


def last_rate_limit_headers() -> RateLimitHeaders | None:
    """The inin-ratelimit-* figures of the last answer the process-wide limiter saw (for metrics, a shell)."""
    return get_rate_limiter().last_headers()


def _as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
