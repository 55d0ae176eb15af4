"""Writes of the verify flow: record a push in the outbox, deliver it to Genesys, retry it, recover it.

How nothing is lost: the AttributePush row is written (with its ConversationLink) before anything is sent, and
every later step is a conditional UPDATE on rows. A delivery task rides in the same database transaction as the
state it acts on (django-tasks' database backend), and `sweep_outbox` re-enqueues what a dead process left
behind: pushes marked delivering under an expired lease, and pending pushes long overdue.

How nothing lands out of order: deliveries of one conversation hold a lease on its ConversationLink (claimed by
a conditional UPDATE, so it works on SQLite and PostgreSQL alike). The holder always sends the newest version,
marks older ones superseded, re-checks before each PATCH, and only releases the lease when nothing due is left,
in a transaction that locks the link row as `record_push` does, so a push recorded meanwhile is never stranded.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar

from django.db import IntegrityError, connections, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import MemberProfile

from .app_settings import app_settings
from .attributes import (
    MEMBER_TOKEN,
    anonymous_attributes,
    member_attribute_keys,
    member_attributes,
)
from .genesys.errors import GenesysAuthError, GenesysError, GenesysNotFound, GenesysRateLimited, GenesysTokenError
from .genesys.pacing import BUDGET_EXHAUSTED_CODE
from .identity import grants
from .models import AttributePush, ConversationLink, MemberTokenUse
from .outbox import selectors as outbox_selectors

logger = logging.getLogger("messaging.outbox")

State = AttributePush.State
OPEN_STATES = (State.PENDING, State.DELIVERING)
VERIFIED = "verified"
VERIFIED_AT = "verifiedAt"
# Below this many seconds left, an inline delivery does not start another call.
MIN_STEP_SECONDS = 0.25
INLINE_THREADS = 16
T = TypeVar("T")


class PushClient(Protocol):
    """What delivery needs from messaging.genesys.client.GenesysClient (tests pass a fake)."""

    def get_message_conversation(self, conversation_id: str) -> dict: ...

    def customer_participant(self, conversation: dict) -> dict: ...

    def patch_participant_attributes(
        self, conversation_id: str, participant_id: str, attributes: dict[str, str]
    ) -> dict: ...


# --- attributes ------------------------------------------------------------------------------------------------


def iso_timestamp(moment: datetime.datetime) -> str:
    """UTC with milliseconds and Z, as Genesys writes timestamps."""
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _member_keys() -> list[str]:
    return [key for key in member_attribute_keys() if key != MEMBER_TOKEN]


def verified_attributes(profile: MemberProfile, *, at: datetime.datetime) -> dict[str, str]:
    """The keys the page sends, with the server's values. Every member key is present (empty when the server has
    no value), so nothing the browser made up survives the push; memberToken is emptied, so no usable token is
    left on the participant for whoever reads participant data."""
    attributes = {key: "" for key in _member_keys()}
    attributes.update(member_attributes(profile))
    attributes.update({MEMBER_TOKEN: "", VERIFIED: "true", VERIFIED_AT: iso_timestamp(at)})
    return attributes


def unverified_attributes(*, at: datetime.datetime) -> dict[str, str]:
    """`verified` "false" and every member key emptied: a forged page's memberId or level is overwritten, and a
    refused token does not linger on the participant."""
    attributes = {key: "" for key in _member_keys()}
    attributes.update(anonymous_attributes())
    attributes.update({MEMBER_TOKEN: "", VERIFIED: "false", VERIFIED_AT: iso_timestamp(at)})
    return attributes


def _same_attributes(a: dict[str, str], b: dict[str, str]) -> bool:
    """Equal but for when they were verified."""
    return {k: v for k, v in a.items() if k != VERIFIED_AT} == {k: v for k, v in b.items() if k != VERIFIED_AT}


TokenCheck = grants.GrantCheck
check_member_token = grants.check_member_token


# --- recording -------------------------------------------------------------------------------------------------


def _enqueue_delivery(link_id: int, *, run_after: datetime.datetime | None = None) -> None:
    """A delivery task for the conversation. With the database task backend this row commits (or not) with the
    caller's transaction, so the task and the state it acts on cannot part."""
    from .tasks import deliver_conversation_pushes

    task = deliver_conversation_pushes if run_after is None else deliver_conversation_pushes.using(run_after=run_after)
    task.enqueue(link_id)


