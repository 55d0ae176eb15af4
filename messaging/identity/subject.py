"""The `sub` of authenticated messaging: the member's public id in the ID token Genesys checked, given by the
flow instead of a member token. Unlike a token it carries no proof of its own: it names a member, and only
Genesys showing the conversation's customer authenticated as that very `sub` proves it (verification.py)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from .adapter import Member, get_member_adapter


class SubReason(StrEnum):
    """Why a `sub` proves a member for a conversation, or why not. For the logs and the flow's routing (the data
    action answers it as `reason`, the same strings as a token's where the cause is the same)."""

    VERIFIED = "verified"
    UNKNOWN_MEMBER = "unknown_member"  # no active member has this public id
    WRONG_CONVERSATION = "wrong_conversation"  # Genesys has no such conversation
    NOT_AUTHENTICATED = "not_authenticated"  # the customer participant is not authenticated: the sub is a claim
    SUB_MISMATCH = "sub_mismatch"  # the customer Genesys authenticated is someone else (fromAddress)
    UNCONFIRMED = "unconfirmed"  # Genesys could not show the conversation in time: a sub is never taken unchecked


@dataclasses.dataclass(frozen=True)
class SubCheck:
    """The member a `sub` names or proves (None: none) and why."""

    member: Member | None
    reason: SubReason


def check_sub(sub: str) -> SubCheck:
    """The active member `sub` names, from the database alone (no Genesys call): VERIFIED here means only that
    the name is good; the conversation is checked after. UNKNOWN_MEMBER for an unknown or inactive one."""
    member = get_member_adapter().member_for_public_id(sub)
    if member is None or not member.is_active:
        return SubCheck(None, SubReason.UNKNOWN_MEMBER)
    return SubCheck(member, SubReason.VERIFIED)
