"""Exactly one token fetch when many threads or OS processes with cold caches ask at the same moment.

Threads share the configured cache (the database cache by default, Redis with REDIS_URL). Processes share either
a database cache in a temporary SQLite file (what every local process shares in development) or, in CI, a real
Redis (what production uses). The sandbox counts the tokens it issues (`/_stats`).
"""

import hashlib
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import django
import pytest
from django.db import connections

from messaging import processes
from messaging.genesys.client import get_client
from messaging.genesys.oauth import get_access_token
from tests.fixtures.redis_outage import resilient_caches_at
from tests.processes import race, racing_script

ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 8
THREADS = 16

# Each child: set Django up (slow) first, say it is ready, wait for the starting signal, then ask for a token.
CHILD = racing_script(
    prepare="""
    import hashlib
    from django.core.cache import caches
    from messaging.genesys.oauth import get_access_token
    """,
    work="""
    started = time.monotonic()
    token = get_access_token()
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    backend = type(caches["default"]).__name__
    print(json.dumps({"token": digest, "ms": (time.monotonic() - started) * 1000, "cache": backend}))
    """,
)


@pytest.fixture(autouse=True)
def _fresh_client():
    processes.reset()
    yield
    processes.reset()


def _child_env(sandbox_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        GENESYS_SANDBOX="true",
        GENESYS_API_BASE=sandbox_url,
        GENESYS_LOGIN_BASE=sandbox_url,
        GENESYS_APPS_BASE=sandbox_url,
        CACHE_KEY_PREFIX=f"proc-{uuid.uuid4().hex[:8]}",  # a cold cache nobody else uses
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def _in_memory_sqlite() -> bool:
    db = connections["default"]
    return db.vendor == "sqlite" and db.is_in_memory_db()


REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# messaging works on any cache that fits messaging.cache_contract: Django's own Redis cache and the site's.
REDIS_BACKENDS = {
    "django-redis": "django.core.cache.backends.redis.RedisCache",
    "site-redis": "config.cache.ResilientRedisCache",
}


@pytest.fixture(
    params=[
        "configured",
        "locmem",
        "redis-refused",
        "redis-hung",
        *(pytest.param(name, marks=pytest.mark.needs_services) for name in REDIS_BACKENDS),
    ]
)
def shared_cache(request, settings):
    """The configured cache (database cache or Redis), a process-local cache running the same lock code, Django's
    Redis cache and the site's on a real Redis, and the site's Redis cache during an outage (nothing listening; a
    Redis that never answers): then the threads' backend instances must share one fallback, so the lock still
    holds within the process.
    The tests are marked django_db(transaction=True) statically: threads use their own connections, so rows
    must be committed (and pytest-django only creates the test database for statically marked tests)."""
    if request.param == "locmem":
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}
        }
    elif request.param in REDIS_BACKENDS:
        backend = REDIS_BACKENDS[request.param]
        settings.CACHES = {
            "default": {"BACKEND": backend, "LOCATION": REDIS_URL, "KEY_PREFIX": f"threads-{uuid.uuid4().hex[:8]}"}
        }
    elif request.param.startswith("redis-"):
        url = (
            request.getfixturevalue("unreachable_redis_url")
            if request.param == "redis-refused"
            else request.getfixturevalue("hung_redis").url
        )
        settings.CACHES = resilient_caches_at(url, fallback_seconds=60)
    elif "DatabaseCache" in settings.CACHES["default"]["BACKEND"] and _in_memory_sqlite():
        pytest.skip(
            "SQLite's in-memory test database locks tables across threads without waiting (SQLITE_LOCKED); "
            "the database cache on a SQLite file is covered by test_processes_sharing_the_database_cache_get_one_token"
        )
    return request.param


def _in_threads(count: int, work) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            work()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_many_threads_with_a_cold_cache_get_one_token(sandbox, shared_cache):
    # A slow login host widens the window in which the other threads must wait instead of fetching too.
    sandbox.faults(route="token", latency_ms=300)
    tokens: list[str] = []
    errors = _in_threads(THREADS, lambda: tokens.append(get_access_token()))
    assert not errors, errors
    assert len(tokens) == THREADS and len(set(tokens)) == 1
    assert sandbox.stats()["tokens_issued"] == 1


@pytest.mark.django_db(transaction=True)
def test_many_threads_making_calls_share_one_token(sandbox, shared_cache):
    conversation = sandbox.start_conversation("threads")
    client = get_client()

    def work():
        for _ in range(5):
            assert client.get_message_conversation(conversation["id"])["id"] == conversation["id"]

    errors = _in_threads(8, work)
    assert not errors, errors
    stats = sandbox.stats()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["GET /api/v2/conversations/messages/{conversationId}"] == 40


@pytest.mark.skipif(
    django.VERSION < (5, 1),
    reason="Django 4.2's SQLite backend has no transaction_mode: in deferred transactions two processes' cache.add "
    "can both fail on the lock upgrade, so the database cache on a SQLite file is no cross-process lock there "
    "(messaging/README.md: use Redis or Django 5.2 for several processes)",
)
def test_processes_sharing_the_database_cache_get_one_token(sandbox, tmp_path):
    """Development's shared cache: Django's database cache in one SQLite file, as `make run`'s processes use."""
    database_url = f"sqlite:///{tmp_path / 'cache.sqlite3'}"
    env = _child_env(sandbox.url, DATABASE_URL=database_url)
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    sandbox.faults(route="token", latency_ms=300)
    results = race(tmp_path, env, CHILD, 6)  # 6, not 8: Django's start-up dominates on a small CI box
    assert len(results) == 6
    assert len({r["token"] for r in results}) == 1
    assert sandbox.stats()["tokens_issued"] == 1


@pytest.mark.needs_services
@pytest.mark.parametrize(
    "settings_module,backend",
    [("config.settings", "ResilientRedisCache"), ("tests.plain_redis_settings", "RedisCache")],
)
def test_processes_sharing_redis_get_one_token(sandbox, tmp_path, settings_module, backend):
    """Production's shared cache: several OS processes, cold caches, one Redis; the sandbox issues one token.
    With the site's Redis cache, and with Django's own (tests/plain_redis_settings.py)."""
    # In CI's first pass REDIS_URL is unset but CI's Redis runs: use it (_child_env gives a key prefix of its own).
    # No database at all: opening this file would fail, so the children prove the token path never touches it.
    env = _child_env(
        sandbox.url,
        REDIS_URL=REDIS_URL,
        DATABASE_URL="sqlite:////nonexistent-dir/no.sqlite3",
        DJANGO_SETTINGS_MODULE=settings_module,
    )
    sandbox.faults(route="token", latency_ms=300)
    results = race(tmp_path, env, CHILD, PROCESSES)
    assert len(results) == PROCESSES and {r["cache"] for r in results} == {backend}
    assert len({r["token"] for r in results}) == 1
    assert sandbox.stats()["tokens_issued"] == 1
    # And the token they share is the one this process now reads from Redis.
    assert hashlib.sha256(get_access_token_from(env).encode()).hexdigest()[:16] == results[0]["token"]
    assert sandbox.stats()["tokens_issued"] == 1


def get_access_token_from(env: dict[str, str]) -> str:
    """The token as another process (same Redis, same key prefix) reads it from the cache."""
    code = (
        "import django; django.setup(); from messaging.genesys.oauth import get_access_token; print(get_access_token())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()
