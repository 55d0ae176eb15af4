"""The named state transitions of a push: the only module that changes AttributePush.state.

Transitions that can race (a deliverer against a newer version, the sweep against a live deliverer) are
conditional UPDATEs on the state the caller expects, so two processes cannot both win; they return whether they
changed the row when the caller cares. The others (`reopen`, `start_attempt`, `give_up`) save a push whose
conversation lease the caller holds, so no one else moves it meanwhile.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import Exists, QuerySet
from django.utils import timezone

from .. import metrics
from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink
from . import lease
from .schedule import schedule_delivery
from .selectors import latest_push
from .states import OPEN_STATES, PushState

# Written on a push whose deliverer died mid-call.
INTERRUPTED = "delivery interrupted (the process stopped mid-call); retrying"
_VERIFIED_AT = "verifiedAt"
_REQUIREMENT = "requirement_met"  # the annotation _locked_link reads `requires` into


class UnverifiedOverVerified(ValueError):
    """An unverified push was offered for a conversation whose attributes are verified: refused, since only newer
    verified attributes may replace verified ones (nothing unverified is ever recorded over them)."""


def _same_attributes(a: dict[str, str], b: dict[str, str]) -> bool:
    """Equal but for when they were verified."""
    return {k: v for k, v in a.items() if k != _VERIFIED_AT} == {k: v for k, v in b.items() if k != _VERIFIED_AT}


class RequirementNotMet(Exception):
    """record_and_start's `requires` matched no row: nothing was recorded (raised inside the caller's transaction,
    which it rolls back)."""


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What `record_and_start` did: the push, the link row (as locked), and the delivery lease owner when the
    lease was taken and the push marked delivering in the same writes ("" when not: someone holds the lease, or
    the push is not due now; Delivery.begin then decides)."""

    push: AttributePush
    link: ConversationLink
    lease_owner: str


@transaction.atomic(savepoint=False)
def record_push(
    *,
    conversation_id: uuid.UUID,
    user_id: int | None,
    attributes: dict[str, str],
    verified: bool,
    cause: str = AttributePush.Cause.VERIFY,
    enqueue: bool = False,
    now: datetime.datetime | None = None,
) -> AttributePush:
    """The push that carries `attributes` to the conversation: a new version, or the latest one again when it
    already says the same (a repeat verify re-asserts it: one PATCH, same version).

    A new version supersedes every older undelivered one. The link row is locked for the whole transaction, so
    versions are numbered one at a time and a deliverer's release cannot miss this push. An unverified push over
    a verified one raises UnverifiedOverVerified (the caller's transaction is then rolled back). `user_id`: the member
    the attributes are about (None: unverified).
    """
    recorded = _record(
        conversation_id=conversation_id,
        user_id=user_id,
        attributes=attributes,
        verified=verified,
        cause=cause,
        now=now or timezone.now(),
    )
    if enqueue and recorded.push.state == PushState.PENDING:
        schedule_delivery(recorded.link.pk)
    return recorded.push


@transaction.atomic(savepoint=False)
def record_and_start(
    *,
    conversation_id: uuid.UUID,
    user_id: int | None,
    attributes: dict[str, str],
    verified: bool,
    participant_id: str = "",
    now: datetime.datetime,
    requires: QuerySet[Any] | None = None,
    probably_new: bool = False,
) -> Recorded:
    """record_push for the data action, with the first step of its inline delivery folded into the same writes:
    when the lease is free and the push may be attempted now, the link's UPDATE (or INSERT) also takes the lease
    and remembers the customer participant, and the push's INSERT (or UPDATE) marks it delivering with one more
    attempt. Same guarantees as record_push then Delivery.begin: the link row is locked throughout.

    `requires`: rows that must exist, checked in the same SELECT that locks the link; when none does,
    RequirementNotMet is raised before any push is written (the caller's transaction then rolls back the rest).
    `probably_new`: the conversation most likely has no link yet, so insert it before reading it (one statement
    fewer when right, one more when wrong; correct either way)."""
    return _record(
        conversation_id=conversation_id,
        user_id=user_id,
        attributes=attributes,
        verified=verified,
        cause=AttributePush.Cause.VERIFY,
        now=now,
        participant_id=participant_id,
        start=True,
        requires=requires,
        probably_new=probably_new,
    )


