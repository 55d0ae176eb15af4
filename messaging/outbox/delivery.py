"""One holder of a conversation's lease delivering what is due, newest version first and only.

How nothing lands out of order: deliveries of one conversation hold its lease (lease.py). The holder always
sends the newest version, marks older ones superseded, re-checks before each PATCH (but the data action's first,
whose lease and state its own commit set a moment before), and only releases the lease
when nothing due is left, in a transaction that locks the link row as `records.record_push` does, so a push
recorded meanwhile is never stranded.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Protocol

from django.db import transaction
from django.utils import timezone

from ..app_settings import app_settings
from ..genesys.errors import GenesysError, GenesysNotFound, GenesysRateLimited
from ..genesys.pacing import BUDGET_EXHAUSTED_CODE
from ..models import AttributePush, ConversationLink
from . import lease, records
from .deadline import Deadline, InlineTimeout, NoTimeLeft
from .retry import classify_error, describe_error, retry_delay
from .schedule import schedule_delivery
from .selectors import due_conversation_ids, has_due_push, latest_push
from .states import OPEN_STATES, AttemptResult, CurrentCheck, DeliveryOutcome, PushState, StepEnd

logger = logging.getLogger("messaging.outbox")


class PushClient(Protocol):
    """What delivery needs from messaging.genesys.client.GenesysClient (tests pass a fake)."""

    def get_message_conversation(self, conversation_id: str) -> dict: ...

    def customer_participant(self, conversation: dict) -> dict: ...

    def patch_participant_attributes(
        self, conversation_id: str, participant_id: str, attributes: dict[str, str]
    ) -> dict: ...


@dataclasses.dataclass(frozen=True)
class Attempt:
    """The push to attempt next, marked delivering under the lease. `fresh`: the lease was taken and the push
    marked delivering by the commit that recorded it, just before, so the PATCH needs no re-check first: a newer
    version recorded in between stays pending (the lease is held) and goes next, since mark_delivered finds this
    one superseded and release_if_done finds the newer one open."""

    link: ConversationLink
    push: AttributePush
    fresh: bool = False


def _next_step(link_id: int, owner: str, attempted: set[int]) -> Attempt | StepEnd:
    """Under the lease, in one transaction with the link row locked: supersede stale versions and mark the newest
    due push delivering (one more attempt); or, when there is nothing to send now, give the lease back (a push
    recorded meanwhile waits for the lock, then finds the lease free)."""
    now = timezone.now()
    # No savepoint: nothing here is rolled back on its own (an error rolls back the caller's transaction too).
    with transaction.atomic(savepoint=False):
        link = ConversationLink.objects.select_for_update().filter(pk=link_id).first()
        if link is None or link.lease_owner != owner:
            return StepEnd.LOST
        push = latest_push(link)
        if push is not None:
            records.supersede_older(link, push.version, now=now)
            if push.state not in OPEN_STATES:
                push = None
        if push is not None and push.next_attempt_at <= now and push.pk in attempted:
            # One attempt per push per run; its retry is already due (a tiny backoff): a task takes it, and
            # commits with the release, so it cannot find the lease still taken.
            lease.release(link_id, owner)
            schedule_delivery(link_id)
            return StepEnd.AGAIN
        if push is not None and push.next_attempt_at <= now and not records.may_attempt(push, now):
            records.give_up(push, f"gave up after {push.attempts} attempts: delivery interrupted")
            logger.error("push failed conversation=%s version=%d: out of attempts", link.conversation_id, push.version)
            push = None
        if push is None or not records.may_attempt(push, now):
            lease.release(link_id, owner)
            return StepEnd.IDLE
        records.start_attempt(push, now=now)
        return Attempt(link, push)


def _still_current(link_id: int, push: AttributePush, owner: str, participant_id: str | None) -> CurrentCheck:
    """Just before the PATCH: remember a participant just found, renew the lease, and make sure this is still the
    version to send. One conditional UPDATE when all is well; else, in one transaction, which it is."""
    if lease.renew_if_current(
        link_id, owner, push_id=push.pk, version=push.version, participant_id=participant_id or ""
    ):
        return CurrentCheck.OK
    now = timezone.now()
    with transaction.atomic():
        if not lease.renew(link_id, owner, participant_id=participant_id or ""):
            return CurrentCheck.LOST
        state = AttributePush.objects.filter(pk=push.pk).values_list("state", flat=True).first()
        if AttributePush.objects.filter(conversation_id=link_id, version__gt=push.version).exists():
            records.supersede(push, now=now)
            return CurrentCheck.SUPERSEDED
        return CurrentCheck.OK if state == PushState.DELIVERING else CurrentCheck.SUPERSEDED


def _record_success(link: ConversationLink, push: AttributePush) -> bool:
    """True when the push is now delivered; False when it was superseded in flight (it did land all the same;
    the newer version goes next under the same lease)."""
    delivered = records.mark_delivered(push, now=timezone.now())
    logger.info(
        "push delivered conversation=%s version=%d attempts=%d", link.conversation_id, push.version, push.attempts
    )
    return delivered


def _record_failure(link: ConversationLink, push: AttributePush, error: BaseException) -> DeliveryOutcome:
    now = timezone.now()
    retryable, retry_after = classify_error(error)
    message = describe_error(error)
    if not isinstance(error, GenesysError):
        logger.error(
            "push delivery raised conversation=%s version=%d", link.conversation_id, push.version, exc_info=error
        )
    if isinstance(error, GenesysNotFound):
        records.close_conversation(link)
    attempts = push.attempts
    if isinstance(error, GenesysRateLimited) and error.code == BUDGET_EXHAUSTED_CODE:
        # Our own pacing deferred the call before anything reached Genesys: not an attempt, so a long overload
        # delays pushes but never uses up their attempts.
        attempts = max(attempts - 1, 0)
    if retryable and attempts < app_settings.PUSH_MAX_ATTEMPTS:
        delay = retry_delay(attempts, retry_after)
        when = now + datetime.timedelta(seconds=delay)
        if records.schedule_retry(push, attempts=attempts, when=when, message=message, now=now):
            schedule_delivery(link.pk, run_after=when)
        logger.warning(
            "push retry conversation=%s version=%d attempt=%d in %.1fs: %s",
            link.conversation_id,
            push.version,
            attempts,
            delay,
            message,
        )
        return DeliveryOutcome.RETRY
    if retryable:
        message = f"gave up after {attempts} attempts: {message}"[:500]
    records.mark_failed(push, message=message, now=now)
    logger.error("push failed conversation=%s version=%d: %s", link.conversation_id, push.version, message)
    return DeliveryOutcome.FAILED


def _attempt(
    step: Attempt, owner: str, client: PushClient, deadline: Deadline
) -> tuple[AttemptResult, BaseException | None]:
    """The calls of one attempt: find the customer (once per conversation), check (unless the step is fresh and
    no call came first), PATCH. Records nothing but the participant; returns the result and, for ERROR, the
    error."""
    link, push = step.link, step.push
    conversation_id = str(link.conversation_id)
    try:
        participant_id = link.participant_id
        found = None
        if not participant_id:
            conversation = deadline.call(client.get_message_conversation, conversation_id)
            participant_id = found = str(client.customer_participant(conversation)["id"])
        current = CurrentCheck.OK if step.fresh and found is None else _still_current(link.pk, push, owner, found)
        if current is CurrentCheck.LOST:
            return AttemptResult.LOST, None
        if current is CurrentCheck.SUPERSEDED:
            return AttemptResult.SUPERSEDED, None
        deadline.call(client.patch_participant_attributes, conversation_id, participant_id, dict(push.attributes))
    except NoTimeLeft:
        return AttemptResult.DEFERRED, None
    except InlineTimeout:
        return AttemptResult.IN_FLIGHT, None
    except Exception as error:
        return AttemptResult.ERROR, error
    return AttemptResult.OK, None


class Delivery:
    """One holder of a conversation's lease, delivering what is due, newest version first and only."""

    def __init__(self, link_id: int, owner: str) -> None:
        self.link_id = link_id
        self.owner = owner
        self.attempted: set[int] = set()
        self.delivered: set[int] = set()  # pushes this run marked delivered (the answer needs no re-read)
        self.step: Attempt | StepEnd = StepEnd.IDLE

    @classmethod
    def begin(cls, link_id: int) -> Delivery | None:
        """Claim the lease and take the first step, in one transaction (the caller's, when it has one); None
        when someone else holds the lease."""
        with transaction.atomic(savepoint=False):
            owner = lease.claim(link_id)
            if owner is None:
                return None
            delivery = cls(link_id, owner)
            delivery.step = _next_step(link_id, owner, delivery.attempted)
            return delivery

    @classmethod
    def started(cls, link: ConversationLink, push: AttributePush, owner: str) -> Delivery:
        """The holder of a lease taken, and a push marked delivering, by records.record_and_start."""
        delivery = cls(link.pk, owner)
        delivery.step = Attempt(link, push, fresh=True)
        return delivery

    def run(self, client: PushClient, budget_seconds: float | None, max_pushes: int = 10) -> DeliveryOutcome:
        deadline = Deadline(budget_seconds)
        outcome = DeliveryOutcome.IDLE
        holding = True
        try:
            for _ in range(max_pushes):
                step = self.step
                if step is StepEnd.LOST:
                    holding = False
                    return DeliveryOutcome.LOST
                if isinstance(step, StepEnd):
                    holding = False
                    return outcome
                self.attempted.add(step.push.pk)
                result, error = _attempt(step, self.owner, client, deadline)
                if result is AttemptResult.LOST:
                    holding = False
                    return DeliveryOutcome.LOST
                if result is AttemptResult.IN_FLIGHT:
                    holding = False
                    self._leave_in_flight(step.link, step.push)
                    return DeliveryOutcome.PENDING
                if result is AttemptResult.DEFERRED:
                    holding = False
                    self._defer(step.push)
                    return DeliveryOutcome.PENDING
                # The outcome and the next step (or the release) commit together.
                with transaction.atomic():
                    if result is AttemptResult.OK:
                        outcome = DeliveryOutcome.DELIVERED
                        if _record_success(step.link, step.push):
                            self.delivered.add(step.push.pk)
                    elif result is AttemptResult.ERROR and error is not None:
                        outcome = _record_failure(step.link, step.push, error)
                    else:
                        outcome = DeliveryOutcome.SUPERSEDED
                    if result is AttemptResult.OK and lease.release_if_done(self.link_id, self.owner):
                        self.step = StepEnd.IDLE  # nothing open left: the lease is given back
                    else:
                        self.step = _next_step(self.link_id, self.owner, self.attempted)
            # A long run of new versions: hand over to the queue.
            holding = False
            with transaction.atomic():
                lease.release(self.link_id, self.owner)
                schedule_delivery(self.link_id)
            return DeliveryOutcome.PENDING
        finally:
            if holding:
                # An unexpected error: let go, so the worker (or the sweep) can take over at once.
                lease.release(self.link_id, self.owner)

    def _defer(self, push: AttributePush) -> None:
        """Past the inline deadline before a call was made: back to pending, lease released, a task for the worker."""
        with transaction.atomic():
            records.defer(push, now=timezone.now())
            lease.release(self.link_id, self.owner)
            schedule_delivery(self.link_id)

    def _leave_in_flight(self, link: ConversationLink, push: AttributePush) -> None:
        """A call outlived the inline deadline and may still land: keep the lease until it expires (nothing newer may
        overtake it) and have the worker try again right after."""
        now = timezone.now()
        lease_end = now + datetime.timedelta(seconds=app_settings.PUSH_LEASE)
        message = f"Genesys took longer than the {app_settings.VERIFY_INLINE_BUDGET:g}s inline deadline"
        with transaction.atomic():
            lease.renew(link.pk, self.owner, until=lease_end)
            if records.leave_in_flight(push, until=lease_end, message=message, now=now):
                schedule_delivery(link.pk, run_after=lease_end + datetime.timedelta(seconds=1))


