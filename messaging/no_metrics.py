"""Stand-ins for prometheus_client's Counter and Histogram when it is not installed (extra `metrics`): every
recording is accepted and dropped, so the app records its metrics the same way with or without it."""

from __future__ import annotations

from typing import Any


class NoMetric:
    """A metric family or child that records nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def labels(self, *values: str) -> NoMetric:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def observe(self, value: float) -> None:
        pass


Counter = NoMetric
Histogram = NoMetric


def disable_created_metrics() -> None:
    pass