def _locked_link(
    conversation_id: uuid.UUID,
    fresh: dict[str, Any],
    *,
    requires: QuerySet[Any] | None = None,
    probably_new: bool = False,
) -> ConversationLink:
    """The link row, locked (select_for_update); created with `fresh` when missing. The insert ignores a conflict
    (no savepoint, no IntegrityError: a concurrent creator simply wins), then the row is read under the lock.
    Raises RequirementNotMet when `requires` (read in that SELECT) matches nothing."""
    # unique conversation_id: no ORDER BY (the model's default ordering would add one)
    locked = ConversationLink.objects.select_for_update().filter(conversation_id=conversation_id).order_by()
    if requires is not None:
        locked = locked.annotate(**{_REQUIREMENT: Exists(requires)})
    link = None if probably_new else next(iter(locked[:1]), None)
    if link is None:
        ConversationLink.objects.bulk_create(
            [ConversationLink(conversation_id=conversation_id, **fresh)], ignore_conflicts=True
        )
        link = next(iter(locked[:1]), None)
    if link is None:  # inserted by us or a concurrent creator, so only a delete in between could do this
        raise ConversationLink.DoesNotExist(f"conversation link {conversation_id} vanished while being recorded")
    if requires is not None and not getattr(link, _REQUIREMENT):
        raise RequirementNotMet(f"conversation {conversation_id}: the required rows are missing")
    return link


def may_attempt(push: AttributePush, now: datetime.datetime) -> bool:
    """Whether an open push may be attempted now: it is due and has attempts left. The one rule both the data
    action's inline start (below) and the deliverer (delivery.py) apply."""
    return push.next_attempt_at <= now and push.attempts < app_settings.PUSH_MAX_ATTEMPTS


def _startable(push: AttributePush, now: datetime.datetime) -> bool:
    """Whether the latest push, re-asserted, may be attempted at once (else the general path decides)."""
    if push.state in (PushState.DELIVERED, PushState.FAILED):
        return True  # reopened with fresh attempts
    return push.state == PushState.PENDING and may_attempt(push, now)


def _record(
    *,
    conversation_id: uuid.UUID,
    user_id: int | None,
    attributes: dict[str, str],
    verified: bool,
    cause: str,
    now: datetime.datetime,
    participant_id: str = "",
    start: bool = False,
    requires: QuerySet[Any] | None = None,
    probably_new: bool = False,
) -> Recorded:
    link_changes: dict[str, Any] = {}
    if cause == AttributePush.Cause.VERIFY:
        link_changes.update(user_id=user_id, verified=verified, last_verified_at=now, state=ConversationLink.State.OPEN)
    if participant_id:
        link_changes["participant_id"] = participant_id
    owner, lease_until = (lease.new_owner(), lease.lease_end(now)) if start else ("", None)
    fresh = {**link_changes, "lease_owner": owner, "lease_until": lease_until} if start else link_changes
    link = _locked_link(conversation_id, fresh, requires=requires, probably_new=probably_new)
    # Our owner id on the row: this transaction inserted it, so it has no push yet and the lease is ours.
    created = bool(owner) and link.lease_owner == owner
    latest = None if created else latest_push(link)
    if not verified and latest is not None and latest.verified:
        raise UnverifiedOverVerified(f"conversation {conversation_id} is verified: an unverified push is refused")
    if (
        latest is not None
        and latest.verified == verified
        and latest.user_id == user_id
        and _same_attributes(latest.attributes, attributes)
    ):
        push = latest
        start = start and lease.is_free(link, now) and _startable(push, now)
        if start:
            _reopen_and_start(push, now=now)
        elif push.state in (PushState.DELIVERED, PushState.FAILED):
            reopen(push, now=now)
    else:
        if latest is not None:
            superseded = link.pushes.filter(
                state__in=[PushState.PENDING, PushState.DELIVERING, PushState.FAILED]
            ).update(state=PushState.SUPERSEDED, updated_at=now)
            metrics.push_finished(metrics.PushEnd.SUPERSEDED, superseded)
        start = start and (created or lease.is_free(link, now))
        push = AttributePush.objects.create(
            conversation=link,
            user_id=user_id,
            version=(latest.version + 1) if latest is not None else 1,
            cause=cause,
            attributes=attributes,
            verified=verified,
            next_attempt_at=now,
            **({"state": PushState.DELIVERING, "attempts": 1, "last_attempt_at": now} if start else {}),
        )
    if not created:
        changes = {**link_changes, **({"lease_owner": owner, "lease_until": lease_until} if start else {})}
        if changes:
            ConversationLink.objects.filter(pk=link.pk).update(**changes, updated_at=now)
            for field, value in changes.items():
                setattr(link, field, value)
    return Recorded(push, link, owner if start else "")


def _reopen_and_start(push: AttributePush, *, now: datetime.datetime) -> None:
    """reopen then start_attempt in one UPDATE: delivering, first attempt (a repeat verify under a free lease)."""
    if push.state in (PushState.DELIVERED, PushState.FAILED):
        push.attempts = 0
    push.state = PushState.DELIVERING
    push.attempts += 1
    push.next_attempt_at = push.last_attempt_at = push.updated_at = now
    fields = ("state", "attempts", "next_attempt_at", "last_attempt_at", "updated_at")
    AttributePush.objects.filter(pk=push.pk).update(**{field: getattr(push, field) for field in fields})


def reopen(push: AttributePush, *, now: datetime.datetime | None = None) -> None:
    """Delivered or failed -> pending with fresh attempts, due now (a repeat verify, or "Retry now")."""
    push.state = PushState.PENDING
    push.attempts = 0
    push.next_attempt_at = now or timezone.now()
    push.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])


