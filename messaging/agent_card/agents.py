"""Who may see a conversation's card: Genesys says who the token's user is (`GET /api/v2/users/me` with the
agent's own token) and whether that user is an agent participant of the conversation (`GET
/api/v2/conversations/messages/{id}` with the site's client-credentials client). Both answer before anything of
the member is read."""

from __future__ import annotations

import dataclasses
import logging
from enum import StrEnum
from typing import Any

from ..genesys.client import GenesysClient
from ..genesys.errors import GenesysAuthError, GenesysBadRequest, GenesysError, GenesysNotFound

logger = logging.getLogger("messaging.agent_card")


class AgentRefusal(StrEnum):
    BAD_TOKEN = "bad_token"
    NOT_ON_CONVERSATION = "not_on_conversation"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    UNAVAILABLE = "unavailable"


@dataclasses.dataclass(frozen=True)
class AgentCheck:
    """The agent (Genesys user id and name) and the conversation as Genesys shows it; or why not."""

    refusal: AgentRefusal | None
    user_id: str = ""
    user_name: str = ""
    conversation: dict[str, Any] = dataclasses.field(default_factory=dict)


def is_agent_of(conversation: dict[str, Any], user_id: str) -> bool:
    """Whether a participant of purpose "agent" is this user (MessageMediaParticipant.user, a DomainEntityRef).
    An agent who has left or wrapped up still may: the card answers what the conversation was about."""
    for participant in conversation.get("participants") or []:
        user = participant.get("user")
        if participant.get("purpose") == "agent" and isinstance(user, dict) and user.get("id") == user_id:
            return True
    return False


def check_agent(client: GenesysClient, agent_token: str, conversation_id: str) -> AgentCheck:
    """Ask Genesys who the token's user is, then whether they are an agent on the conversation. The token is
    sent to Genesys only, never logged or kept."""
    try:
        me = client.get_user_me(agent_token)
    except (GenesysAuthError, GenesysBadRequest, GenesysNotFound):
        return AgentCheck(AgentRefusal.BAD_TOKEN)
    except GenesysError as error:
        logger.warning("member card: users/me unavailable: %s", type(error).__name__)
        return AgentCheck(AgentRefusal.UNAVAILABLE)
    user_id = me.get("id")
    if not isinstance(user_id, str) or not user_id:
        return AgentCheck(AgentRefusal.BAD_TOKEN)
    try:
        conversation = client.get_message_conversation(conversation_id)
    except GenesysNotFound:
        return AgentCheck(AgentRefusal.UNKNOWN_CONVERSATION, user_id)
    except GenesysError as error:
        logger.warning("member card: conversation unavailable: %s", type(error).__name__)
        return AgentCheck(AgentRefusal.UNAVAILABLE, user_id)
    if not is_agent_of(conversation, user_id):
        return AgentCheck(AgentRefusal.NOT_ON_CONVERSATION, user_id)
    return AgentCheck(None, user_id, str(me.get("name") or ""), conversation)
