import logging
import socket
import time

import pytest

from config.cache import ResilientRedisCache


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


@pytest.fixture
def unreachable_cache():
    cache = ResilientRedisCache(
        f"redis://127.0.0.1:{closed_port()}/0",
        {"KEY_PREFIX": "t", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}},
    )
    yield cache
    cache.close()


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
        cache.delete("token")
        assert cache.get("token", "gone") == "gone"
    assert cache.degraded
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


def test_after_the_fallback_window_redis_is_tried_again(unreachable_cache, monkeypatch):
    cache = unreachable_cache
    monkeypatch.setattr(ResilientRedisCache, "FALLBACK_SECONDS", 0.2)
    cache.get("x")
    assert cache.degraded
    time.sleep(0.25)
    assert not cache.degraded
    cache.get("x")  # tried Redis, refused again: back on the fallback
    assert cache.degraded


@pytest.mark.needs_services
def test_with_redis_up_values_are_shared_between_cache_instances():
    import os

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    first = ResilientRedisCache(url, {"KEY_PREFIX": "resilient-test"})
    second = ResilientRedisCache(url, {"KEY_PREFIX": "resilient-test"})
    try:
        first.set("shared", "yes", timeout=10)
        assert second.get("shared") == "yes"
        assert not first.degraded and not second.degraded
        first.delete("shared")
    finally:
        first.close()
        second.close()
