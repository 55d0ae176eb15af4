"""The API pacing (messaging.genesys.pacing) on a local-memory cache with a fake clock: the budget and its headroom, the
sliding span, the bounded wait and the fail-fast error, slot choice, the corrections from Genesys' answers, and the
pool and client around it (HTTP replaced)."""

import contextlib
import dataclasses
import logging
import math
import os
import random
import threading
import time

import pytest
import redis
import requests
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from config.cache import ResilientRedisCache
from messaging import processes
from messaging.cache_contract import FallbackSignal, serving_fallback
from messaging.genesys.client import GenesysClient, pacing_wait
from messaging.genesys.errors import GenesysRateLimited
from messaging.genesys.oauth import AccessToken, TokenService
from messaging.genesys.pacing import Permit, RateLimiter, budget_for, get_rate_limiter, last_rate_limit_headers
from messaging.genesys.pool import SingleToken, TokenPool

WINDOW = 60.0
BUCKETS = 12
STEP = WINDOW / BUCKETS


@pytest.fixture(autouse=True)
def _genesys_settings(settings):
    settings.GENESYS_CLIENT_ID = "pacing-client"
    settings.GENESYS_CLIENT_SECRET = "pacing-secret"
    settings.GENESYS_API_BASE = "https://api.example.test"
    settings.GENESYS_LOGIN_BASE = "https://login.example.test"
    settings.GENESYS_TOKEN_RATE_PER_MINUTE = 20
    settings.GENESYS_TOKEN_RATE_HEADROOM = 0.1
    settings.GENESYS_PACING = True
    yield
    processes.reset()


@pytest.fixture
def locmem():
    cache = LocMemCache(f"pacing-{time.monotonic_ns()}", {})
    yield cache
    cache.clear()


REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def redis_cache(backend: type[RedisCache] = RedisCache) -> RedisCache:
    """Django's Redis cache (or the site's, a subclass) on CI's Redis, under a key prefix no other test uses."""
    return backend(REDIS_URL, {"KEY_PREFIX": f"pacing-test-{os.getpid()}-{time.monotonic_ns()}"})


def limiter_on(cache, *, script: bool = True, **kwargs) -> RateLimiter:
    """A limiter on `cache`; on Redis, with the client its atomic script runs on (as the site's default has)
    unless `script` is False (then the generic path: read, increment, check)."""
    client = redis.Redis.from_url(REDIS_URL) if script and isinstance(cache, RedisCache) else None
    return RateLimiter(cache=cache, redis=client, **kwargs)


@dataclasses.dataclass
class Backend:
    """A cache every process shares, and whether admission runs the Redis script on it."""

    cache: BaseCache
    script: bool

    def limiter(self, **kwargs) -> RateLimiter:
        return limiter_on(self.cache, script=self.script, **kwargs)


@pytest.fixture(
    params=[
        "locmem",
        # Django's own Redis cache and the site's (messaging.cache_contract: both fit), each with the script and
        # on the generic path.
        pytest.param("redis", marks=pytest.mark.needs_services),
        pytest.param("redis-generic", marks=pytest.mark.needs_services),
        pytest.param("resilient", marks=pytest.mark.needs_services),
        pytest.param("resilient-generic", marks=pytest.mark.needs_services),
    ]
)
def backend(request, locmem):
    """The cache every process shares: local memory (the generic path: read, increment, check) or Redis (one
    atomic script, messaging.genesys.pacing_redis, or the generic path). The limiter's behaviour must not tell
    them apart."""
    if request.param == "locmem":
        yield Backend(locmem, script=False)
        return
    kind, _, path = request.param.partition("-")
    cache = redis_cache(ResilientRedisCache if kind == "resilient" else RedisCache)
    yield Backend(cache, script=path != "generic")
    cache.close()


