"""Injected failures (`POST /_faults`): which requests they hit and how often."""

from __future__ import annotations

import dataclasses
from typing import Any

ROUTE_HELP = "route must be 'api', 'token', 'guest', '*', 'METHOD /template' or 'WS <action>'"


@dataclasses.dataclass
class Fault:
    """An injected failure. route: a kind ("api", "token", "guest", "*"), an exact "METHOD /template", or a guest
    socket frame "WS <action>" (e.g. "WS onMessage")."""

    route: str
    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    ratio: float = 1.0
    count: int | None = None
    injected: int = 0

    def matches(self, route_key: str, kind: str) -> bool:
        return self.route in {"*", kind, route_key}

    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Raises ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(data) - {"route", "status", "retry_after", "latency_ms", "ratio", "count"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        route = data.get("route", "api")
        status = data.get("status")
        retry_after = data.get("retry_after")
        latency_ms = data.get("latency_ms", 0)
        ratio = data.get("ratio", 1.0)
        count = data.get("count")
        if not isinstance(route, str) or not route:
            raise ValueError(ROUTE_HELP)
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
            raise ValueError("retry_after must be a non-negative number of seconds")
        if not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ValueError("ratio must be between 0 and 1")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError("count must be a non-negative integer")
        if status is None and not latency_ms:
            raise ValueError("a fault needs a status, a latency_ms, or both")
        return cls(route, status, retry_after, latency_ms, float(ratio), count)


@dataclasses.dataclass
class FaultDecision:
    latency_ms: int = 0
    fault: Fault | None = None
