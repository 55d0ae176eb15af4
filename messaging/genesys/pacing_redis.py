"""Admission on Redis in one round trip: the read of every candidate slot's span and hold, the choice, and the
increment, in one Lua script that Redis runs atomically.

The generic path (pacing.RateLimiter on any Django cache) reads the span, then increments, then checks: two round
trips a call, and exact only because a call gives its unit back when it crossed a bucket boundary. Here nothing
can come between the read and the increment, whatever the clocks, and a call costs one round trip.

The script sees what the limiter's keys hold in Redis, written by Django's cache as Django writes integers (plain,
so INCRBY works on them) and the hold as integer milliseconds of wall-clock time (pacing.RateLimiter.hold). It runs
on a redis-py client of its own, built from the cache's settings (Django's cache exposes no client).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

from .. import processes
from ..cache_contract import serving_fallback
from ..optional import missing_extra

try:
    import redis
    from redis import Redis
    from redis.exceptions import RedisError
except ModuleNotFoundError as missing:  # extra `redis`: without it no cache is Redis, so pacing never scripts
    if missing.name != "redis":
        raise
    redis = Redis = None  # type: ignore[assignment, misc]
    RedisError = OSError  # type: ignore[assignment, misc]

# KEYS: per candidate slot, in the order to try them on a tie: its span's count keys (oldest first, the current
# bucket last), then its hold key. ARGV: keys per slot, budget, now (ms), TTL of a count key (s).
# Returns {index of the slot admitted, its count in the span with this call}; when no slot was admitted, {-1, 0,
# then per slot: its span's count and its hold (ms), then per slot its counts, oldest first} (for the wait).
_ADMIT = """
local per = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local slots = #KEYS / per
local used, held, counts = {}, {}, {}
local chosen = -1
for s = 1, slots do
  local base = (s - 1) * per
  local values = redis.call('MGET', unpack(KEYS, base + 1, base + per))
  local sum = 0
  for i = 1, per - 1 do
    local n = tonumber(values[i]) or 0
    counts[#counts + 1] = n
    sum = sum + n
  end
  used[s] = sum
  held[s] = tonumber(values[per]) or 0
  if sum < budget and held[s] <= now and (chosen == -1 or sum < used[chosen]) then
    chosen = s
  end
end
if chosen ~= -1 then
  local current = KEYS[(chosen - 1) * per + per - 1]
  local mine = redis.call('INCR', current)
  if mine == 1 then
    redis.call('EXPIRE', current, tonumber(ARGV[4]))
  end
  return {chosen - 1, used[chosen] + 1}
end
local result = {-1, 0}
for s = 1, slots do
  result[#result + 1] = used[s]
  result[#result + 1] = held[s]
end
for i = 1, #counts do
  result[#result + 1] = counts[i]
end
return result
"""


@dataclasses.dataclass(frozen=True)
class Admission:
    """What the script did: the slot admitted (None: no slot had budget) and its count with this call; when none
    was admitted, every candidate's counts (oldest first) and hold (wall-clock seconds) as they were, for the
    wait (empty when one was)."""

    slot: int | None
    used: int
    counts: dict[int, tuple[int, ...]]
    held_until: dict[int, float]


def client_for_alias(alias: str) -> redis.Redis | None:
    """A redis-py client on the server of the cache `alias` (its first LOCATION: Django's write server), one per
    process; None when that cache is not Django's Redis cache (or a subclass)."""
    config = settings.CACHES.get(alias) or {}
    backend = config.get("BACKEND")
    if not backend or not issubclass(import_string(backend), RedisCache):
        return None
    if redis is None:
        raise missing_extra(ModuleNotFoundError(name="redis"), "redis", needed_for=f"Pacing on the {alias!r} cache")
    location = config.get("LOCATION") or ""
    url = (location.split(",") if isinstance(location, str) else list(location))[0].strip()
    # The socket timeouts bound what a hung Redis costs a call, as they do for the cache; the other OPTIONS
    # belong to the cache backend.
    options = {k: v for k, v in (config.get("OPTIONS") or {}).items() if k.startswith("socket_")}
    return processes.per_process(("genesys.pacing_redis", alias, url), lambda: redis.Redis.from_url(url, **options))


def usable(cache: BaseCache, client: redis.Redis | None) -> bool:
    """Whether admission can run as a script: a Redis client for the cache, which does not say it serves from a
    fallback right now (cache_contract.FallbackSignal: the script would count where the cache does not read)."""
    return client is not None and not serving_fallback(cache)


def admit(
    cache: BaseCache,
    client: redis.Redis,
    slots: Sequence[int],
    count_keys: dict[int, list[str]],
    hold_keys: dict[int, str],
    *,
    budget: int,
    now: float,
    ttl: int,
) -> Admission | None:
    """Admit one call on the candidate with the fewest calls in its span (the first of `slots` on a tie), if any
    has budget and no hold. None when Redis did not answer: the caller takes the generic path, whose cache falls
    back on its own."""
    keys: list[str] = []
    for slot in slots:
        keys += [cache.make_key(key) for key in count_keys[slot]]
        keys.append(cache.make_key(hold_keys[slot]))
    per = len(count_keys[slots[0]]) + 1
    try:
        reply: Any = client.eval(_ADMIT, len(keys), *keys, per, budget, int(now * 1000), ttl)
    except (RedisError, OSError):
        return None
    chosen, used = int(reply[0]), int(reply[1])
    if chosen >= 0:
        return Admission(slot=slots[chosen], used=used, counts={}, held_until={})
    summary, flat = reply[2 : 2 + 2 * len(slots)], reply[2 + 2 * len(slots) :]
    span = per - 1
    return Admission(
        slot=None,
        used=used,
        counts={slot: tuple(int(n) for n in flat[i * span : (i + 1) * span]) for i, slot in enumerate(slots)},
        held_until={slot: int(summary[2 * i + 1]) / 1000 for i, slot in enumerate(slots)},
    )
