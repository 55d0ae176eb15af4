"""Rate-limit buckets of the Platform API: fixed windows counted per token, and per token and route.

Genesys answers `inin-ratelimit-allowed` / `-count` / `-reset` for the bucket that applied to that response: its
own JS SDK README shows 180 on one response and 300 on another (GENESYS.md, Errors), so the header describes a
bucket, not the token's budget. Which routes have a bucket of their own, and their sizes, are not published:
`route_rate_limits` in the sandbox's config says (unverified; the sandbox's default is an example).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass
class Bucket:
    """A fixed window opened by the first request after the previous one closed."""

    limit: int
    window_start: float = 0.0
    count: int = 0

    def roll(self, now: float, window: float) -> None:
        if now - self.window_start >= window:
            self.window_start, self.count = now, 0

    def reset_seconds(self, now: float, window: float) -> int:
        return max(1, math.ceil(round(self.window_start + window - now, 6)))  # no 61 from float noise


@dataclasses.dataclass
class RateDecision:
    """What one request got: allowed or not, and the figures of the bucket that applied."""

    allowed: bool
    count: int
    limit: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "inin-ratelimit-count": str(self.count),
            "inin-ratelimit-allowed": str(self.limit),
            "inin-ratelimit-reset": str(self.reset_seconds),
        }


def spend(buckets: list[Bucket], now: float, window: float) -> RateDecision:
    """Count one request in every bucket, or in none if one is full. The decision describes the full bucket
    (refused) or else the most specific bucket (the last one: the route's own, when it has one)."""
    for bucket in buckets:
        bucket.roll(now, window)
    full = next((b for b in buckets if b.count >= b.limit), None)
    if full is not None:
        return RateDecision(False, full.count, full.limit, full.reset_seconds(now, window))
    for bucket in buckets:
        bucket.count += 1
    shown = buckets[-1]
    return RateDecision(True, shown.count, shown.limit, shown.reset_seconds(now, window))
