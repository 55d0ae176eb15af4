"""Conversations: what the Platform API, the agent view, the test hooks and the flow read and change. Part of
`State` (state.py)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from .agent_users import AGENTS, AgentUser
from .config import Config
from .guests import Deliver, NotFound
from .models import Conversation, GuestSession, Participant, frame, now_iso, presence_event, structured_message


class Conflict(RuntimeError):
    """The request does not fit the current state (a stale version, an ended conversation)."""


class Conversations:
    _lock: threading.RLock
    _config: Config
    _stats: dict[str, Any]
    _conversations: dict[str, Conversation]
    _sessions: dict[str, GuestSession]
    _listeners: dict[str, list[Deliver]]
    _generation: int

    def _merge_widget_attributes(self, customer: Participant, attributes: dict[str, str]) -> None:
        # Custom attributes on any inbound message write the customer's participant data, keys the server set
        # included: nothing public protects them (GENESYS.md, Custom attributes and participant data).
        for key, value in attributes.items():
            customer.attributes[key] = value
            customer.origins[key] = "widget"

    def _new_conversation(self, session: GuestSession, attributes: dict[str, str]) -> Conversation:
        started = now_iso()
        customer = Participant(
            id=str(uuid.uuid4()),
            purpose="customer",
            name="Web Messaging Guest",
            start_time=started,
            connected_time=started,
            attributes=dict(attributes),
            origins=dict.fromkeys(attributes, "widget"),
        )
        acd = Participant(id=str(uuid.uuid4()), purpose="acd", name="Sandbox Queue", start_time=started)
        acd.connected_time = started
        conversation = Conversation(str(uuid.uuid4()), session.deployment_id, session.token, started, [customer, acd])
        self._conversations[conversation.id] = conversation
        session.conversation_id = conversation.id
        self._remember_member_conversation(session, conversation)  # type: ignore[attr-defined]
        self._stats["conversations_created"] += 1
        return conversation

    def _conversation(self, conversation_id: str) -> Conversation:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id}")
        return conversation

    def conversation_api(self, conversation_id: str) -> dict[str, Any]:
        """MessageConversation; raises NotFound."""
        with self._lock:
            return self._conversation(conversation_id).to_api()

    def conversations_hook(self, wanted: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [c.to_hook() for c in self._conversations.values() if wanted is None or c.id == wanted]

    def create_guest_conversation(self, text: str, attributes: dict[str, str]) -> tuple[str, str]:
        """A guest's first message without a socket (POST /_conversations): (conversation id, customer id)."""
        token = uuid.uuid4().hex
        self.configure_session(token, self._config.deployment_id)
        conversation_id, _, _ = self.guest_message(token, text, attributes)
        with self._lock:
            return conversation_id, self._conversations[conversation_id].customer.id

    def push_attributes(self, conversation_id: str, participant_id: str, attributes: dict[str, str]) -> None:
        """PATCH participant attributes: merged, marked as the server's. Raises NotFound."""
        with self._lock:
            conversation = self._conversation(conversation_id)
            participant = conversation.participant(participant_id)
            if participant is None:
                raise NotFound(f"participant {participant_id}")
            for key, value in attributes.items():
                participant.attributes[key] = value
                participant.origins[key] = "server"
            conversation.pushes.append(
                {"participantId": participant.id, "attributes": dict(attributes), "at": now_iso()}
            )

    def secure_attributes(self, conversation_id: str) -> dict[str, Any]:
        with self._lock:
            conversation = self._conversation(conversation_id)
            return {"attributes": dict(conversation.secure_attributes), "version": conversation.secure_version}

    def write_secure_attributes(
        self, conversation_id: str, attributes: dict[str, str], replace: bool, version: int | None
    ) -> None:
        """PUT (replace; a stale `version` raises Conflict) or PATCH (merge; `version` not used)."""
        with self._lock:
            conversation = self._conversation(conversation_id)
            if replace:
                if version is not None and version != conversation.secure_version:
                    raise Conflict(f"version {version} is not the current version {conversation.secure_version}")
                conversation.secure_attributes = dict(attributes)
            else:
                conversation.secure_attributes.update(attributes)
            conversation.secure_version += 1

    def agent_reply(self, conversation_id: str, text: str, user: AgentUser = AGENTS[0]) -> dict[str, Any]:
        """The agent writes (the queue hands over to the agent on the first reply; another agent replying joins
        as a participant of their own). Raises NotFound, Conflict."""
        with self._lock:
            conversation = self._conversation(conversation_id)
            if conversation.state == "disconnected":
                raise Conflict("conversation has ended")
            agent = conversation.agent(user.id)
            if agent is None:
                started = now_iso()
                for p in conversation.participants:
                    if p.purpose == "acd":
                        p.disconnect("transfer")
                agent = Participant(
                    str(uuid.uuid4()), "agent", user.name, started, connected_time=started, user=user.ref()
                )
                conversation.participants.append(agent)
            message = structured_message("Outbound", text)
            message["participantPurpose"] = "agent"
            conversation.messages.append(message)
            agent.message_ids.append(message["id"])
            self._emit_to_conversation(conversation, frame("message", "StructuredMessage", 200, message))
            return message

    def agent_disconnect(self, conversation_id: str) -> dict[str, Any]:
        """The agent ends the conversation; the guest hears a Presence Disconnect. Raises NotFound."""
        with self._lock:
            conversation = self._conversation(conversation_id)
            if conversation.state != "disconnected":
                self._end(conversation, by="agent")
                if self._config.conversation_disconnect_enabled:
                    # Only where the deployment enables conversation disconnect does the guest hear of it.
                    event = presence_event("Outbound", "Disconnect")
                    self._emit_to_conversation(conversation, frame("message", "StructuredMessage", 200, event))
            return conversation.to_hook()

    def _emit_to_conversation(self, conversation: Conversation, event: dict[str, Any]) -> None:
        # Every session on it: one guest's, or each browser of an authenticated member.
        for session in self._sessions_on(conversation):  # type: ignore[attr-defined]
            self._emit(session.token, event)

    def _end(self, conversation: Conversation, by: str) -> None:
        conversation.state = "disconnected"
        conversation.ended_by = by
        for p in conversation.participants:
            p.disconnect("client" if by == "guest" and p.purpose == "customer" else "endpoint")

    # --- the flow's data action ---
    def begin_data_action(self, conversation_id: str) -> tuple[Config, dict[str, Any], int] | None:
        """Record a pending data action call: (config, record, generation), or None when the flow is off."""
        with self._lock:
            config = self._config
            conversation = self._conversations.get(conversation_id)
            if not config.flow_enabled or conversation is None:
                return None
            record: dict[str, Any] = {
                "url": config.data_action_url,
                "request": _data_action_input(conversation),
                "startedAt": now_iso(),
                "state": "pending",
                "status": None,
                "ok": False,
                "body": None,
                "error": None,
                "durationMs": None,
            }
            conversation.data_action_calls.append(record)
            self._stats["data_action_calls"] += 1
            return config, record, self._generation

    def finish_data_action(self, generation: int, record: dict[str, Any], result: dict[str, Any]) -> None:
        with self._lock:
            if self._generation == generation:
                record.update(result)


def _data_action_input(conversation: Conversation) -> dict[str, str]:
    """What the flow passes to the data action: an authenticated customer's `sub` (Genesys checked the ID token;
    the flow branches on Message.IsAuthenticated), else the memberToken attribute the page set."""
    customer = conversation.customer
    if customer.authenticated:
        return {"conversationId": conversation.id, "sub": customer.auth_claims.get("sub", "")}
    return {"conversationId": conversation.id, "memberToken": customer.attributes.get("memberToken", "")}
