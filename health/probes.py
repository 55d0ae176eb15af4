"""Readiness probes: each returns (ok, detail) and never raises, never reports a secret. Details (database
vendor, cache class, error texts) are for operators: health.views shows them only to whom may read the metrics."""

import time
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("value written to the cache could not be read back")
    cache.delete(key)
    return cache.__class__.__name__


# A failed Genesys login is remembered this long, for every process: probes in the meantime report it without
# asking Genesys again (a probe every few seconds from each load balancer would otherwise be a login flood).
GENESYS_FAILURE_MEMORY_SECONDS = 30
GENESYS_FAILURE_KEY = "readyz:genesys-failure"


class GenesysUnavailable(RuntimeError):
    """The last attempt to get a Genesys token failed (its error type is the message; no text of Genesys')."""


def check_genesys_token() -> str:
    """A Genesys token is at hand: the cached one (no request), or one fetched now, at most once per
    GENESYS_FAILURE_MEMORY_SECONDS across the cluster while logins fail."""
    from messaging.app_settings import app_settings

    if not app_settings.API_CONFIGURED:
        return "not configured"
    from messaging.genesys.oauth import get_access_token

    remembered = cache.get(GENESYS_FAILURE_KEY)
    if remembered is not None:
        raise GenesysUnavailable(remembered)
    try:
        get_access_token()  # cached: one fetch per token lifetime for the whole cluster
    except Exception as error:
        cache.set(GENESYS_FAILURE_KEY, type(error).__name__, GENESYS_FAILURE_MEMORY_SECONDS)
        raise
    return "token available"


def check_data_action_credentials() -> str:
    """Without credentials the verify endpoint refuses every call: a failure in production, a note in development."""
    from django.conf import settings

    from messaging.checks import missing_data_action_settings

    missing = missing_data_action_settings()
    if not missing:
        return "credentials set"
    if settings.DEBUG:
        return "not configured"
    raise ImproperlyConfigured(f"{' and '.join(missing)} not set: every verify is refused; set them")


PROBES: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "genesys": check_genesys_token,
    "data_action": check_data_action_credentials,
}


def run_probes(probes: dict[str, Callable[[], str]] | None = None) -> tuple[bool, dict[str, dict]]:
    """Run every probe; a failure reports the error's type and message (our typed errors carry no secrets)."""
    results: dict[str, dict] = {}
    all_ok = True
    for name, probe in (probes or PROBES).items():
        started = time.perf_counter()
        try:
            detail = probe()
            results[name] = {"ok": True, "detail": detail}
        except Exception as error:  # noqa: BLE001 - a probe reports every failure instead of raising
            all_ok = False
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {str(error)[:200]}"}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return all_ok, results
