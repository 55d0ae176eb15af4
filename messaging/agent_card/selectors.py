"""What the card shows, read from the site's database only: the conversation's link (who the data action
verified, and when), the member through the member adapter, the latest push and the member's other open
conversations. Nothing comes from participant data, which the customer's browser can write."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from enum import StrEnum

from ..identity.adapter import LevelChangeFact, active_member_for_user_id, get_member_adapter
from ..models import ConversationLink
from ..outbox.selectors import latest_push, open_links_for_members

# How many of the member's other open conversations the card lists.
OTHER_CONVERSATIONS = 5


class VerifiedBy(StrEnum):
    """How the data action knew the member: Genesys' authenticated messaging (it checked the site's ID token and
    the flow sent the `sub`), or the member token the signed-in page set."""

    AUTHENTICATED = "authenticated"
    MEMBER_TOKEN = "member_token"


@dataclasses.dataclass(frozen=True)
class OtherConversation:
    conversation_id: str
    verified_at: datetime.datetime | None


@dataclasses.dataclass(frozen=True)
class MemberCard:
    """A verified member's card. `authenticated` is Genesys' own `authenticated` on the customer participant (set
    by Genesys after it checked the ID token; not a custom attribute)."""

    name: str
    public_id: str
    level: str
    level_description: str
    member_since: datetime.datetime | None
    level_changes: tuple[LevelChangeFact, ...]
    authenticated: bool
    verified_at: datetime.datetime | None
    verified_by: VerifiedBy
    push_state: str
    other_conversations: tuple[OtherConversation, ...]


def member_card(conversation_id: uuid.UUID, *, authenticated: bool) -> MemberCard | None:
    """The card of the member the data action verified for this conversation, read now; None for a guest (no
    verified link, or a member no longer active)."""
    link = ConversationLink.objects.filter(conversation_id=conversation_id, verified=True).first()
    if link is None or link.user_id is None:
        return None
    member = active_member_for_user_id(link.user_id)
    if member is None:
        return None
    profile = get_member_adapter().member_profile(member)
    push = latest_push(link)
    others = (
        open_links_for_members([link.user_id])
        .exclude(pk=link.pk)
        .order_by("-last_verified_at")
        .values_list("conversation_id", "last_verified_at")[:OTHER_CONVERSATIONS]
    )
    return MemberCard(
        name=profile.name,
        public_id=member.public_id,
        level=member.level,
        level_description=profile.level_description,
        member_since=profile.member_since,
        level_changes=profile.level_changes,
        authenticated=authenticated,
        verified_at=link.last_verified_at,
        verified_by=VerifiedBy.AUTHENTICATED if authenticated else VerifiedBy.MEMBER_TOKEN,
        push_state=str(push.state) if push is not None else "",
        other_conversations=tuple(OtherConversation(str(cid), at) for cid, at in others),
    )
