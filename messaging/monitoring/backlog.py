"""The outbox backlog as Prometheus gauges, read from the database when /metrics is scraped.

A collector, not gauges set by the code: the database is the truth about the outbox (every process, the worker
included, writes it), so one read at scrape time is right under any number of processes. Two indexed queries,
and their answer is kept for CACHE_SECONDS so that several scrapers (or a fast scrape interval) cost one read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..metrics import NAMESPACE
from . import selectors

logger = logging.getLogger("messaging.metrics")

CACHE_SECONDS = 5.0
BACKLOG_METRIC_NAMES = frozenset(
    {
        f"{NAMESPACE}_outbox_pushes",
        f"{NAMESPACE}_outbox_oldest_pending_age_seconds",
        f"{NAMESPACE}_outbox_readable",
    }
)


class BacklogCollector(Collector):
    """Yields messaging_outbox_pushes{state=pending|delivering|failed}, the age of the oldest push not yet
    delivered (0 when none) and messaging_outbox_readable (0 when the database could not be read: the other two
    are then absent rather than wrong). `clock` is injectable for tests."""

    def __init__(self, *, cache_seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._families: list[GaugeMetricFamily] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            now = self.clock()
            if self._read_at is None or now - self._read_at >= self.cache_seconds:
                self._families = self._read()
                self._read_at = now
            families = list(self._families)
        yield from families

    def _read(self) -> list[GaugeMetricFamily]:
        readable = GaugeMetricFamily(
            f"{NAMESPACE}_outbox_readable", "1 when the outbox backlog could be read from the database."
        )
        try:
            backlog = selectors.backlog()
        except DatabaseError as error:
            logger.warning("outbox backlog unreadable: %s", type(error).__name__)
            readable.add_metric([], 0)
            return [readable]
        readable.add_metric([], 1)
        pushes = GaugeMetricFamily(
            f"{NAMESPACE}_outbox_pushes",
            "Pushes in the outbox not yet delivered, or failed, by state.",
            labels=["state"],
        )
        pushes.add_metric(["pending"], backlog.pending)
        pushes.add_metric(["delivering"], backlog.delivering)
        pushes.add_metric(["failed"], backlog.failed)
        oldest = GaugeMetricFamily(
            f"{NAMESPACE}_outbox_oldest_pending_age_seconds",
            "Age of the oldest push not yet delivered (pending or delivering); 0 when there is none.",
        )
        oldest.add_metric([], backlog.oldest_age_seconds(timezone.now()))
        return [pushes, oldest, readable]
