"""The data action's use case: who is this conversation's member; record the verified attributes, deliver them
inline, answer.

Genesys calls POST /messaging/genesys/verify (views.py) with the conversation and either the token the page set or
the `sub` Genesys authenticated. Two steps:
  1. `claimed_member`, from the request alone (no Genesys call): a token's signature, age and live session grant
     (identity/grants.py), or a `sub` naming an active member. A guest (neither given), a dead token or an unknown
     `sub` stops here: answered verified "false" with its reason, nothing recorded, nothing pushed. A stranger's
     flood of guest conversations therefore costs no Genesys budget and cannot touch a member's conversation.
  2. `verify_conversation`: Genesys shows the conversation, the token must sit on (or the `sub` be the identity
     Genesys authenticated on) its customer participant; only then are the verified attributes recorded in the
     outbox and delivered within the inline deadline (else by the worker), and the answer reads the database.
A call that cannot confirm a member never records anything, so verified attributes are only ever replaced by newer
verified ones (outbox/records.py refuses anything else over a verified conversation).
"""

import dataclasses
import logging
import secrets
import uuid
from enum import StrEnum

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .app_settings import app_settings
from .attributes import MEMBER_TOKEN, unverified_attributes, verified_attributes
from .genesys.errors import GenesysNotFound
from .identity.adapter import Member
from .identity.grants import TokenCheck, check_member_token
from .identity.member_token import TokenReason, token_digest
from .identity.subject import SubCheck, SubReason, check_sub
from .models import MemberTokenUse
from .outbox import records
from .outbox.deadline import Deadline, InlineTimeout, NoTimeLeft
from .outbox.delivery import Delivery, PushClient
from .outbox.retry import describe_error
from .outbox.schedule import schedule_delivery
from .outbox.states import PushState

logger = logging.getLogger("messaging.outbox")

# What the request names, and why it does or does not prove a member: a member token's or a `sub`'s.
Claim = TokenCheck | SubCheck
Reason = TokenReason | SubReason


class TokenOnConversation(StrEnum):
    """Whether a token its grant check accepted may verify this conversation."""

    REPEAT = "repeat"  # it verified this conversation before: a retried data action (the participant no
    # longer carries it, the push emptied it)
    OK = "ok"  # the customer participant carries exactly this token
    UNCHECKED = "unchecked"  # Genesys could not show the conversation in time: accepted on the strength of its
    # live grant and spent on this conversation, so the answer does not wait for Genesys
    ALREADY_USED = "already_used"  # it verified another conversation
    WRONG_CONVERSATION = "wrong_conversation"  # not on this conversation's customer, or no such conversation


def _token_on_conversation(
    conversation_id: uuid.UUID, token: str, spent_on: uuid.UUID | None, client: PushClient, deadline: Deadline
) -> tuple[TokenOnConversation, str]:
    """(whether the token may verify this conversation, the customer participant id when found). `spent_on`: the
    conversation the token already verified (TokenCheck.spent_on)."""
    if spent_on is not None:
        return (TokenOnConversation.REPEAT if spent_on == conversation_id else TokenOnConversation.ALREADY_USED), ""
    try:
        conversation = deadline.call(client.get_message_conversation, str(conversation_id))
        participant = client.customer_participant(conversation)
    except GenesysNotFound:
        return TokenOnConversation.WRONG_CONVERSATION, ""
    except (NoTimeLeft, InlineTimeout):
        return TokenOnConversation.UNCHECKED, ""
    except Exception as error:
        logger.warning("verify conversation=%s: customer unreadable: %s", conversation_id, describe_error(error))
        return TokenOnConversation.UNCHECKED, ""
    carried = (participant.get("attributes") or {}).get(MEMBER_TOKEN)
    if not isinstance(carried, str) or not secrets.compare_digest(carried.encode(), token.encode()):
        return TokenOnConversation.WRONG_CONVERSATION, ""
    return TokenOnConversation.OK, str(participant["id"])


