"""Reads about conversation links and the attribute-push outbox (writes: records.py, the only one)."""

import datetime
import uuid
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink
from . import sql
from .states import OPEN_STATES, PushState


def latest_push(link: ConversationLink) -> AttributePush | None:
    """The conversation's newest version, or None (written as SQL: every verify reads it, sql.py)."""
    return sql.latest_push(link.pk)


def open_links_for_member(user_id: int, *, now: datetime.datetime | None = None) -> QuerySet:
    """The member's conversations still worth a push: open, last verified for this member, and recent (Genesys
    tells us nothing when a conversation ends)."""
    return open_links_for_members([user_id], now=now)


def open_links_for_members(user_ids: Iterable[int], *, now: datetime.datetime | None = None) -> QuerySet:
    """open_links_for_member for several members at once."""
    now = now or timezone.now()
    since = now - datetime.timedelta(hours=app_settings.CONVERSATION_OPEN_HOURS)
    return ConversationLink.objects.filter(
        user_id__in=list(user_ids), verified=True, state=ConversationLink.State.OPEN, last_verified_at__gte=since
    )


def stale_deliveries(*, now: datetime.datetime) -> QuerySet:
    """Pushes marked delivering whose conversation lease has expired or vanished: their deliverer died."""
    return AttributePush.objects.filter(state=PushState.DELIVERING).filter(
        Q(conversation__lease_until__isnull=True) | Q(conversation__lease_until__lt=now)
    )


def overdue_conversation_ids(*, before: datetime.datetime, limit: int = 500) -> list[int]:
    """Conversations with a pending push due before `before`: their delivery task is late or was lost."""
    return list(
        AttributePush.objects.filter(state=PushState.PENDING, next_attempt_at__lte=before)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()[:limit]
    )


def due_conversation_ids(*, now: datetime.datetime | None = None) -> list[int]:
    """Conversations with a push that may be delivered now (used by `deliver_pushes --once`)."""
    now = now or timezone.now()
    return list(
        AttributePush.objects.filter(state__in=OPEN_STATES, next_attempt_at__lte=now)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()
    )


def has_due_push(link_id: int, *, now: datetime.datetime) -> bool:
    """Whether the conversation has a push that may be delivered now."""
    return AttributePush.objects.filter(
        conversation_id=link_id, state__in=OPEN_STATES, next_attempt_at__lte=now
    ).exists()


def outbox_counts() -> dict[str, int]:
    """Pushes per state, every state present (for checks, tests and the benchmark)."""
    counts = dict(AttributePush.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in PushState.values}


def undelivered_count() -> int:
    """Pushes that still have to reach Genesys."""
    return AttributePush.objects.filter(state__in=OPEN_STATES).count()


def conversation_of_used_token(token_digest: str) -> uuid.UUID | None:
    """The conversation a member token (by its digest) already verified, or None if it verified none (written as
    SQL: every verify reads it, sql.py)."""
    return sql.token_use_conversation(token_digest)
