"""The site's own Prometheus metrics (messaging's are in messaging.metrics). They are exposed at /metrics with
messaging's, from the same registry (or the same multiprocess files under gunicorn)."""

from __future__ import annotations

from prometheus_client import Counter

NAMESPACE = "site"

CACHE_FALLBACKS = Counter(
    "cache_fallbacks",
    "Cache calls answered from a process' own memory because Redis was unreachable (config.cache).",
    namespace=NAMESPACE,
)

# Every metric family this module defines, by its exposed name (alert rules are checked against it).
METRIC_NAMES: frozenset[str] = frozenset({f"{NAMESPACE}_cache_fallbacks_total"})


def cache_fallback() -> None:
    """One cache call was answered by the per-process fallback."""
    CACHE_FALLBACKS.inc()
