"""The site's settings with Django's own RedisCache in place of config.cache.ResilientRedisCache, for processes
started by tests: messaging must work on any cache that fits messaging.cache_contract, not only the site's.
Needs REDIS_URL (the site then configures Redis)."""

from config.settings import *  # noqa: F403
from config.settings import CACHES

CACHES["default"]["BACKEND"] = "django.core.cache.backends.redis.RedisCache"
CACHES["default"]["OPTIONS"].pop("fallback_seconds")  # the site's backend's own option
