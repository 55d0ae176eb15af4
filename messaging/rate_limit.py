"""One rate-limited request, counted through django-ratelimit's core API (`get_usage`), and the wait it owes.

The wait comes from django-ratelimit's own `time_left`, never from re-reading the rate string: its windows have a
per-key offset, so the wait is rarely the rate's whole period.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import get_usage

# django-ratelimit's key: a name such as "ip" or "user_or_ip", or a callable(group, request).
Key = str | Callable[[str, HttpRequest], str]
# django-ratelimit's methods: one ("POST"), several, or ALL (its sentinel, a tuple).
Methods = str | list[str] | tuple[str | None, ...]


def seconds_to_wait(usage: dict[str, Any]) -> int:
    """The seconds until a request refused under `usage` (what `get_usage` returned) may go ahead: the window is
    named by its last whole second, which still counts, so one more than `time_left`; at least 1 (`time_left` is
    -1 when the cache failed and django-ratelimit closed the limit)."""
    return max(usage["time_left"] + 1, 1)


def seconds_until_allowed(
    request: HttpRequest, *, group: str, key: Key, rate: str, method: Methods = ALL
) -> int | None:
    """Count `request` against `rate` (a django-ratelimit rate such as "600/m") in `group`, keyed by `key`. None
    while it may go ahead; else the seconds to wait (Retry-After). Requests whose method is not `method` count
    nothing."""
    usage = get_usage(request, group=group, key=key, rate=rate, method=method, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return seconds_to_wait(usage)
