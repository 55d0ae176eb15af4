"""Reads behind the messaging health page and the outbox backlog gauges (no writes).

Every query filters on AttributePush.state first (the (state, next_attempt_at) index) or on a time range, and
buckets by the database's own date truncation (TruncHour/TruncDay), so the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from ..app_settings import app_settings
from ..genesys.oauth import get_token_service
from ..models import AttributePush
from ..outbox.states import OPEN_STATES

logger = logging.getLogger("messaging.monitoring.dashboard")

State = AttributePush.State


@dataclasses.dataclass(frozen=True)
class Backlog:
    """The outbox now: pushes waiting (pending), being delivered, failed, and the oldest one not yet delivered."""

    pending: int
    delivering: int
    failed: int
    oldest_created_at: datetime.datetime | None
    oldest_id: int | None

    def oldest_age_seconds(self, now: datetime.datetime) -> float:
        return max(0.0, (now - self.oldest_created_at).total_seconds()) if self.oldest_created_at else 0.0


@dataclasses.dataclass(frozen=True)
class Bucket:
    """Deliveries and failures in [start, start + width)."""

    start: datetime.datetime
    delivered: int
    failed: int


@dataclasses.dataclass(frozen=True)
class TimeToPush:
    """Percentiles of (delivered_at - created_at) of the pushes delivered in a window; None when there were none."""

    count: int
    p50: datetime.timedelta | None
    p95: datetime.timedelta | None


@dataclasses.dataclass(frozen=True)
class TokenSlot:
    """One client-credentials token slot as the cache holds it (never the token itself)."""

    slot: int
    cached: bool
    expires_in: float | None  # seconds until we stop using it; None when not cached


@dataclasses.dataclass(frozen=True)
class TokenState:
    configured: bool
    slots: list[TokenSlot]
    readable: bool = True  # False when the cache could not be read


def backlog() -> Backlog:
    """Counts by state (one grouped query) and the oldest push not yet delivered (one indexed query)."""
    counts = dict(
        AttributePush.objects.filter(state__in=(*OPEN_STATES, State.FAILED))
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    oldest = (
        AttributePush.objects.filter(state__in=OPEN_STATES).order_by("created_at", "id").values("id", "created_at")
    ).first()
    return Backlog(
        pending=counts.get(State.PENDING, 0),
        delivering=counts.get(State.DELIVERING, 0),
        failed=counts.get(State.FAILED, 0),
        oldest_created_at=oldest["created_at"] if oldest else None,
        oldest_id=oldest["id"] if oldest else None,
    )


def oldest_not_delivered() -> tuple[int, datetime.datetime] | None:
    """The id and creation time of the oldest push not delivered: waiting, being delivered, or failed (a failed push
    has not reached Genesys either); None when every push was delivered or superseded."""
    oldest = (
        AttributePush.objects.filter(state__in=(*OPEN_STATES, State.FAILED))
        .order_by("created_at", "id")
        .values_list("id", "created_at")
        .first()
    )
    return (oldest[0], oldest[1]) if oldest else None


def _floor(moment: datetime.datetime, width: datetime.timedelta) -> datetime.datetime:
    local = timezone.localtime(moment)
    floored = local.replace(minute=0, second=0, microsecond=0)
    return floored.replace(hour=0) if width >= datetime.timedelta(days=1) else floored


def _counts_by(queryset: QuerySet, field: str, trunc: Callable) -> dict[float, int]:
    rows = (
        queryset.annotate(bucket=trunc(field, output_field=DateTimeField()))
        .order_by()
        .values("bucket")
        .annotate(n=Count("id"))
    )
    # Keyed by the epoch: the database may hand back the bucket in another zone object than ours.
    return {row["bucket"].timestamp(): row["n"] for row in rows if row["bucket"] is not None}


def outcome_buckets(*, now: datetime.datetime | None = None, hours: int = 24, days: int | None = None) -> list[Bucket]:
    """Deliveries (by delivered_at) and failures (by failed_at: when they failed, retried since or not) per hour over
    the last `hours`, or per day over the last `days`; the current hour/day is the last bucket. Empty ones are 0."""
    now = now or timezone.now()
    daily = days is not None
    width = datetime.timedelta(days=1) if daily else datetime.timedelta(hours=1)
    count = days if days is not None else hours
    last = _floor(now, width)
    starts = [last - width * (count - 1 - index) for index in range(count)]
    trunc = TruncDay if daily else TruncHour
    delivered = _counts_by(
        AttributePush.objects.filter(delivered_at__gte=starts[0], delivered_at__isnull=False), "delivered_at", trunc
    )
    # By failed_at, whatever the push's state now: a failure stays in the history after a retry delivered it.
    failed = _counts_by(AttributePush.objects.filter(failed_at__gte=starts[0]), "failed_at", trunc)
    return [
        Bucket(start=start, delivered=delivered.get(start.timestamp(), 0), failed=failed.get(start.timestamp(), 0))
        for start in starts
    ]


def time_to_push(*, now: datetime.datetime | None = None, hours: int = 24) -> TimeToPush:
    """p50 and p95 of the time from recording a push to its delivery, over the pushes delivered in the last
    `hours`: the database sorts, we read two rows (nearest-rank)."""
    now = now or timezone.now()
    latency = ExpressionWrapper(F("delivered_at") - F("created_at"), output_field=DurationField())
    delivered = AttributePush.objects.filter(delivered_at__gte=now - datetime.timedelta(hours=hours)).annotate(
        latency=latency
    )
    count = delivered.count()
    if not count:
        return TimeToPush(count=0, p50=None, p95=None)

    def rank(fraction: float) -> datetime.timedelta:
        index = min(count - 1, max(0, int(fraction * count + 0.999999) - 1))
        return delivered.order_by("latency", "id").values_list("latency", flat=True)[index]

    return TimeToPush(count=count, p50=rank(0.50), p95=rank(0.95))


def last_error() -> AttributePush | None:
    """The push that most recently recorded a Genesys error (its last_error; never a token or a secret)."""
    return AttributePush.objects.exclude(last_error="").select_related("conversation").order_by("-updated_at").first()


def token_state(*, now: float | None = None) -> TokenState:
    """Which token slots the cache holds and for how long, through the token service's public reads."""
    if not app_settings.API_CONFIGURED:
        return TokenState(configured=False, slots=[])
    slots = []
    try:
        for slot in range(max(1, app_settings.TOKEN_POOL_SIZE)):
            entry = get_token_service(slot).cached()
            expires_in = (entry.valid_until - (now if now is not None else time.time())) if entry else None
            slots.append(TokenSlot(slot=slot, cached=entry is not None, expires_in=expires_in))
    except Exception as error:  # a cache outage must not take the page down; say so instead
        logger.warning("token state unreadable: %s", type(error).__name__)
        return TokenState(configured=True, slots=slots, readable=False)
    return TokenState(configured=True, slots=slots)