def _shown_identity(participant: dict) -> str | None:
    """The identity Genesys authenticated on a customer participant: `fromAddress.addressDisplayable` (Address,
    PureCloudPlatformClientV2 `message_media_participant.py`, `address.py`), the ID token's sub."""
    address = participant.get("fromAddress")
    shown = address.get("addressDisplayable") if isinstance(address, dict) else None
    return shown if isinstance(shown, str) else None


def _confirm_subject(
    conversation_id: uuid.UUID, sub: str, member: Member, client: PushClient, deadline: Deadline
) -> tuple[SubCheck, str]:
    """`member` (the active member `sub` names) once the Platform API shows that this conversation's customer is
    `authenticated: true` as that very `sub` (Genesys checked the site's ID token; GENESYS_VERIFY_SUB_ON_FROM_ADDRESS);
    else why not. Unlike a token, a sub is never accepted unchecked: it carries no proof of its own."""
    try:
        conversation = deadline.call(client.get_message_conversation, str(conversation_id))
        participant = client.customer_participant(conversation)
    except GenesysNotFound:
        return SubCheck(None, SubReason.WRONG_CONVERSATION), ""
    except (NoTimeLeft, InlineTimeout):
        return SubCheck(None, SubReason.UNCONFIRMED), ""
    except Exception as error:
        logger.warning("verify conversation=%s: customer unreadable: %s", conversation_id, describe_error(error))
        return SubCheck(None, SubReason.UNCONFIRMED), ""
    participant_id = str(participant["id"])
    if participant.get("authenticated") is not True:
        return SubCheck(None, SubReason.NOT_AUTHENTICATED), participant_id
    if app_settings.VERIFY_SUB_ON_FROM_ADDRESS and _shown_identity(participant) != sub:
        return SubCheck(None, SubReason.SUB_MISMATCH), participant_id
    return SubCheck(member, SubReason.VERIFIED), participant_id


def _spend_token(token: str, conversation_id: uuid.UUID) -> QuerySet[MemberTokenUse]:
    """Bind the token to the conversation it verifies. Returns the use that proves the binding: empty when a
    concurrent verify bound the token to another conversation first. The caller reads it with its next read (the
    data action: in the SELECT that locks the conversation's link, inside the transaction that records the push:
    one COMMIT for both)."""
    digest = token_digest(token)
    use = MemberTokenUse(token_digest=digest, conversation_id=conversation_id, used_at=timezone.now())
    MemberTokenUse.objects.bulk_create([use], ignore_conflicts=True)
    return MemberTokenUse.objects.filter(token_digest=digest, conversation_id=conversation_id)


def _confirm_member(
    conversation_id: uuid.UUID, token: str, check: TokenCheck, client: PushClient, deadline: Deadline
) -> tuple[TokenCheck, str, bool]:
    """The member the token (its grant already checked: `check`) proves for this conversation, or why not; the
    customer participant when found; and whether the check holds only once the token is spent on this
    conversation (_spend_token)."""
    outcome, participant_id = _token_on_conversation(conversation_id, token, check.spent_on, client, deadline)
    if outcome is TokenOnConversation.UNCHECKED:
        return TokenCheck(check.member, TokenReason.VERIFIED_UNCHECKED), participant_id, True
    if outcome is TokenOnConversation.ALREADY_USED:
        return TokenCheck(None, TokenReason.ALREADY_USED), participant_id, False
    if outcome is TokenOnConversation.WRONG_CONVERSATION:
        return TokenCheck(None, TokenReason.WRONG_CONVERSATION), participant_id, False
    return check, participant_id, outcome is TokenOnConversation.OK


NOT_PUSHED = "none"  # the pushState of an answer that recorded nothing


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    attributes: dict[str, str]
    # The flow's contract: delivered, failed, or pending (on its way: waiting, in flight, or overtaken by a
    # newer version that is); NOT_PUSHED when nothing was recorded (no member confirmed).
    push_state: str
    verified: bool
    reason: Reason
    version: int


