"""The outbox's vocabulary: what each step of a delivery can come to (no loose strings). The states of a push,
PushState, live with the model (models.py), so the models never import the outbox.

StrEnum values compare equal to their text, so logs, JSON answers and task results read as before.
"""

from enum import StrEnum

from ..models import PushState

# Still on their way to Genesys.
OPEN_STATES = (PushState.PENDING, PushState.DELIVERING)


class DeliveryOutcome(StrEnum):
    """What `deliver_conversation` did for one conversation."""

    DELIVERED = "delivered"
    RETRY = "retry"  # failed, another attempt is scheduled
    FAILED = "failed"  # final: not retryable or out of attempts
    SUPERSEDED = "superseded"  # a newer version overtook it while in flight
    PENDING = "pending"  # left to the worker (inline deadline passed, or a long run of new versions)
    BUSY = "busy"  # someone else holds the lease and delivers what is due before letting go
    IDLE = "idle"  # nothing due
    LOST = "lost"  # the lease expired under us


class AttemptResult(StrEnum):
    """How the calls of one attempt ended (before anything is recorded)."""

    OK = "ok"  # PATCHed
    ERROR = "error"  # a call raised: classified by retry.classify_error
    SUPERSEDED = "superseded"  # not sent: a newer version exists
    LOST = "lost"  # not sent: the lease is no longer ours
    DEFERRED = "deferred"  # not sent: too close to the inline deadline to start a call
    IN_FLIGHT = "in_flight"  # a call outlived the inline deadline and may still land


class StepEnd(StrEnum):
    """Why the holder has no push to attempt next."""

    LOST = "lost"  # the lease is no longer ours
    IDLE = "idle"  # nothing due: the lease was given back
    AGAIN = "again"  # the newest push was tried in this run already: lease given back, a task will retry it


class CurrentCheck(StrEnum):
    """Just before the PATCH: is this still the version to send?"""

    OK = "ok"
    LOST = "lost"
    SUPERSEDED = "superseded"
