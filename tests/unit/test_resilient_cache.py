"""config.cache.ResilientRedisCache: one fallback and one circuit per process, bounded cost of a hung Redis."""

import logging
import os
import threading
import time

import pytest
import redis
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited

from config.cache import FALLBACK, PROBE, ResilientRedisCache
from tests.fixtures.redis_outage import HungRedis, resilient_caches_at


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resilient(url: str, prefix: str = "t", **options) -> ResilientRedisCache:
    return ResilientRedisCache(
        url,
        {"KEY_PREFIX": prefix, "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1, **options}},
    )


@pytest.fixture
def unreachable_cache(unreachable_redis_url):
    cache = resilient(unreachable_redis_url)
    yield cache
    cache.close()


def in_threads(count: int, work) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            work()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_an_unreachable_redis_falls_back_to_process_memory_and_says_so_once(unreachable_cache, caplog):
    cache = unreachable_cache
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        assert cache.add("lock", "me", timeout=10) is True
        assert cache.add("lock", "you", timeout=10) is False  # the lock still excludes, within the process
        cache.set("token", {"access_token": "x"}, timeout=10)
        assert cache.get("token") == {"access_token": "x"}
        assert cache.get_many(["token", "missing"]) == {"token": {"access_token": "x"}}
        with pytest.raises(ValueError):
            cache.incr("no-such-counter")  # Django's contract, which django-ratelimit relies on
        cache.set("counter", 1)
        assert cache.incr("counter") == 2
        assert cache.decr("counter") == 1
        cache.delete("token")
        assert cache.get("token", "gone") == "gone"
    assert cache.serving_fallback
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


def test_instances_of_one_process_share_the_fallback_and_the_circuit(unreachable_redis_url):
    # Django makes one backend instance per thread: they must behave as one cache.
    first, second = resilient(unreachable_redis_url), resilient(unreachable_redis_url)
    assert first.add("lock", "first", timeout=10) is True
    assert second.serving_fallback  # the circuit first opened is second's too
    assert second.add("lock", "second", timeout=10) is False
    assert second.get("lock") == "first"
    other_prefix = resilient(unreachable_redis_url, prefix="other")
    assert other_prefix.get("lock") is None  # another cache (LOCATION + KEY_PREFIX) has a fallback of its own


def test_a_rate_limit_holds_across_threads_while_redis_is_unreachable(settings, unreachable_redis_url):
    settings.CACHES = resilient_caches_at(unreachable_redis_url, prefix="rl", fallback_seconds=None)
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.7")
    admitted: list[bool] = []
    instances: list = []  # the objects themselves: ids of collected ones would be reused
    lock = threading.Lock()

    def attempts():
        for _ in range(4):
            limited = is_ratelimited(request, group="t-login", key="ip", rate="5/m", method="POST", increment=True)
            with lock:
                admitted.append(not limited)
                instances.append(caches["default"])

    errors = in_threads(8, attempts)
    assert not errors, errors
    # Each thread really had its own backend instance, as under gunicorn threads.
    assert len({id(instance) for instance in instances}) == 8
    assert len(admitted) == 32
    assert sum(admitted) == 5


def test_after_the_open_period_one_caller_probes_and_the_others_stay_off_redis(unreachable_cache, monkeypatch):
    cache = unreachable_cache
    clock = FakeClock()
    cache.circuit.clock = clock
    cache.get("x")
    assert cache.serving_fallback
    assert cache.circuit.route() == FALLBACK
    clock.now += cache.circuit.open_seconds + 0.01
    assert cache.circuit.route() == PROBE
    assert cache.circuit.route() == FALLBACK  # one probe at a time
    cache.circuit.failed(on_open=lambda: None)  # the probe found Redis still down: open again, for the full period
    assert cache.circuit.route() == FALLBACK
    clock.now += cache.circuit.open_seconds + 0.01
    cache.get("x")  # this call is the probe: refused again, back on the fallback
    assert cache.serving_fallback
    assert cache.circuit.route() == FALLBACK


def test_a_probe_that_gets_an_answer_closes_the_circuit_and_empties_the_fallback(unreachable_cache, caplog):
    cache = unreachable_cache
    clock = FakeClock()
    cache.circuit.clock = clock
    cache.set("session", "from-the-outage")  # opens the circuit; stored in the fallback
    assert cache.get("session") == "from-the-outage"
    clock.now += cache.circuit.open_seconds + 0.01
    with caplog.at_level(logging.WARNING, logger="config.cache"), pytest.MonkeyPatch.context() as patch:
        patch.setattr(RedisCache, "get", lambda self, key, default=None, version=None: "from-redis")
        assert cache.get("session") == "from-redis"  # the probe, answered by "Redis"
    assert not cache.serving_fallback
    assert "reachable again" in caplog.records[-1].getMessage()
    # Redis down once more: nothing from the earlier outage comes back (a session since ended, an old counter).
    assert cache.get("session") is None
    assert cache.serving_fallback


def test_a_hung_redis_costs_one_timeout_then_calls_stay_off_the_socket(hung_redis):
    cache = resilient(hung_redis.url, fallback_seconds=60)
    started = time.monotonic()
    cache.get("first")
    first_ms = (time.monotonic() - started) * 1000
    assert cache.serving_fallback
    # 0.1 s timeouts: without them (redis-py's default is none) this call would never return. The bound only
    # tells the two apart, with room for a loaded machine; the circuit is shown by the socket staying untouched.
    assert first_ms < 5000
    touched = hung_redis.touches()
    assert touched[0] >= 1  # the first call did reach the hung server
    for i in range(40):
        cache.set(f"k{i}", i)
        assert cache.get(f"k{i}") == i
    assert hung_redis.touches() == touched  # no connection, no byte after the circuit opened
    cache.close()


def test_a_forked_child_starts_with_a_fresh_fallback_and_circuit(unreachable_cache):
    cache = unreachable_cache
    cache.set("parent-only", 1)
    assert cache.serving_fallback
    parent_state = cache.shared
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only, never run pytest's machinery here
        fresh = cache.shared is not parent_state and not cache.serving_fallback
        ok = fresh and cache.fallback.get("parent-only") is None
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.shared is parent_state and cache.get("parent-only") == 1


@pytest.mark.needs_services
def test_with_redis_up_values_are_shared_between_cache_instances():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    first = ResilientRedisCache(url, {"KEY_PREFIX": "resilient-test"})
    second = ResilientRedisCache(url, {"KEY_PREFIX": "resilient-test"})
    try:
        first.set("shared", "yes", timeout=10)
        assert second.get("shared") == "yes"
        assert not first.serving_fallback and not second.serving_fallback
        first.delete("shared")
    finally:
        first.close()
        second.close()


@pytest.mark.needs_services
def test_with_redis_up_incr_keeps_the_expiry_and_refuses_a_missing_key():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    cache = ResilientRedisCache(url, {"KEY_PREFIX": f"incr-test-{os.getpid()}-{time.monotonic_ns()}"})
    try:
        with pytest.raises(ValueError):
            cache.incr("missing")
        assert cache.get("missing") is None  # not created by the refused incr
        cache.set("counter", 1, timeout=60)
        assert cache.incr("counter", 4) == 5 and cache.incr("counter", -2) == 3
        client = redis.Redis.from_url(url)
        assert 0 < client.ttl(cache.make_key("counter")) <= 60  # the expiry survives the increments
        client.close()

        assert not in_threads(8, lambda: [cache.incr("counter") for _ in range(50)])
        assert cache.get("counter") == 3 + 8 * 50
    finally:
        cache.delete_many(["counter", "missing"])
        cache.close()


def test_hung_redis_fixture_is_silent():
    # The stand-in must never answer, or the tests above would prove nothing.
    import socket

    server = HungRedis()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            sock.settimeout(0.2)
            with pytest.raises(TimeoutError):
                sock.recv(1)
    finally:
        server.close()
