"""Genesys' rate-limit headers: what an answer says about the bucket that applied to it.

Genesys answers API calls with `inin-ratelimit-count`, `-allowed` and `-reset` (seconds until the bucket's minute
ends); a 429 also carries Retry-After. A route may have a bucket of its own, smaller than the token's, so these
describe that answer's bucket, not necessarily the token's budget (pacing.py decides what they mean).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

COUNT_HEADER = "inin-ratelimit-count"
ALLOWED_HEADER = "inin-ratelimit-allowed"
RESET_HEADER = "inin-ratelimit-reset"


@dataclasses.dataclass(frozen=True)
class RateLimitHeaders:
    """The inin-ratelimit-* figures of the last answer that carried them: the bucket that applied to that answer
    (its size `allowed`, its `count`, seconds to its `reset`), the answer's status, the slot, and when (wall
    clock). A signal, not the token's budget."""

    slot: int
    status: int
    count: int | None
    allowed: int | None
    reset: float | None
    seen_at: float


def read_rate_limit_headers(headers: Mapping[str, str]) -> tuple[int | None, int | None, float | None]:
    """(count, allowed, reset) from an answer's headers; None for each one missing or not a number."""
    return (
        _header_int(headers, COUNT_HEADER),
        _header_int(headers, ALLOWED_HEADER),
        header_number(headers, RESET_HEADER),
    )


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """A header's finite number, or None."""
    value = headers.get(name)
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = header_number(headers, name)
    return int(value) if value is not None and value >= 0 else None