class FakeClock:
    """Wall clock under the test's control; `sleep` advances it and is recorded."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance_to_bucket_start(self) -> None:
        self.now = (math.floor(self.now / STEP) + 1) * STEP


@pytest.fixture
def clock():
    clock = FakeClock()
    clock.advance_to_bucket_start()
    return clock


@pytest.fixture
def limiter(backend, clock):
    return backend.limiter(window=WINDOW, buckets=BUCKETS, clock=clock, sleep=clock.sleep)


def take_all(limiter: RateLimiter, slots: int = 1) -> list[Permit]:
    permits = []
    while True:
        try:
            permits.append(limiter.acquire(slots, max_wait=0))
        except GenesysRateLimited:
            return permits


# --- the budget ---


@pytest.mark.parametrize(
    "rate,headroom,budget",
    [(300, 0.1, 270), (20, 0.1, 18), (120, 0.1, 108), (2, 0.1, 2), (1, 0.5, 1), (300, 0.0, 300), (10, 5.0, 1)],
)
def test_budget_is_the_rate_minus_the_headroom(rate, headroom, budget):
    assert budget_for(rate, headroom) == budget


def test_admits_the_budget_then_fails_fast_with_when_to_retry(limiter, clock):
    permits = take_all(limiter)
    assert len(permits) == 18
    assert [p.used for p in permits] == list(range(1, 19))
    started = clock.now
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(1, max_wait=0)
    assert clock.now == started and not clock.sleeps  # failed at once, slept nothing
    error = caught.value
    assert error.retryable and error.code == "pacing.budget.exhausted"
    # The calls were counted in this bucket; they leave the span when the bucket 12 buckets later ends.
    assert error.retry_after == pytest.approx(WINDOW + STEP)


def test_budget_frees_only_once_the_whole_span_has_passed(limiter, clock):
    start = clock.now
    assert len(take_all(limiter)) == 18
    clock.now = start + WINDOW + STEP - 0.001
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(1, max_wait=0)
    assert caught.value.retry_after == pytest.approx(0.001, abs=1e-3)
    clock.now = start + WINDOW + STEP
    assert len(take_all(limiter)) == 18


def test_calls_spread_over_the_span_free_bucket_by_bucket(limiter, clock):
    start = clock.now
    for _ in range(6):  # 3 calls in each of 6 buckets
        for _ in range(3):
            limiter.acquire(1, max_wait=0)
        clock.now += STEP
    clock.now = start + 9 * STEP
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(1, max_wait=0)
    # The oldest bucket (3 calls) leaves first: one more call fits when bucket start+13 begins.
    assert caught.value.retry_after == pytest.approx(start + 13 * STEP - clock.now)
    clock.now = start + 13 * STEP
    assert len(take_all(limiter)) == 3


def test_waits_within_the_bound_when_budget_frees_in_time(limiter, clock):
    start = clock.now
    take_all(limiter)
    clock.now = start + WINDOW + STEP - 0.5
    permit = limiter.acquire(1, max_wait=2.0)
    assert permit.used == 1
    assert clock.now >= start + WINDOW + STEP
    assert 0.5 <= sum(clock.sleeps) < 0.5 + 0.1


def test_fails_fast_when_budget_frees_after_the_bound(limiter, clock):
    take_all(limiter)
    clock.now += 10
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(1, max_wait=2.0)
    assert not clock.sleeps  # no point sleeping 2 s to fail anyway
    assert caught.value.retry_after == pytest.approx(WINDOW + STEP - 10)


def test_any_sixty_seconds_stay_within_the_limit_wherever_genesys_minute_starts(backend, clock):
    """A simulated Genesys that counts like the sandbox (a fixed minute per token, opened by the first request
    after the previous one closed) never refuses a paced call, under random bursty load far above the limit."""
    limiter = backend.limiter(window=WINDOW, buckets=BUCKETS, clock=clock, sleep=clock.sleep)
    rng = random.Random(7)
    window_start, window_count, refused, admitted = -1e18, 0, 0, 0
    start = clock.now
    while clock.now < start + 30 * WINDOW:
        # Bursts and lulls: sometimes 10 calls at once, sometimes a pause of up to 20 s.
        clock.now += rng.choice([0.0, 0.0, 0.01, 0.3, 2.0, rng.uniform(0, 20)])
        try:
            limiter.acquire(1, max_wait=0)
        except GenesysRateLimited:
            continue
        admitted += 1
        arrival = clock.now + rng.uniform(0, 0.05)  # the request reaches Genesys a little later
        if arrival - window_start >= WINDOW:
            window_start, window_count = arrival, 0
        if window_count >= 20:
            refused += 1
        else:
            window_count += 1
    assert refused == 0
    # And pacing gives away little: 18 per 65 s at saturation.
    assert admitted >= 0.9 * 18 * (30 * WINDOW) / (WINDOW + STEP)


def test_threads_together_admit_exactly_the_budget(backend):
    limiter = backend.limiter()
    admitted, refused = [], []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(10):
            try:
                admitted.append(limiter.acquire(2, max_wait=0))
            except GenesysRateLimited:
                refused.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(admitted) == 36 and len(refused) == 44
    assert sorted(p.slot for p in admitted).count(0) == 18


@pytest.mark.needs_services
@pytest.mark.parametrize("backend_class", [RedisCache, ResilientRedisCache], ids=["redis", "resilient"])
def test_on_redis_one_script_admits_and_holds_without_the_generic_read(backend_class, clock, monkeypatch):
    cache = redis_cache(backend_class)
    limiter = limiter_on(cache, window=WINDOW, buckets=BUCKETS, clock=clock, sleep=clock.sleep)
    generic = pytest.fail  # the read-then-increment path must not run while Redis answers
    monkeypatch.setattr(cache, "get_many", lambda *args, **kwargs: generic("the generic read ran"))
    monkeypatch.setattr(cache, "incr", lambda *args, **kwargs: generic("the generic increment ran"))
    try:
        assert [p.used for p in take_all(limiter, slots=2)] == [1, 1, 2, 2] + [n for n in range(3, 19) for _ in "ab"]
        clock.now += WINDOW + STEP  # the span has passed: slot 1 is free again, slot 0 is held by Genesys
        limiter.hold(limiter.scope(), 0, 10.0)
        assert {limiter.acquire(2, max_wait=0).slot for _ in range(5)} == {1}
        clock.now += 10.0
        assert limiter.acquire(2, max_wait=0).slot == 0  # the hold is over, slot 0 has the most budget
    finally:
        cache.close()


def test_an_unreachable_redis_paces_from_process_memory(unreachable_redis_url, clock):
    cache = ResilientRedisCache(
        unreachable_redis_url, {"KEY_PREFIX": "pacing", "OPTIONS": {"socket_connect_timeout": 0.1}}
    )
    limiter = RateLimiter(cache=cache, window=WINDOW, buckets=BUCKETS, clock=clock, sleep=clock.sleep)
    assert [p.used for p in take_all(limiter)] == list(range(1, 19))
    assert cache.serving_fallback
    cache.close()


def test_a_cache_serving_its_fallback_keeps_admission_off_the_script(unreachable_redis_url, clock):
    """messaging.cache_contract.FallbackSignal: the script would count in Redis while the cache reads its own
    memory, so while the cache says it serves its fallback the generic path counts where the cache reads."""
    cache = ResilientRedisCache(
        unreachable_redis_url, {"KEY_PREFIX": "pacing", "OPTIONS": {"socket_connect_timeout": 0.1}}
    )

    class NoScript:
        def eval(self, *args, **kwargs):
            pytest.fail("the script ran while the cache served its fallback")

    limiter = RateLimiter(cache=cache, redis=NoScript(), window=WINDOW, buckets=BUCKETS, clock=clock)
    cache.get("anything")  # Redis does not answer: the circuit opens
    assert cache.serving_fallback
    assert [p.used for p in take_all(limiter)] == list(range(1, 19))
    cache.close()


def test_only_a_cache_that_says_so_serves_a_fallback(unreachable_redis_url):
    plain = RedisCache(unreachable_redis_url, {})
    site = ResilientRedisCache(unreachable_redis_url, {"OPTIONS": {"socket_connect_timeout": 0.1}})
    assert isinstance(site, FallbackSignal) and not isinstance(plain, FallbackSignal)
    assert not serving_fallback(plain) and not serving_fallback(site)
    site.get("anything")
    with pytest.raises(redis.exceptions.ConnectionError):  # Django's own cache has no fallback
        plain.get("anything")
    assert serving_fallback(site) and not serving_fallback(plain)
    site.close()
    plain.close()


class SlowIncrementCache(LocMemCache):
    """Local memory whose next increment runs `before_increment` first: what another process does while ours is on
    its way to the cache."""

    def __init__(self):
        super().__init__(f"slow-{time.monotonic_ns()}", {})
        self.before_increment = None

    def incr(self, key, delta=1, version=None):
        hook, self.before_increment = self.before_increment, None
        if hook is not None:
            hook()
        return super().incr(key, delta, version)


def test_a_call_whose_bucket_ends_before_its_increment_lands_never_passes_the_budget(clock):
    # One unit left. Process A reads at the end of bucket i; before its increment lands the next bucket begins and
    # process B, reading bucket i without A's unit, takes that unit in bucket i+1. A must not take one too.
    cache = SlowIncrementCache()
    first, second = (
        RateLimiter(cache=cache, window=WINDOW, buckets=BUCKETS, clock=clock, sleep=clock.sleep) for _ in range(2)
    )
    for _ in range(17):
        first.acquire(1, max_wait=0)
    clock.now += STEP - 0.001  # the last millisecond of the bucket after the 17

    def next_bucket_begins_and_another_process_takes_the_last_unit():
        clock.now += 0.002
        taken.append(second.acquire(1, max_wait=0))

    taken = []
    cache.before_increment = next_bucket_begins_and_another_process_takes_the_last_unit
    with pytest.raises(GenesysRateLimited):
        first.acquire(1, max_wait=0)
    assert [p.used for p in taken] == [18]
    assert first.usage(1)[0][0].used == 18  # A gave its unit back: the span holds the budget, not 19
    assert not clock.sleeps


class ReadThenWriteCache(BaseCache):
    """A cache whose incr is a read then a write, as Django's database cache does it (on local memory here)."""

    def __init__(self):
        super().__init__({})
        self.inner = LocMemCache(f"rtw-{time.monotonic_ns()}", {})

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.inner.add(key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self.inner.get(key, default, version)

    def get_many(self, keys, version=None):
        return self.inner.get_many(keys, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self.inner.set(key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        value = self.inner.get(key, version=version)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        time.sleep(0.0005)  # widen the gap in which another thread's increment would be lost
        self.inner.set(key, value + delta, version=version)
        return value + delta


def test_threads_admit_exactly_the_budget_on_a_read_then_write_cache():
    limiter = RateLimiter(cache=ReadThenWriteCache())
    admitted = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(5):
            with contextlib.suppress(GenesysRateLimited):
                admitted.append(limiter.acquire(1, max_wait=0))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(admitted) == 18
    assert limiter.usage(1)[0][0].used == 18


# --- slots ---


def test_calls_go_to_the_slot_with_most_budget_left(limiter):
    first = [limiter.acquire(3, max_wait=0).slot for _ in range(3)]
    assert sorted(first) == [0, 1, 2]  # each went to an untouched slot
    permits = take_all(limiter, slots=3)
    assert len(permits) == 3 * 18 - 3
    usages, budget = limiter.usage(3)
    assert budget == 18 and [u.used for u in usages] == [18, 18, 18]


@pytest.mark.parametrize("kind", ["locmem", pytest.param("redis", marks=pytest.mark.needs_services)])
def test_ties_are_broken_at_random(kind):
    firsts = set()
    for i in range(30):
        cache = LocMemCache(f"ties-{i}-{time.monotonic_ns()}", {}) if kind == "locmem" else redis_cache()
        firsts.add(limiter_on(cache).acquire(4, max_wait=0).slot)
    assert len(firsts) > 1


def test_a_pinned_slot_waits_for_its_own_budget(limiter):
    for _ in range(18):
        limiter.acquire(2, max_wait=0, slot=1)
    with pytest.raises(GenesysRateLimited):
        limiter.acquire(2, max_wait=0, slot=1)
    assert limiter.acquire(2, max_wait=0).slot == 0


# --- corrections from Genesys' answers ---


def headers(count: int, allowed: int = 20, reset: int = 30) -> dict[str, str]:
    return {
        "inin-ratelimit-count": str(count),
        "inin-ratelimit-allowed": str(allowed),
        "inin-ratelimit-reset": str(reset),
    }


def test_a_higher_count_from_genesys_raises_ours(limiter):
    permit = limiter.acquire(1, max_wait=0)
    limiter.observe(permit, 200, headers(count=11))
    assert limiter.usage(1)[0][0].used == 11
    assert len(take_all(limiter)) == 7


def test_a_lower_count_from_genesys_never_lowers_ours(limiter):
    permits = [limiter.acquire(1, max_wait=0) for _ in range(5)]
    limiter.observe(permits[-1], 200, headers(count=1))
    assert limiter.usage(1)[0][0].used == 5


def test_a_smaller_bucket_in_the_headers_never_shrinks_the_token_budget(limiter, settings, caplog):
    # inin-ratelimit-allowed describes the bucket that applied to that answer (a route's own 180, say), not the
    # token's budget: the budget stays on the configured rate.
    settings.GENESYS_TOKEN_RATE_PER_MINUTE = 300
    permit = limiter.acquire(1, max_wait=0)
    assert permit.budget == 270
    with caplog.at_level(logging.INFO, logger="messaging.genesys.pacing"):
        limiter.observe(permit, 200, headers(count=179, allowed=180))
    assert limiter.usage(1)[1] == 270
    assert limiter.usage(1)[0][0].used == 1  # another bucket's count is not the token's
    assert len(take_all(limiter)) == 269  # not held although that bucket is at its limit
    assert "allows 180" in caplog.text and "configured 300" in caplog.text


def test_a_larger_bucket_in_the_headers_never_widens_the_token_budget(limiter, settings):
    settings.GENESYS_TOKEN_RATE_PER_MINUTE = 20
    permit = limiter.acquire(1, max_wait=0)
    limiter.observe(permit, 200, headers(count=1, allowed=1000))
    assert limiter.usage(1)[1] == 18
    assert len(take_all(limiter)) == 17


def test_the_last_headers_are_kept_as_a_signal(limiter, clock):
    assert limiter.last_headers() is None
    permit = limiter.acquire(2, max_wait=0, slot=1)
    limiter.observe(permit, 200, headers(count=3, allowed=180, reset=12))
    seen = limiter.last_headers()
    assert (seen.slot, seen.status, seen.count, seen.allowed, seen.reset) == (1, 200, 3, 180, 12.0)
    assert seen.seen_at == clock.now
    limiter.observe(permit, 200, {})  # an answer without the headers keeps the last figures
    assert limiter.last_headers() == seen


def test_the_process_wide_limiter_exposes_its_last_headers(settings):
    limiter = get_rate_limiter()
    assert get_rate_limiter() is limiter
    limiter.observe(Permit(slot=0, scope=limiter.scope()), 200, headers(count=5, allowed=300))
    assert last_rate_limit_headers().count == 5


def test_a_429_holds_the_slot_until_genesys_reset(limiter, clock):
    permit = limiter.acquire(2, max_wait=0, slot=0)
    limiter.observe(permit, 429, {**headers(count=20, reset=7), "Retry-After": "7"})
    assert all(limiter.acquire(2, max_wait=0).slot == 1 for _ in range(5))
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(2, max_wait=0, slot=0)
    # Genesys' minute ends in 7 s; its count sits in our bucket where that minute began (5 s granularity).
    assert 7 <= caught.value.retry_after <= 7 + STEP
    clock.now += caught.value.retry_after
    assert limiter.acquire(2, max_wait=0, slot=0).slot == 0


def test_a_correction_leaves_the_span_when_genesys_minute_ends(limiter, clock):
    permit = limiter.acquire(1, max_wait=0)
    clock.now += 40
    limiter.observe(permit, 200, headers(count=15, reset=20))  # Genesys' minute began 40 s ago, 15 calls in it
    assert limiter.usage(1)[0][0].used == 15
    assert len(take_all(limiter)) == 3
    clock.now += 20 + STEP  # Genesys' minute is over: so are the 15 calls in our count
    assert len(take_all(limiter)) == 15


def test_a_429_without_headers_holds_for_retry_after(limiter):
    permit = limiter.acquire(1, max_wait=0)
    limiter.observe(permit, 429, {"Retry-After": "3"})
    with pytest.raises(GenesysRateLimited) as caught:
        limiter.acquire(1, max_wait=0)
    assert caught.value.retry_after == pytest.approx(3)


def test_retries_inside_a_call_are_counted(limiter):
    permit = limiter.acquire(1, max_wait=0)
    limiter.observe(permit, 200, {}, attempts=3)
    assert limiter.usage(1)[0][0].used == 3


def test_a_broken_cache_never_fails_the_observed_call(limiter, monkeypatch):
    permit = limiter.acquire(1, max_wait=0)
    monkeypatch.setattr(limiter.cache, "get_many", lambda *a, **k: (_ for _ in ()).throw(OSError("down")))
    limiter.observe(permit, 200, headers(count=15))  # no exception


def test_nonsense_headers_are_ignored(limiter):
    permit = limiter.acquire(1, max_wait=0)
    limiter.observe(permit, 200, {"inin-ratelimit-count": "lots", "inin-ratelimit-allowed": "-4"})
    usages, budget = limiter.usage(1)
    assert usages[0].used == 1 and budget == 18


def test_keys_name_the_api_host_and_client_never_a_secret(limiter):
    assert limiter.scope() == "genesys:rate:api.example.test:pacing-client"
    assert "pacing-secret" not in limiter.scope()


# --- the pool and the client ---


class StubService(TokenService):
    """A TokenService whose fetch counts, per slot, instead of calling a login host."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.fetches = 0

    def fetch(self) -> AccessToken:
        self.fetches += 1
        now = time.time()
        return AccessToken(f"token-{self.slot}-{self.fetches}", 3600, now, now + 3000)


class StubPool(TokenPool):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.stubs: dict[int, StubService] = {}

    def service(self, slot: int) -> TokenService:
        return self.stubs.setdefault(slot, StubService(slot=slot, cache=self._cache))


def _response(status: int, token: str, extra: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b'{"id": "c1", "token": "%s"}' % token.encode()
    response.headers["Content-Type"] = "application/json"
    response.headers.update(extra or {})
    return response


def test_pacing_off_uses_the_slots_in_turn_and_counts_nothing(locmem, settings):
    settings.GENESYS_PACING = False
    pool = TokenPool(size=3, cache=locmem)
    assert sorted(pool.acquire().slot for _ in range(3)) == [0, 1, 2]
    assert not pool.acquire().paced
    assert pool.limiter.usage(3)[0][0].used == 0


def test_a_401_refetches_the_token_of_its_own_slot_only(locmem, monkeypatch):
    pool = StubPool(size=2, cache=locmem)
    client = GenesysClient(tokens=pool)
    for slot in (0, 1):
        pool.service(slot).get_token()
    revoked = "token-1-1"
    seen: list[str] = []

    def request(method, url, headers=None, **kwargs):
        token = headers["Authorization"].removeprefix("Bearer ")
        seen.append(token)
        return _response(401 if token == revoked else 200, token)

    monkeypatch.setattr(client.session, "request", request)
    for _ in range(6):
        client.get_message_conversation("c1")
    assert pool.stubs[1].fetches == 2 and pool.stubs[0].fetches == 1
    assert seen.count(revoked) == 1 and "token-1-2" in seen
    usages, _ = pool.limiter.usage(2)
    assert sum(u.used for u in usages) == 7  # six calls and the retry, which spent its own slot's budget
    assert seen[seen.index(revoked) + 1] == "token-1-2"


def test_client_fails_fast_when_the_pool_is_spent(locmem, monkeypatch, settings):
    settings.GENESYS_PACING_MAX_WAIT = 0.2
    pool = StubPool(size=1, cache=locmem)
    client = GenesysClient(tokens=pool)
    sent = []
    monkeypatch.setattr(client.session, "request", lambda *a, **k: sent.append(1) or _response(200, "t"))
    slept: list[float] = []
    monkeypatch.setattr(pool.limiter, "sleep", slept.append)
    for _ in range(18):
        client.get_message_conversation("c1")
    with pytest.raises(GenesysRateLimited) as caught:
        client.get_message_conversation("c1")
    assert slept == []  # budget frees in about a minute, past the 0.2 s bound: nobody waited for it
    assert caught.value.retry_after > 1 and len(sent) == 18


def test_pacing_wait_lengthens_the_bound_for_a_block(locmem, monkeypatch, settings):
    settings.GENESYS_PACING_MAX_WAIT = 0.0
    waits = []
    pool = StubPool(size=1, cache=locmem)
    monkeypatch.setattr(pool, "acquire", lambda max_wait=None, slot=None: waits.append(max_wait) or Permit(0))
    client = GenesysClient(tokens=pool)
    monkeypatch.setattr(client.session, "request", lambda *a, **k: _response(200, "t"))
    client.get_message_conversation("c1")
    with pacing_wait(30):
        client.get_message_conversation("c1")
    client.get_message_conversation("c1")
    assert waits == [0.0, 30.0, 0.0]


def test_a_single_token_provider_is_used_unpaced(monkeypatch):
    class Provider:
        def get_token(self, force_refresh=False):
            return "plain"

        def invalidate(self, token=None):
            pass

    client = GenesysClient(tokens=SingleToken(Provider()))
    monkeypatch.setattr(client.session, "request", lambda *a, **k: _response(200, "plain"))
    for _ in range(50):
        client.get_message_conversation("c1")


def test_the_script_client_is_built_from_the_cache_settings_and_only_for_redis(settings):
    from messaging import processes
    from messaging.genesys.pacing_redis import client_for_alias

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:6390/7,redis://127.0.0.1:6391/7",
            "OPTIONS": {"socket_timeout": 0.2, "fallback_seconds": 3},
        },
    }
    assert client_for_alias("default") is None
    client = client_for_alias("redis")
    try:
        kwargs = client.connection_pool.connection_kwargs
        # The write server (the first), with the cache's socket timeout; the cache's own options stay out.
        assert (kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == (6390, 7, 0.2)
        assert "fallback_seconds" not in kwargs
        assert client_for_alias("redis") is client  # one per process
    finally:
        processes.reset(("genesys.pacing_redis", "redis", "redis://127.0.0.1:6390/7"))
