"""Retention: what the outbox and the token checks no longer need is deleted by the worker, in small batches.

Older than GENESYS_RETENTION_DAYS (by their last change):
  - delivered and superseded pushes that have a newer version (a conversation's newest push is kept with its
    link, so a version number is never reused while the link lives);
  - ended conversation links (not verified, changed or pushed to within the period, lease free, no push open or
    failed), with the pushes left on them;
  - spent member-token uses (the token itself died long before: GENESYS_MEMBER_TOKEN_MAX_AGE);
  - grants expired or revoked (their tokens prove nothing any more);
  - finished task rows (succeeded or failed; through the scheduler hook, schedule.py).
Never deleted here: failed pushes (an operator retries or reads them), open pushes and anything on their links.

Each kind goes in batches of `batch` rows (one short DELETE each, so no long lock), at most `limit` rows per kind
per run; `deliver_pushes` runs it from its periodic sweep (management/commands/deliver_pushes.py).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink, MemberTokenGrant, MemberTokenUse, PushState
from .schedule import prune_finished_tasks

logger = logging.getLogger("messaging.outbox")

BATCH = 500
PER_RUN = 5000
_KEPT_PUSH_STATES = (PushState.PENDING, PushState.DELIVERING, PushState.FAILED)


@dataclasses.dataclass(frozen=True)
class RetentionReport:
    pushes: int
    links: int
    token_uses: int
    grants: int
    tasks: int

    @property
    def total(self) -> int:
        return self.pushes + self.links + self.token_uses + self.grants + self.tasks


def _delete_in_batches(queryset: QuerySet, *, batch: int, limit: int) -> int:
    """Delete the rows of `queryset` (by primary key, `batch` at a time), at most `limit`; how many rows of the
    queryset's model went (cascades not counted)."""
    model = queryset.model
    deleted = 0
    while deleted < limit:
        ids = list(queryset.order_by().values_list("pk", flat=True)[: min(batch, limit - deleted)])
        if not ids:
            break
        model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def prunable_pushes(cutoff: datetime.datetime) -> QuerySet:
    newer = AttributePush.objects.filter(conversation_id=OuterRef("conversation_id"), version__gt=OuterRef("version"))
    return AttributePush.objects.filter(
        state__in=[PushState.DELIVERED, PushState.SUPERSEDED], updated_at__lt=cutoff
    ).filter(Exists(newer))


def prunable_links(cutoff: datetime.datetime, now: datetime.datetime) -> QuerySet:
    active = AttributePush.objects.filter(conversation_id=OuterRef("pk")).filter(
        Q(state__in=_KEPT_PUSH_STATES) | Q(updated_at__gte=cutoff)
    )
    return (
        ConversationLink.objects.filter(updated_at__lt=cutoff)
        .filter(Q(last_verified_at__isnull=True) | Q(last_verified_at__lt=cutoff))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(~Exists(active))
    )


def prune_expired(
    *, now: datetime.datetime | None = None, days: float | None = None, batch: int = BATCH, limit: int = PER_RUN
) -> RetentionReport:
    """Delete what is older than the retention period (see the module's docstring); `now` and `days` for tests."""
    now = now or timezone.now()
    days = app_settings.RETENTION_DAYS if days is None else days
    cutoff = now - datetime.timedelta(days=days)
    # A token use must outlive the token it spent, whatever the retention is set to.
    token_cutoff = min(cutoff, now - datetime.timedelta(seconds=app_settings.MEMBER_TOKEN_MAX_AGE))
    report = RetentionReport(
        pushes=_delete_in_batches(prunable_pushes(cutoff), batch=batch, limit=limit),
        links=_delete_in_batches(prunable_links(cutoff, now), batch=batch, limit=limit),
        token_uses=_delete_in_batches(
            MemberTokenUse.objects.filter(used_at__lt=token_cutoff), batch=batch, limit=limit
        ),
        grants=_delete_in_batches(
            MemberTokenGrant.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)),
            batch=batch,
            limit=limit,
        ),
        tasks=sum(_task_batches(cutoff, batch=batch, limit=limit)),
    )
    if report.total:
        logger.info("retention: deleted %s", report)
    return report


def _task_batches(cutoff: datetime.datetime, *, batch: int, limit: int) -> list[int]:
    done: list[int] = []
    while sum(done) < limit:
        deleted = prune_finished_tasks(before=cutoff, limit=min(batch, limit - sum(done)))
        if not deleted:
            break
        done.append(deleted)
    return done
