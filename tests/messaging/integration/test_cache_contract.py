"""messaging.cache_contract: what messaging needs of a cache, the checks that tell a host when its cache cannot do
it, and the app's rate limits counted in Redis through Django's own Redis cache as through the site's.
(The token service and pacing on both: tests/integration/test_token_processes.py, tests/unit/test_pacing.py.)"""

import os
import uuid

import pytest
import redis
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.checks import run_checks

from config.cache import ResilientRedisCache
from messaging.cache_contract import FallbackSignal, SharedCache, cache_problem
from tests.data_action import PASSWORD, USERNAME, basic, post

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
DJANGO_REDIS = "django.core.cache.backends.redis.RedisCache"
SITE_REDIS = "config.cache.ResilientRedisCache"


def cache_ids(*, deploy: bool) -> list[str]:
    return [m.id for m in run_checks(tags=["caches"], include_deployment_checks=deploy) if m.id]


def test_django_s_caches_and_the_site_s_fit_the_contract():
    for cache in (
        RedisCache(REDIS_URL, {}),
        ResilientRedisCache(REDIS_URL, {}),
        DatabaseCache("contract_table", {}),
        LocMemCache("contract", {}),
    ):
        assert isinstance(cache, SharedCache) and cache_problem(cache) is None, type(cache).__name__
    assert isinstance(ResilientRedisCache(REDIS_URL, {}), FallbackSignal)
    assert not isinstance(RedisCache(REDIS_URL, {}), FallbackSignal)


def test_a_cache_without_an_operation_messaging_calls_is_named():
    class CountsNothing:
        def add(self, key, value, timeout=None, version=None):
            return True

        get = set = delete = get_many = make_key = add

    assert not isinstance(CountsNothing(), SharedCache)
    assert cache_problem(CountsNothing()) == (
        "CountsNothing lacks incr, which messaging calls (messaging.cache_contract.SharedCache)."
    )


def test_check_refuses_a_cache_that_stores_nothing(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    found = [m for m in run_checks(tags=["caches"]) if m.id == "messaging.E006"]
    assert len(found) == 1 and "stores nothing" in found[0].msg and "default" in found[0].msg
    assert isinstance(DummyCache("d", {}), SharedCache)  # it has the operations; what it does with them is wrong


def test_check_reads_the_rate_limits_cache_too(settings):
    settings.CACHES = {
        "default": {"BACKEND": DJANGO_REDIS, "LOCATION": REDIS_URL},
        "limits": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.RATELIMIT_USE_CACHE = "limits"
    found = [m for m in run_checks(tags=["caches"]) if m.id == "messaging.E006"]
    assert len(found) == 1 and "CACHES['limits']" in found[0].msg


def test_deploy_check_warns_that_process_memory_is_not_shared(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "messaging.W009" not in cache_ids(deploy=False)  # one process (development) is fine
    found = [m for m in run_checks(tags=["caches"], include_deployment_checks=True) if m.id == "messaging.W009"]
    assert len(found) == 1 and "own Genesys token" in found[0].msg


@pytest.mark.parametrize("backend", [DJANGO_REDIS, SITE_REDIS, "django.core.cache.backends.db.DatabaseCache"])
def test_caches_every_process_shares_pass_the_checks(settings, backend):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": REDIS_URL if "redis" in backend else "t"}}
    assert not {"messaging.E006", "messaging.W009"} & set(cache_ids(deploy=True))


@pytest.mark.needs_services
@pytest.mark.django_db
@pytest.mark.parametrize("backend", [DJANGO_REDIS, SITE_REDIS], ids=["django-redis", "site-redis"])
def test_the_verify_endpoint_s_rate_limit_counts_in_redis(client, settings, backend):
    prefix = f"limits-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}}
    settings.GENESYS_DATA_ACTION_USERNAME, settings.GENESYS_DATA_ACTION_PASSWORD = USERNAME, PASSWORD
    settings.GENESYS_VERIFY_FAILED_AUTH_RATE = "3/m"
    statuses = [post(client, {}, auth=basic(password=f"guess{i}")).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    # Counted in Redis, where every process reads it (not in a process' memory).
    server = redis.Redis.from_url(REDIS_URL)
    try:
        counters = server.keys(f"{prefix}:*")
        assert counters and all(int(server.get(key) or 0) == 5 for key in counters)
        server.delete(*counters)
    finally:
        server.close()