def supersede_older(link: ConversationLink, newest: int, *, now: datetime.datetime) -> None:
    """Open versions older than `newest` -> superseded."""
    superseded = link.pushes.filter(state__in=OPEN_STATES, version__lt=newest).update(
        state=PushState.SUPERSEDED, updated_at=now
    )
    metrics.push_finished(metrics.PushEnd.SUPERSEDED, superseded)


def supersede(push: AttributePush, *, now: datetime.datetime) -> None:
    """This push, if still open -> superseded (a newer version exists)."""
    superseded = AttributePush.objects.filter(pk=push.pk, state__in=OPEN_STATES).update(
        state=PushState.SUPERSEDED, updated_at=now
    )
    metrics.push_finished(metrics.PushEnd.SUPERSEDED, superseded)


def start_attempt(push: AttributePush, *, now: datetime.datetime) -> None:
    """-> delivering, one more attempt. A push found delivering had a deliverer that died mid-call (the lease
    is ours now): the attempt it spent counts."""
    if push.state == PushState.DELIVERING:
        push.last_error = INTERRUPTED
    push.state = PushState.DELIVERING
    push.attempts += 1
    push.last_attempt_at = now
    push.save(update_fields=["state", "attempts", "last_attempt_at", "last_error", "updated_at"])


def give_up(push: AttributePush, message: str) -> None:
    """Out of attempts -> failed (only attempts cut short by a dead process get here)."""
    push.state = PushState.FAILED
    push.last_error = message
    push.failed_at = timezone.now()
    push.save(update_fields=["state", "last_error", "failed_at", "updated_at"])
    metrics.push_finished(metrics.PushEnd.FAILED)


def mark_delivered(push: AttributePush, *, now: datetime.datetime) -> bool:
    """delivering -> delivered. False when it was superseded in flight: it did land all the same, which
    delivered_at still records."""
    changes = {"state": PushState.DELIVERED, "delivered_at": now, "last_error": "", "updated_at": now}
    done = AttributePush.objects.filter(pk=push.pk, state=PushState.DELIVERING).update(**changes)
    if not done:
        AttributePush.objects.filter(pk=push.pk).update(delivered_at=now, updated_at=now)
    else:
        metrics.push_delivered((now - (push.created_at or now)).total_seconds())
    return bool(done)


def schedule_retry(
    push: AttributePush, *, attempts: int, when: datetime.datetime, message: str, now: datetime.datetime
) -> bool:
    """delivering -> pending, due at `when`; False when the push is no longer delivering."""
    return bool(
        AttributePush.objects.filter(pk=push.pk, state=PushState.DELIVERING).update(
            state=PushState.PENDING, attempts=attempts, next_attempt_at=when, last_error=message, updated_at=now
        )
    )


def mark_failed(push: AttributePush, *, message: str, now: datetime.datetime) -> None:
    """delivering -> failed (final until "Retry now")."""
    failed = AttributePush.objects.filter(pk=push.pk, state=PushState.DELIVERING).update(
        state=PushState.FAILED, last_error=message, failed_at=now, updated_at=now
    )
    metrics.push_finished(metrics.PushEnd.FAILED, failed)


def defer(push: AttributePush, *, now: datetime.datetime) -> None:
    """delivering -> pending, due now: no call was made (too close to the inline deadline)."""
    AttributePush.objects.filter(pk=push.pk, state=PushState.DELIVERING).update(
        state=PushState.PENDING, next_attempt_at=now, updated_at=now
    )


def leave_in_flight(push: AttributePush, *, until: datetime.datetime, message: str, now: datetime.datetime) -> bool:
    """delivering -> pending, due once the lease kept for the call in flight ends; False if no longer
    delivering."""
    return bool(
        AttributePush.objects.filter(pk=push.pk, state=PushState.DELIVERING).update(
            state=PushState.PENDING, next_attempt_at=until, last_error=message, updated_at=now
        )
    )


def recover_interrupted(push_ids: Collection[int], *, now: datetime.datetime) -> int:
    """delivering (under an expired lease) -> pending, due now. Returns how many."""
    return AttributePush.objects.filter(pk__in=list(push_ids), state=PushState.DELIVERING).update(
        state=PushState.PENDING, next_attempt_at=now, last_error=INTERRUPTED, updated_at=now
    )


def postpone_overdue(link_ids: Collection[int], *, before: datetime.datetime, now: datetime.datetime) -> None:
    """Pending pushes of these conversations due before `before` become due `now` (state unchanged), so they
    are not overdue again for another grace period."""
    AttributePush.objects.filter(
        conversation_id__in=list(link_ids), state=PushState.PENDING, next_attempt_at__lte=before
    ).update(next_attempt_at=now, updated_at=now)


def close_conversation(link: ConversationLink) -> None:
    """The conversation (or its customer) is gone: nothing will ever take a push."""
    ConversationLink.objects.filter(pk=link.pk).update(state=ConversationLink.State.CLOSED)