def claimed_member(*, member_token: str, sub: str) -> Claim:
    """The member the request names, checked without Genesys: a `sub` naming an active member (a SubCheck), or a
    token with a good signature, age and live session grant (a TokenCheck). No member, and why, for a guest
    (neither given: NO_TOKEN), an unknown or inactive `sub`, or a dead token. At most one indexed SELECT; never a
    Genesys call."""
    return check_sub(sub) if sub else check_member_token(member_token)


def unconfirmed(reason: Reason) -> VerifyResult:
    """The answer to a call that confirmed no member: verified "false", every member key empty, `reason` for the
    flow. Nothing is recorded or pushed, so the conversation keeps whatever verified attributes it has."""
    attributes = unverified_attributes(at=timezone.now())
    return VerifyResult(attributes=attributes, push_state=NOT_PUSHED, verified=False, reason=reason, version=0)


def verify_conversation(
    *,
    conversation_id: uuid.UUID,
    member_token: str,
    client: PushClient,
    budget_seconds: float | None,
    sub: str = "",
    claimed: Claim | None = None,
) -> VerifyResult:
    """The data action: `claimed_member` (given as `claimed` when the caller already ran it), then Genesys' view of
    the conversation: the customer carries the token, or is authenticated as the `sub`. Only a confirmed member
    is recorded (verified attributes, delivered within the deadline, the answer read from the database whatever
    Genesys did); anything else is `unconfirmed`: no row, no push. The answer never carries the token key (in
    token mode the push empties it on the participant)."""
    if claimed is None:
        claimed = claimed_member(member_token=member_token, sub=sub)
    if claimed.member is None:
        return unconfirmed(claimed.reason)
    deadline = Deadline(budget_seconds)
    spend = False
    check: Claim
    if isinstance(claimed, SubCheck):
        check, participant_id = _confirm_subject(conversation_id, sub, claimed.member, client, deadline)
    else:
        check, participant_id, spend = _confirm_member(conversation_id, member_token, claimed, client, deadline)
    if check.member is None:
        return unconfirmed(check.reason)
    # The token spent, the push recorded, the lease taken and the push marked delivering in one transaction (one
    # commit: each one is a disk flush), folded into the writes recording makes anyway when the lease is free
    # (records.record_and_start).
    # A token spent for the first time most likely opens its conversation's link: inserted before it is read.
    try:
        with transaction.atomic():
            bound = _spend_token(member_token, conversation_id) if spend else None
            now = timezone.now()
            member = check.member
            recorded = records.record_and_start(
                conversation_id=conversation_id,
                user_id=member.user_id,
                attributes=verified_attributes(member, at=now),
                verified=True,
                participant_id=participant_id,
                now=now,
                requires=bound,
                probably_new=spend,
            )
            push = recorded.push
            if recorded.lease_owner:
                delivery: Delivery | None = Delivery.started(recorded.link, push, recorded.lease_owner)
            else:
                delivery = Delivery.begin(push.conversation_id)
    except records.RequirementNotMet:  # the token was bound to another conversation meanwhile: all rolled back
        return unconfirmed(TokenReason.ALREADY_USED)
    try:
        if delivery is not None:
            delivery.run(client, deadline.remaining())
    except Exception:
        # The answer comes from the database regardless; the sweep (or this task) delivers later.
        logger.exception("inline delivery failed conversation=%s; left to the worker", conversation_id)
        try:
            schedule_delivery(push.conversation_id)
        except Exception:
            logger.exception("could not enqueue delivery conversation=%s; the sweep will", conversation_id)
    # A push this delivery marked delivered is answered from memory (its attributes never change); any other
    # outcome is read back, since the worker or another holder may have moved it on.
    if delivery is not None and push.pk in delivery.delivered:
        state = PushState.DELIVERED
    else:
        push.refresh_from_db(fields=["state"])
        state = PushState(push.state)
    return VerifyResult(
        attributes={key: value for key, value in push.attributes.items() if key != MEMBER_TOKEN},
        push_state=state if state in (PushState.DELIVERED, PushState.FAILED) else "pending",
        verified=push.verified,
        reason=check.reason,
        version=push.version,
    )
