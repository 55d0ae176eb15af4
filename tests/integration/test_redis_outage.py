"""The site while Redis is down or hung: pages keep answering, members stay signed in, and a hung Redis costs one
request one socket timeout, after which no request touches the socket until the circuit's probe."""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client

from tests.fixtures.redis_outage import resilient_caches_at

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)  # the page threads use connections of their own
def test_pages_of_a_signed_in_member_while_redis_hangs(alice, settings, hung_redis, caplog):
    settings.CACHES = resilient_caches_at(hung_redis.url, prefix="outage")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    client = Client()
    client.force_login(alice)  # the session's first cache write meets the hung Redis and opens the circuit
    from django.core.cache import cache

    assert cache.serving_fallback
    # The session's first page issues its member-token grant (a write); later pages only read. The threads below
    # share that session, and SQLite's in-memory test database locks whole tables between threads, so the one
    # write happens here, before them.
    assert client.get("/").status_code == 200
    touched = hung_redis.touches()
    latencies: list[float] = []
    failures: list[str] = []

    def pages():  # as one gunicorn thread: its own cache backend instance, the process's one circuit
        browser = Client()
        browser.cookies = client.cookies
        for _ in range(10):
            started = time.perf_counter()
            response = browser.get("/")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or b"Alice" not in response.content:
                failures.append(f"{response.status_code} signed in: {b'Alice' in response.content}")
        connections.close_all()

    threads = [threading.Thread(target=pages) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures  # still signed in: the session came from the fallback or the database
    assert len(latencies) == 40
    assert hung_redis.touches() == touched  # no thread opened a connection or sent a byte while the circuit is open
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1
    # Measured, not asserted (timing on a shared 2-core box); bench/redis_outage.py reports the same figures.
    print(f"pages while redis hangs: p50 {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms")


def test_production_settings_bound_what_a_hung_redis_costs():
    """With REDIS_URL set, the cache gives up on Redis within 0.1 s (redis-py's own default: never)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "DJANGO_"))}
    env.update(REDIS_URL="redis://127.0.0.1:6399/0", DJANGO_SETTINGS_MODULE="config.settings")
    code = "import json; from config import settings; print(json.dumps(settings.CACHES['default']))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    cache = json.loads(result.stdout.strip().splitlines()[-1])
    assert cache["BACKEND"] == "config.cache.ResilientRedisCache"
    assert cache["OPTIONS"] == {"socket_connect_timeout": 0.1, "socket_timeout": 0.1, "fallback_seconds": 5.0}