def deliver_conversation(
    *, link_id: int, client: PushClient, budget_seconds: float | None = None, max_pushes: int = 10
) -> DeliveryOutcome:
    """Deliver what is due for one conversation, newest version only, while holding its lease.

    budget_seconds: the inline limit of the verify endpoint; None in the worker.
    """
    delivery = Delivery.begin(link_id)
    if delivery is None:
        return DeliveryOutcome.BUSY
    return delivery.run(client, budget_seconds, max_pushes)


def deliver_from_task(*, link_id: int, client: PushClient) -> DeliveryOutcome:
    """What the worker's task runs. BUSY with work due means the holder may be letting go right now (or died):
    look again shortly, so a push never waits for the sweep because of that race."""
    outcome = deliver_conversation(link_id=link_id, client=client)
    if outcome is DeliveryOutcome.BUSY:
        now = timezone.now()
        lease_left = lease.seconds_left(link_id, now=now)
        if lease_left is not None and has_due_push(link_id, now=now):
            schedule_delivery(link_id, run_after=now + datetime.timedelta(seconds=min(lease_left, 5) + 0.5))
    return outcome


def deliver_due(*, client: PushClient) -> dict[str, int]:
    """Deliver every due push now, in this process (`deliver_pushes --once`): outcome -> conversations."""
    outcomes: dict[str, int] = {}
    for link_id in due_conversation_ids():
        outcome = deliver_conversation(link_id=link_id, client=client).value
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