@transaction.atomic
def record_push(
    *,
    conversation_id: uuid.UUID,
    profile: MemberProfile | None,
    attributes: dict[str, str],
    verified: bool,
    cause: str = AttributePush.Cause.VERIFY,
    enqueue: bool = False,
    now: datetime.datetime | None = None,
) -> AttributePush:
    """The push that carries `attributes` to the conversation: a new version, or the latest one again when it
    already says the same (a repeat verify re-asserts it: one PATCH, same version).

    A new version supersedes every older undelivered one. The link row is locked for the whole transaction, so
    versions are numbered one at a time and a deliverer's release cannot miss this push.
    """
    now = now or timezone.now()
    link, _ = ConversationLink.objects.select_for_update().get_or_create(conversation_id=conversation_id)
    member_pk = profile.pk if profile is not None else None
    latest = outbox_selectors.latest_push(link)
    if (
        latest is not None
        and latest.verified == verified
        and latest.member_id == member_pk
        and _same_attributes(latest.attributes, attributes)
    ):
        push = latest
        if push.state in (State.DELIVERED, State.FAILED):
            push.state = State.PENDING
            push.attempts = 0
            push.next_attempt_at = now
            push.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
    else:
        link.pushes.filter(state__in=[State.PENDING, State.DELIVERING, State.FAILED]).update(
            state=State.SUPERSEDED, updated_at=now
        )
        push = AttributePush.objects.create(
            conversation=link,
            member=profile,
            version=(latest.version + 1) if latest is not None else 1,
            cause=cause,
            attributes=attributes,
            verified=verified,
            next_attempt_at=now,
        )
    if cause == AttributePush.Cause.VERIFY:
        link.member = profile
        link.verified = verified
        link.last_verified_at = now
        link.state = ConversationLink.State.OPEN
        link.save(update_fields=["member", "verified", "last_verified_at", "state", "updated_at"])
    if enqueue and push.state == State.PENDING:
        _enqueue_delivery(link.pk)
    return push


# --- delivery --------------------------------------------------------------------------------------------------


class _BudgetExhausted(Exception):
    """No time left to start the next call; nothing is in flight."""


class _InlineTimeout(Exception):
    """A call outlived the inline budget and may still reach Genesys."""


_executor: ThreadPoolExecutor | None = None
_executor_pid: int | None = None
_executor_lock = threading.Lock()


def _inline_executor() -> ThreadPoolExecutor:
    # Per process: a forked web worker must not inherit the parent's threads.
    global _executor, _executor_pid
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=INLINE_THREADS, thread_name_prefix="genesys-inline")
            _executor_pid = os.getpid()
        return _executor


def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    finally:
        # The token cache may have opened a connection in this pool thread.
        connections.close_all()


