"""Reads about conversation links and the attribute-push outbox (writes: records.py, the only one)."""

import datetime
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink
from .states import OPEN_STATES, PushState


def latest_push(link: ConversationLink) -> AttributePush | None:
    """The conversation's newest version, or None."""
    return AttributePush.objects.filter(conversation_id=link.pk).order_by("-version").first()


def open_links_for_members(user_ids: Iterable[int], *, now: datetime.datetime | None = None) -> QuerySet:
    """The members' conversations still worth a push: open, last verified for one of them, and recent (Genesys
    tells us nothing when a conversation ends)."""
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
