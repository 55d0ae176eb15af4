"""GET /metrics: the Prometheus text exposition of messaging's metrics and the outbox backlog.

Access: with METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time; 401
otherwise). Without it, only a direct request from loopback (a scraper on the same host; 403 otherwise), and never
one that came through a proxy (X-Forwarded-For/Forwarded present), since behind a local proxy every request is
from loopback. The exposition holds counts, durations and route templates only: no id, token or secret.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..optional import missing_extra

try:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
    from prometheus_client.registry import Collector

    from .backlog import BacklogCollector
except ModuleNotFoundError as error:
    raise missing_extra(error, "metrics", needed_for="The /metrics page (messaging.monitoring.urls)") from error

BACKLOG = BacklogCollector()
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


class _Scrape:
    """What one scrape exposes: this process' registry, or every process' files in multiprocess mode, plus the
    backlog read from the database."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator:
        for collector in self.collectors:
            yield from collector.collect()


def scrape_source() -> _Scrape:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return _Scrape([registry, BACKLOG])
    return _Scrape([REGISTRY, BACKLOG])


def _is_direct_loopback(request: HttpRequest) -> bool:
    if any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The response refusing this scrape, or None when it may read the metrics."""
    expected = getattr(settings, "METRICS_TOKEN", "") or ""
    if expected:
        if hmac.compare_digest(_bearer(request).encode(), expected.encode()):
            return None
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if _is_direct_loopback(request):
        return None
    return HttpResponse("Set METRICS_TOKEN to scrape from another host.\n", status=403, content_type="text/plain")


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(scrape_source()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