class _Budget:
    """Wall-clock limit of an inline delivery. Without one (the worker), calls run in the caller's thread and are
    bounded by the client's own timeouts and retries."""

    def __init__(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.deadline is None:
            return fn(*args)
        remaining = self.deadline - time.monotonic()
        if remaining < MIN_STEP_SECONDS:
            raise _BudgetExhausted
        # A thread, because the client's timeouts and retries are per call and could add up past the data
        # action's 20 s: the answer must not wait for them.
        future = _inline_executor().submit(_in_thread, fn, *args)
        try:
            return future.result(timeout=remaining)
        except FutureTimeout:
            if future.cancel():
                raise _BudgetExhausted from None
            raise _InlineTimeout from None


def _claim(link_id: int) -> str | None:
    """Take the conversation's delivery lease if it is free or expired; the lease token, or None."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        ConversationLink.objects.filter(pk=link_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + datetime.timedelta(seconds=app_settings.PUSH_LEASE), lease_token=token)
    )
    return token if claimed else None


def _release(link_id: int, token: str) -> None:
    ConversationLink.objects.filter(pk=link_id, lease_token=token).update(lease_until=None, lease_token="")


_LOST = object()  # the lease is no longer ours
_IDLE = object()  # nothing due: the lease was given back
_AGAIN = object()  # the newest push was tried in this run already: lease given back, a task will retry it


def _next_step(link_id: int, token: str, attempted: set[int]) -> Any:
    """Under the lease, in one transaction with the link row locked: supersede stale versions and mark the newest
    due push delivering (one more attempt), returning (link, push); or, when there is nothing to send now, give
    the lease back (a push recorded meanwhile waits for the lock, then finds the lease free)."""
    now = timezone.now()
    with transaction.atomic():
        link = ConversationLink.objects.select_for_update().filter(pk=link_id).first()
        if link is None or link.lease_token != token:
            return _LOST
        push = None
        newest = link.pushes.aggregate(v=Max("version"))["v"]
        if newest is not None:
            link.pushes.filter(state__in=OPEN_STATES, version__lt=newest).update(state=State.SUPERSEDED, updated_at=now)
            push = link.pushes.filter(version=newest, state__in=OPEN_STATES).first()
        if push is not None and push.next_attempt_at <= now and push.pk in attempted:
            # One attempt per push per run; its retry is already due (a tiny backoff): a task takes it, and
            # commits with the release, so it cannot find the lease still taken.
            _release(link_id, token)
            _enqueue_delivery(link_id)
            return _AGAIN
        if push is not None and push.next_attempt_at <= now and push.attempts >= app_settings.PUSH_MAX_ATTEMPTS:
            # Only attempts cut short by a dead process get here (a failed attempt fails the push itself).
            push.state = State.FAILED
            push.last_error = f"gave up after {push.attempts} attempts: delivery interrupted"
            push.save(update_fields=["state", "last_error", "updated_at"])
            logger.error("push failed conversation=%s version=%d: out of attempts", link.conversation_id, push.version)
            push = None
        if push is None or push.next_attempt_at > now:
            _release(link_id, token)
            return _IDLE
        if push.state == State.DELIVERING:
            # Its deliverer died mid-call (we hold the lease now): the attempt it spent counts.
            push.last_error = "delivery interrupted (the process stopped mid-call); retrying"
        push.state = State.DELIVERING
        push.attempts += 1
        push.last_attempt_at = now
        push.save(update_fields=["state", "attempts", "last_attempt_at", "last_error", "updated_at"])
        return link, push


def _still_current(link_id: int, push: AttributePush, token: str, participant_id: str | None) -> str:
    """Just before the PATCH, in one transaction: remember a participant just found, renew the lease, and make
    sure this is still the version to send."""
    now = timezone.now()
    with transaction.atomic():
        changes: dict[str, Any] = {"lease_until": now + datetime.timedelta(seconds=app_settings.PUSH_LEASE)}
        if participant_id:
            changes["participant_id"] = participant_id
        if not ConversationLink.objects.filter(pk=link_id, lease_token=token).update(**changes):
            return "lost"
        state = AttributePush.objects.filter(pk=push.pk).values_list("state", flat=True).first()
        if AttributePush.objects.filter(conversation_id=link_id, version__gt=push.version).exists():
            AttributePush.objects.filter(pk=push.pk, state__in=OPEN_STATES).update(
                state=State.SUPERSEDED, updated_at=now
            )
            return "superseded"
        return "ok" if state == State.DELIVERING else "superseded"


def classify_error(error: BaseException) -> tuple[bool, float | None]:
    """(retryable, Retry-After seconds). 5xx, 429 and network errors are retryable; token and auth errors too,
    since an operator may fix the credentials or roles within the attempts; unknown errors as well (bounded by
    the attempts). Not found, bad request and invalid attributes are final."""
    retry_after = getattr(error, "retry_after", None) if isinstance(error, GenesysRateLimited) else None
    if isinstance(error, GenesysError):
        return bool(error.retryable or isinstance(error, GenesysTokenError | GenesysAuthError)), retry_after
    return True, None


def describe_error(error: BaseException) -> str:
    """For last_error and logs: our typed errors carry no secret by contract; anything else is named by class
    only, since its message is not ours to vouch for."""
    if isinstance(error, GenesysError):
        return f"{type(error).__name__}: {error}"[:500]
    return f"{type(error).__name__} (unexpected; see the worker log)"


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter: base * 2**(attempts-1), capped, then between half and all of it; never
    sooner than Genesys' Retry-After (itself capped, since daily limits answer hours)."""
    ceiling = min(app_settings.PUSH_RETRY_MAX, app_settings.PUSH_RETRY_BASE * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after:
        delay = max(delay, min(float(retry_after), app_settings.PUSH_RETRY_AFTER_MAX))
    return delay


def _record_success(link: ConversationLink, push: AttributePush) -> str:
    now = timezone.now()
    done = AttributePush.objects.filter(pk=push.pk, state=State.DELIVERING).update(
        state=State.DELIVERED, delivered_at=now, last_error="", updated_at=now
    )
    if not done:
        # Superseded while in flight: it did land, and the newer version goes next under the same lease.
        AttributePush.objects.filter(pk=push.pk).update(delivered_at=now, updated_at=now)
    logger.info(
        "push delivered conversation=%s version=%d attempts=%d", link.conversation_id, push.version, push.attempts
    )
    return "delivered"


def _record_failure(link: ConversationLink, push: AttributePush, error: BaseException) -> str:
    now = timezone.now()
    retryable, retry_after = classify_error(error)
    message = describe_error(error)
    if not isinstance(error, GenesysError):
        logger.error(
            "push delivery raised conversation=%s version=%d", link.conversation_id, push.version, exc_info=error
        )
    if isinstance(error, GenesysNotFound):
        # The conversation (or its customer) is gone: nothing will ever take this push.
        ConversationLink.objects.filter(pk=link.pk).update(state=ConversationLink.State.CLOSED)
    if isinstance(error, GenesysRateLimited) and error.code == BUDGET_EXHAUSTED_CODE:
        # Our own pacing deferred the call before anything reached Genesys: not an attempt, so a long overload
        # delays pushes but never uses up their attempts.
        push.attempts = max(push.attempts - 1, 0)
    if retryable and push.attempts < app_settings.PUSH_MAX_ATTEMPTS:
        delay = retry_delay(push.attempts, retry_after)
        when = now + datetime.timedelta(seconds=delay)
        if AttributePush.objects.filter(pk=push.pk, state=State.DELIVERING).update(
            state=State.PENDING, attempts=push.attempts, next_attempt_at=when, last_error=message, updated_at=now
        ):
            _enqueue_delivery(link.pk, run_after=when)
        logger.warning(
            "push retry conversation=%s version=%d attempt=%d in %.1fs: %s",
            link.conversation_id,
            push.version,
            push.attempts,
            delay,
            message,
        )
        return "retry"
    if retryable:
        message = f"gave up after {push.attempts} attempts: {message}"[:500]
    AttributePush.objects.filter(pk=push.pk, state=State.DELIVERING).update(
        state=State.FAILED, last_error=message, updated_at=now
    )
    logger.error("push failed conversation=%s version=%d: %s", link.conversation_id, push.version, message)
    return "failed"


def _attempt(
    link: ConversationLink, push: AttributePush, token: str, client: PushClient, budget: _Budget
) -> tuple[str, BaseException | None]:
    """The calls of one attempt: find the customer (once per conversation), check, PATCH. Records nothing but
    the participant; returns ("ok" | "error" | "superseded" | "lost" | "deferred" | "in_flight", error)."""
    conversation_id = str(link.conversation_id)
    try:
        participant_id = link.participant_id
        found = None
        if not participant_id:
            conversation = budget.call(client.get_message_conversation, conversation_id)
            participant_id = found = str(client.customer_participant(conversation)["id"])
        current = _still_current(link.pk, push, token, found)
        if current != "ok":
            return current, None
        budget.call(client.patch_participant_attributes, conversation_id, participant_id, dict(push.attributes))
    except _BudgetExhausted:
        return "deferred", None
    except _InlineTimeout:
        return "in_flight", None
    except Exception as error:
        return "error", error
    return "ok", None


class _Delivery:
    """One holder of a conversation's lease, delivering what is due, newest version first and only."""

    def __init__(self, link_id: int, token: str) -> None:
        self.link_id = link_id
        self.token = token
        self.attempted: set[int] = set()
        self.step: Any = None

    @classmethod
    def begin(cls, link_id: int) -> _Delivery | None:
        """Claim the lease and take the first step, in one transaction (the caller's, when it has one)."""
        with transaction.atomic():
            token = _claim(link_id)
            if token is None:
                return None
            delivery = cls(link_id, token)
            delivery.step = _next_step(link_id, token, delivery.attempted)
            return delivery

    def run(self, client: PushClient, budget_seconds: float | None, max_pushes: int = 10) -> str:
        budget = _Budget(budget_seconds)
        outcome = "idle"
        holding = True
        try:
            for _ in range(max_pushes):
                step = self.step
                if step is _LOST:
                    holding = False
                    return "lost"
                if step is _IDLE or step is _AGAIN:
                    holding = False
                    return outcome
                link, push = step
                self.attempted.add(push.pk)
                kind, error = _attempt(link, push, self.token, client, budget)
                if kind == "lost":
                    holding = False
                    return "lost"
                if kind == "in_flight":
                    holding = False
                    self._leave_in_flight(link, push)
                    return "pending"
                if kind == "deferred":
                    holding = False
                    self._defer(push)
                    return "pending"
                # The outcome and the next step (or the release) commit together.
                with transaction.atomic():
                    if kind == "ok":
                        outcome = _record_success(link, push)
                    elif kind == "error":
                        outcome = _record_failure(link, push, error)  # type: ignore[arg-type]
                    else:
                        outcome = kind
                    self.step = _next_step(self.link_id, self.token, self.attempted)
            # A long run of new versions: hand over to the queue.
            holding = False
            with transaction.atomic():
                _release(self.link_id, self.token)
                _enqueue_delivery(self.link_id)
            return "pending"
        finally:
            if holding:
                # An unexpected error: let go, so the worker (or the sweep) can take over at once.
                _release(self.link_id, self.token)

    def _defer(self, push: AttributePush) -> None:
        """Out of inline budget before a call was made: back to pending, lease released, a task for the worker."""
        now = timezone.now()
        with transaction.atomic():
            AttributePush.objects.filter(pk=push.pk, state=State.DELIVERING).update(
                state=State.PENDING, next_attempt_at=now, updated_at=now
            )
            _release(self.link_id, self.token)
            _enqueue_delivery(self.link_id)

    def _leave_in_flight(self, link: ConversationLink, push: AttributePush) -> None:
        """A call outlived the inline budget and may still land: keep the lease until it expires (nothing newer may
        overtake it) and have the worker try again right after."""
        now = timezone.now()
        lease_end = now + datetime.timedelta(seconds=app_settings.PUSH_LEASE)
        with transaction.atomic():
            ConversationLink.objects.filter(pk=link.pk, lease_token=self.token).update(lease_until=lease_end)
            if AttributePush.objects.filter(pk=push.pk, state=State.DELIVERING).update(
                state=State.PENDING,
                next_attempt_at=lease_end,
                last_error=f"Genesys took longer than the {app_settings.VERIFY_INLINE_BUDGET:g}s inline budget",
                updated_at=now,
            ):
                _enqueue_delivery(link.pk, run_after=lease_end + datetime.timedelta(seconds=1))


def deliver_conversation(
    *, link_id: int, client: PushClient, budget_seconds: float | None = None, max_pushes: int = 10
) -> str:
    """Deliver what is due for one conversation, newest version only, while holding its lease.

    Returns "delivered", "retry", "failed", "superseded", "pending" (left to the worker), "busy" (someone else
    holds the lease and delivers what is due before letting go), "idle" (nothing due) or "lost" (lease expired).
    budget_seconds: the inline limit of the verify endpoint; None in the worker.
    """
    delivery = _Delivery.begin(link_id)
    if delivery is None:
        return "busy"
    return delivery.run(client, budget_seconds, max_pushes)


def deliver_from_task(*, link_id: int, client: PushClient) -> str:
    """What the worker's task runs. "busy" with work due means the holder may be letting go right now (or died):
    look again shortly, so a push never waits for the sweep because of that race."""
    outcome = deliver_conversation(link_id=link_id, client=client)
    if outcome == "busy":
        now = timezone.now()
        link = ConversationLink.objects.filter(pk=link_id).values("lease_until").first()
        due = AttributePush.objects.filter(conversation_id=link_id, state__in=OPEN_STATES, next_attempt_at__lte=now)
        if link is not None and due.exists():
            lease_left = (link["lease_until"] - now).total_seconds() if link["lease_until"] else 0.0
            _enqueue_delivery(link_id, run_after=now + datetime.timedelta(seconds=min(max(lease_left, 0), 5) + 0.5))
    return outcome


# --- the flows -------------------------------------------------------------------------------------------------


def _token_on_conversation(
    conversation_id: uuid.UUID, token: str, client: PushClient, budget: _Budget
) -> tuple[str, str]:
    """Whether a token the grant check accepted may verify this conversation: (outcome, customer participant id).

    outcome: "repeat" (it verified this conversation before: a retried data action, whose participant no longer
    carries it), "ok" (the customer participant carries exactly this token), "unchecked" (Genesys could not show
    the conversation in time: the token is then accepted on the strength of its live grant and spent on this
    conversation, so the answer does not wait for Genesys), or why not: "already_used" (it verified another
    conversation), "wrong_conversation" (it is not on this conversation's customer, or there is no such
    conversation).
    """
    digest = grants.token_digest(token)
    used_on = outbox_selectors.conversation_of_used_token(digest)
    if used_on is not None:
        return ("repeat" if used_on == conversation_id else "already_used"), ""
    try:
        conversation = budget.call(client.get_message_conversation, str(conversation_id))
        participant = client.customer_participant(conversation)
    except GenesysNotFound:
        return "wrong_conversation", ""
    except (_BudgetExhausted, _InlineTimeout):
        return "unchecked", ""
    except Exception as error:
        logger.warning("verify conversation=%s: customer unreadable: %s", conversation_id, describe_error(error))
        return "unchecked", ""
    carried = (participant.get("attributes") or {}).get(MEMBER_TOKEN)
    if not isinstance(carried, str) or not secrets.compare_digest(carried.encode(), token.encode()):
        return "wrong_conversation", ""
    return "ok", str(participant["id"])


def _spend_token(token: str, conversation_id: uuid.UUID) -> bool:
    """Bind the token to the conversation it verifies; False when a concurrent verify bound it to another."""
    digest = grants.token_digest(token)
    try:
        with transaction.atomic():
            MemberTokenUse.objects.create(token_digest=digest, conversation_id=conversation_id)
    except IntegrityError:
        return outbox_selectors.conversation_of_used_token(digest) == conversation_id
    return True


def _confirm_member(
    conversation_id: uuid.UUID, token: str, client: PushClient, budget: _Budget
) -> tuple[TokenCheck, str]:
    """The member the token proves for this conversation, or why not; and the customer participant when found.
    Checks the grant first (no call to Genesys for a dead token), then that the token belongs here."""
    check = check_member_token(token)
    if check.profile is None:
        return check, ""
    outcome, participant_id = _token_on_conversation(conversation_id, token, client, budget)
    if outcome in ("ok", "unchecked") and not _spend_token(token, conversation_id):
        outcome = "already_used"
    if outcome == "unchecked":
        return TokenCheck(check.profile, "verified_unchecked"), participant_id
    if outcome not in ("ok", "repeat"):
        return TokenCheck(None, outcome), participant_id
    return check, participant_id


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    attributes: dict[str, str]
    push_state: str
    verified: bool
    reason: str
    version: int


def verify_conversation(
    *, conversation_id: uuid.UUID, member_token: str, client: PushClient, budget_seconds: float | None
) -> VerifyResult:
    """The data action: check the token (its grant, then that the conversation's customer carries it), record the
    verified (or unverified) attributes, try to deliver them within the budget, and answer from the database
    whatever Genesys did. The answer never carries the token key; the push empties it on the participant."""
    budget = _Budget(budget_seconds)
    check, participant_id = _confirm_member(conversation_id, member_token, client, budget)
    now = timezone.now()
    if check.profile is not None:
        attributes = verified_attributes(check.profile, at=now)
    else:
        attributes = unverified_attributes(at=now)
    # Recorded, claimed and marked delivering in one transaction (one commit: SQLite fsyncs each).
    with transaction.atomic():
        push = record_push(
            conversation_id=conversation_id,
            profile=check.profile,
            attributes=attributes,
            verified=check.profile is not None,
            now=now,
        )
        if participant_id:
            # Found by the check: the delivery PATCHes without a second GET.
            ConversationLink.objects.filter(pk=push.conversation_id).update(participant_id=participant_id)
        delivery = _Delivery.begin(push.conversation_id)
    try:
        if delivery is not None:
            delivery.run(client, budget.remaining())
    except Exception:
        # The answer comes from the database regardless; the sweep (or this task) delivers later.
        logger.exception("inline delivery failed conversation=%s; left to the worker", conversation_id)
        try:
            _enqueue_delivery(push.conversation_id)
        except Exception:
            logger.exception("could not enqueue delivery conversation=%s; the sweep will", conversation_id)
    push.refresh_from_db(fields=["state", "attributes"])
    return VerifyResult(
        attributes={key: value for key, value in push.attributes.items() if key != MEMBER_TOKEN},
        # The flow's contract: delivered, failed, or pending (on its way: waiting, in flight, or overtaken by a
        # newer version that is).
        push_state=push.state if push.state in (State.DELIVERED, State.FAILED) else "pending",
        verified=push.verified,
        reason=check.reason,
        version=push.version,
    )


def repush_member(*, profile: MemberProfile) -> int:
    """A new version for each of the member's open conversations (level changed); delivered by the worker.
    Returns how many pushes were recorded."""
    fresh = outbox_selectors.member_for_id(profile.member_id)
    if fresh is None:
        return 0
    count = 0
    for link in outbox_selectors.open_links_for_member(fresh):
        now = timezone.now()
        record_push(
            conversation_id=link.conversation_id,
            profile=fresh,
            attributes=verified_attributes(fresh, at=now),
            verified=True,
            cause=AttributePush.Cause.LEVEL_CHANGE,
            enqueue=True,
            now=now,
        )
        count += 1
    if count:
        logger.info("level change member=%s: %d conversation(s) re-pushed", fresh.member_id, count)
    return count


def retry_pushes(*, push_ids: Iterable[int]) -> tuple[int, int]:
    """Admin "Retry now": failed (or waiting) pushes that are still their conversation's newest version get fresh
    attempts and a delivery task. Returns (queued, skipped)."""
    queued = skipped = 0
    for push_id in push_ids:
        with transaction.atomic():
            push = AttributePush.objects.filter(pk=push_id).first()
            if push is None:
                skipped += 1
                continue
            link = ConversationLink.objects.select_for_update().get(pk=push.conversation_id)
            newest = link.pushes.aggregate(v=Max("version"))["v"]
            if push.version != newest or push.state not in (State.FAILED, State.PENDING):
                skipped += 1
                continue
            push.state = State.PENDING
            push.attempts = 0
            push.next_attempt_at = timezone.now()
            push.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
            _enqueue_delivery(link.pk)
            queued += 1
    return queued, skipped


@dataclasses.dataclass(frozen=True)
class SweepReport:
    recovered: int  # deliveries interrupted by a dead process, back to pending
    enqueued: int  # conversations given a new delivery task


def sweep_outbox(*, grace: float | None = None) -> SweepReport:
    """Find what a dead process left behind and enqueue its delivery again.

    django-tasks' database worker never re-runs a task that was RUNNING when its worker died, so the outbox is
    swept instead: pushes delivering under an expired lease go back to pending, and pending pushes overdue by
    more than `grace` seconds with no task waiting for them (it was lost, or ran while the lease was taken) get a
    new task. A duplicate task is harmless: deliveries are serialised by the lease and idempotent per version.
    """
    grace = app_settings.PUSH_SWEEP_GRACE if grace is None else grace
    now = timezone.now()
    stale = outbox_selectors.stale_deliveries(now=now)
    stale_ids = list(stale.order_by().values_list("id", "conversation_id"))
    overdue = outbox_selectors.overdue_conversation_ids(before=now - datetime.timedelta(seconds=grace))
    # An overdue push whose task still waits in the queue is late, not lost: a long queue after an outage must
    # not be multiplied by the sweep.
    overdue = list(set(overdue) - outbox_selectors.conversations_with_queued_delivery(overdue))
    link_ids = {link_id for _, link_id in stale_ids} | set(overdue)
    if not link_ids:
        return SweepReport(0, 0)
    with transaction.atomic():
        recovered = AttributePush.objects.filter(
            pk__in=[push_id for push_id, _ in stale_ids], state=State.DELIVERING
        ).update(
            state=State.PENDING,
            next_attempt_at=now,
            last_error="delivery interrupted (the process stopped mid-call); retrying",
            updated_at=now,
        )
        # Not overdue again for another grace period, so the next sweeps do not pile up tasks.
        AttributePush.objects.filter(
            conversation_id__in=overdue,
            state=State.PENDING,
            next_attempt_at__lte=now - datetime.timedelta(seconds=grace),
        ).update(next_attempt_at=now, updated_at=now)
        for link_id in sorted(link_ids):
            _enqueue_delivery(link_id)
    logger.info("outbox sweep: %d interrupted delivery(ies) recovered, %d task(s) enqueued", recovered, len(link_ids))
    return SweepReport(recovered, len(link_ids))


def deliver_due(*, client: PushClient) -> dict[str, int]:
    """Deliver every due push now, in this process (`deliver_pushes --once`): outcome -> conversations."""
    outcomes: dict[str, int] = {}
    for link_id in outbox_selectors.due_conversation_ids():
        outcome = deliver_conversation(link_id=link_id, client=client)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
