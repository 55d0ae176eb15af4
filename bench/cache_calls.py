"""What one cache call costs on Redis: Django's RedisCache against the site's (config.cache.ResilientRedisCache,
which reuses one redis.Redis per pool and increments in one script), and a bare redis-py round trip.

    REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/cache_calls.py [--calls 2000]

Prints JSON (microseconds per call, mean over `calls`) and a one-line summary. Keys live under a prefix of their
own and are deleted at the end.
"""

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def per_call_us(call: Callable[[], object], calls: int) -> float:
    call()
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return round((time.perf_counter() - started) / calls * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import redis
    from django.core.cache.backends.redis import RedisCache

    from config.cache import ResilientRedisCache

    prefix = f"bench-cache-{uuid.uuid4().hex[:8]}"
    params = {"KEY_PREFIX": prefix}
    caches = {"django": RedisCache(url, params), "site": ResilientRedisCache(url, params)}
    keys = [f"k{i}" for i in range(13)]  # as many as pacing reads for one slot
    results: dict = {"calls": args.calls}
    for name, cache in caches.items():
        cache.set("counter", 1, timeout=600)
        results[name] = {
            "get_us": per_call_us(lambda c=cache: c.get("counter"), args.calls),
            "get_many_13_us": per_call_us(lambda c=cache: c.get_many(keys), args.calls),
            "incr_us": per_call_us(lambda c=cache: c.incr("counter"), args.calls),
        }
    bare = redis.Redis.from_url(url)
    results["redis_py_get_us"] = per_call_us(lambda: bare.get(f":1:{prefix}:counter"), args.calls)
    caches["site"].delete_many(["counter"])
    print(json.dumps(results, indent=2))
    django_, site = results["django"], results["site"]
    print(
        f"per call: get {django_['get_us']} -> {site['get_us']} us, incr {django_['incr_us']} -> {site['incr_us']} us, "
        f"get_many(13) {django_['get_many_13_us']} -> {site['get_many_13_us']} us (Django's RedisCache -> the site's); "
        f"bare redis-py get {results['redis_py_get_us']} us"
    )


if __name__ == "__main__":
    main()
