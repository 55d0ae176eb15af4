"""Reads about conversation links and the attribute-push outbox (writes: messaging/services.py)."""

import datetime
import uuid

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import MemberProfile

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink, MemberTokenUse

OPEN_PUSH_STATES = (AttributePush.State.PENDING, AttributePush.State.DELIVERING)


def member_for_id(member_id: uuid.UUID) -> MemberProfile | None:
    """The active member a verified token names, with what the attributes need, or None."""
    return (
        MemberProfile.objects.select_related("level", "user").filter(member_id=member_id, user__is_active=True).first()
    )


def latest_push(link: ConversationLink) -> AttributePush | None:
    return link.pushes.order_by("-version").first()


def open_links_for_member(profile: MemberProfile, *, now: datetime.datetime | None = None) -> QuerySet:
    """The member's conversations still worth a push: open, last verified for this member, and recent (Genesys
    tells us nothing when a conversation ends)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(hours=app_settings.CONVERSATION_OPEN_HOURS)
    return ConversationLink.objects.filter(
        member=profile, verified=True, state=ConversationLink.State.OPEN, last_verified_at__gte=since
    )


def stale_deliveries(*, now: datetime.datetime) -> QuerySet:
    """Pushes marked delivering whose conversation lease has expired or vanished: their deliverer died."""
    return AttributePush.objects.filter(state=AttributePush.State.DELIVERING).filter(
        Q(conversation__lease_until__isnull=True) | Q(conversation__lease_until__lt=now)
    )


def overdue_conversation_ids(*, before: datetime.datetime, limit: int = 500) -> list[int]:
    """Conversations with a pending push due before `before`: their delivery task is late or was lost."""
    return list(
        AttributePush.objects.filter(state=AttributePush.State.PENDING, next_attempt_at__lte=before)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()[:limit]
    )


def conversations_with_queued_delivery(link_ids: list[int]) -> set[int]:
    """Which of these conversations already have a delivery task waiting in the queue (database backend only;
    with another backend nothing is known and the sweep enqueues anyway, which is harmless)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from ..tasks import deliver_conversation_pushes

    if not link_ids or not isinstance(deliver_conversation_pushes.get_backend(), DatabaseBackend):
        return set()
    queued = DBTaskResult.objects.filter(
        status="READY", task_path=deliver_conversation_pushes.module_path, args_kwargs__args__0__in=link_ids
    ).values_list("args_kwargs", flat=True)
    return {args_kwargs["args"][0] for args_kwargs in queued}


def due_conversation_ids(*, now: datetime.datetime | None = None) -> list[int]:
    """Conversations with a push that may be delivered now (used by `deliver_pushes --once`)."""
    now = now or timezone.now()
    return list(
        AttributePush.objects.filter(state__in=OPEN_PUSH_STATES, next_attempt_at__lte=now)
        .order_by()
        .values_list("conversation_id", flat=True)
        .distinct()
    )


def outbox_counts() -> dict[str, int]:
    """Pushes per state, every state present (for checks, tests and the benchmark)."""
    counts = dict(AttributePush.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return {state: counts.get(state, 0) for state in AttributePush.State.values}


def undelivered_count() -> int:
    """Pushes that still have to reach Genesys."""
    return AttributePush.objects.filter(state__in=OPEN_PUSH_STATES).count()


def conversation_of_used_token(token_digest: str) -> uuid.UUID | None:
    """The conversation a member token (by its digest) already verified, or None if it verified none."""
    return MemberTokenUse.objects.filter(token_digest=token_digest).values_list("conversation_id", flat=True).first()
