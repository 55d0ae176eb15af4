"""In-memory state of the sandbox: tokens, rate budgets, faults, statistics, conversations and guest sessions.

Everything sits behind one lock (`State.lock`); `State.changed` is a condition on that lock that guest long-polls
wait on. Nothing is written to disk: `POST /_reset` (or a restart) starts from nothing.
"""

from __future__ import annotations

import dataclasses
import math
import random
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from .config import Config

RATE_WINDOW_SECONDS = 60.0


def now_iso() -> str:
    """ISO 8601 in UTC with milliseconds and Z, as Genesys writes timestamps (GENESYS.md, JSON field names)."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def custom_data_bytes(attributes: dict[str, str]) -> int:
    """Size Genesys checks against maxCustomDataBytes: keys plus values, UTF-8 bytes."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


def is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


# --- OAuth tokens and their rate budget -------------------------------------------------------------------------


@dataclasses.dataclass
class Token:
    access_token: str
    client_id: str
    issued_at: float
    expires_at: float
    revoked: bool = False
    # Fixed one-minute window per token, opened by the first request after the previous one closed.
    window_start: float = 0.0
    window_count: int = 0


@dataclasses.dataclass
class RateBudget:
    allowed: bool
    count: int
    limit: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        # The inin-ratelimit-* headers Genesys answers on API responses.
        return {
            "inin-ratelimit-count": str(self.count),
            "inin-ratelimit-allowed": str(self.limit),
            "inin-ratelimit-reset": str(self.reset_seconds),
        }


# --- Faults -----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Fault:
    """An injected failure. route: "api", "token", "guest", "*" or an exact "METHOD /template"."""

    route: str
    status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    ratio: float = 1.0
    count: int | None = None
    injected: int = 0

    def matches(self, route_key: str, kind: str) -> bool:
        return self.route in {"*", kind, route_key}

    def exhausted(self) -> bool:
        return self.count is not None and self.injected >= self.count

    def public(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(data) - {"route", "status", "retry_after", "latency_ms", "ratio", "count"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        route = data.get("route", "api")
        status = data.get("status")
        retry_after = data.get("retry_after")
        latency_ms = data.get("latency_ms", 0)
        ratio = data.get("ratio", 1.0)
        count = data.get("count")
        if not isinstance(route, str) or not route:
            raise ValueError("route must be 'api', 'token', 'guest', '*' or 'METHOD /template'")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        if retry_after is not None and (not isinstance(retry_after, int | float) or retry_after < 0):
            raise ValueError("retry_after must be a non-negative number of seconds")
        if not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ValueError("ratio must be between 0 and 1")
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError("count must be a non-negative integer")
        if status is None and not latency_ms:
            raise ValueError("a fault needs a status, a latency_ms, or both")
        return cls(route, status, retry_after, latency_ms, float(ratio), count)


@dataclasses.dataclass
class FaultDecision:
    latency_ms: int = 0
    fault: Fault | None = None


# --- Conversations ----------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Participant:
    id: str
    purpose: str  # customer, acd, agent
    name: str
    start_time: str
    connected_time: str | None = None
    end_time: str | None = None
    state: str = "connected"
    disconnect_type: str | None = None
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    origins: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> "widget" | "server"
    message_ids: list[str] = dataclasses.field(default_factory=list)

    def disconnect(self, disconnect_type: str) -> None:
        if self.state != "disconnected":
            self.state = "disconnected"
            self.end_time = now_iso()
            self.disconnect_type = disconnect_type

    def to_api(self, conversation: Conversation) -> dict[str, Any]:
        """A MessageMediaParticipant (selected fields; names as in PureCloudPlatformClientV2's attribute_map)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "startTime": self.start_time,
            "purpose": self.purpose,
            "state": self.state,
            "direction": "inbound",
            "held": False,
            "wrapupRequired": self.purpose == "agent",
            "attributes": dict(self.attributes),
            "type": "webmessaging",
            "recipientType": "webmessaging",
            "authenticated": False,
            "messages": [conversation.message_detail(mid) for mid in self.message_ids],
        }
        if self.connected_time:
            data["connectedTime"] = self.connected_time
        if self.end_time:
            data["endTime"] = self.end_time
        if self.disconnect_type:
            data["disconnectType"] = self.disconnect_type
        if self.purpose == "acd":
            data["queue"] = {"id": ACD_QUEUE_ID, "selfUri": f"/api/v2/routing/queues/{ACD_QUEUE_ID}"}
        if self.purpose == "agent":
            data["user"] = {"id": AGENT_USER_ID, "selfUri": f"/api/v2/users/{AGENT_USER_ID}"}
        return data


ACD_QUEUE_ID = "00000000-0000-4000-8000-0000000000a1"
AGENT_USER_ID = "00000000-0000-4000-8000-0000000000a2"


@dataclasses.dataclass
class Conversation:
    id: str
    deployment_id: str
    session_token: str
    created_at: str
    participants: list[Participant]
    messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    pushes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    data_action_calls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    secure_attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    secure_version: int = 0
    state: str = "connected"
    ended_by: str | None = None  # "agent" or "guest" (clearConversation)
    cleared: bool = False

    @property
    def customer(self) -> Participant:
        return next(p for p in self.participants if p.purpose == "customer")

    def participant(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def agent(self) -> Participant | None:
        return next((p for p in self.participants if p.purpose == "agent" and p.state != "disconnected"), None)

    def message_detail(self, message_id: str) -> dict[str, Any]:
        message = next(m for m in self.messages if m["id"] == message_id)
        return {
            "messageId": message_id,
            "messageStatus": "received" if message["direction"] == "Inbound" else "sent",
            "messageTime": message["channel"]["time"],
            "messageSegmentCount": 1,
        }

    def to_api(self) -> dict[str, Any]:
        """MessageConversation, as GET /api/v2/conversations/messages/{id} answers it."""
        return {
            "id": self.id,
            "participants": [p.to_api(self) for p in self.participants],
            "otherMediaUris": [],
            "selfUri": f"/api/v2/conversations/messages/{self.id}",
        }

    def to_hook(self) -> dict[str, Any]:
        """Everything a test or the agent view wants to see, for GET /_conversations."""
        participants = []
        for p in self.participants:
            data = p.to_api(self)
            data["attributeOrigins"] = dict(p.origins)
            participants.append(data)
        customer = self.customer
        return {
            "id": self.id,
            "deploymentId": self.deployment_id,
            "state": self.state,
            "endedBy": self.ended_by,
            "cleared": self.cleared,
            "createdAt": self.created_at,
            "participants": participants,
            "customerParticipantId": customer.id,
            "attributes": {
                k: {"value": v, "origin": customer.origins.get(k, "widget")} for k, v in customer.attributes.items()
            },
            "verified": customer.attributes.get("verified") == "true",
            "messages": [dict(m) for m in self.messages],
            "pushes": [dict(p) for p in self.pushes],
            "dataActionCalls": [dict(c) for c in self.data_action_calls],
            "secureAttributes": {"attributes": dict(self.secure_attributes), "version": self.secure_version},
        }


@dataclasses.dataclass
class GuestSession:
    token: str
    deployment_id: str
    created_at: str
    conversation_id: str | None = None
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    next_seq: int = 1

    def add_event(self, envelope: dict[str, Any]) -> None:
        self.events.append({"seq": self.next_seq, **envelope})
        self.next_seq += 1


def structured_message(
    direction: str, text: str, custom_attributes: dict[str, str] | None = None, message_id: str | None = None
) -> dict[str, Any]:
    """A StructuredMessage body as the Guest API carries it (genesys-messenger-transport-mobile-sdk)."""
    channel: dict[str, Any] = {"time": now_iso(), "messageId": message_id or uuid.uuid4().hex}
    if custom_attributes is not None:
        channel["metadata"] = {"customAttributes": dict(custom_attributes)}
    return {
        "id": channel["messageId"],
        "channel": channel,
        "type": "Text",
        "text": text,
        "direction": direction,
        "originatingEntity": "Human",
    }


# --- The state --------------------------------------------------------------------------------------------------


def _empty_stats() -> dict[str, Any]:
    return {
        "tokens_issued": 0,
        "requests": {},
        "responses": {},
        "responses_429": 0,
        "faults_injected": 0,
        "data_action_calls": 0,
        "guest_messages": 0,
        "guest_messages_rejected": 0,
        "conversations_created": 0,
    }


class State:
    def __init__(self, config: Config) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.initial_config = config
        self.config = config
        self.random = random.Random()
        self.started_at = time.time()
        self.tokens: dict[str, Token] = {}
        self.faults: list[Fault] = []
        self.stats = _empty_stats()
        self.conversations: dict[str, Conversation] = {}
        self.sessions: dict[str, GuestSession] = {}
        # Bumped by /_reset so a data action finishing after it does not write into the new state.
        self.generation = 0

    def reset(self) -> None:
        with self.lock:
            self.config = self.initial_config
            self.tokens.clear()
            self.faults.clear()
            self.stats = _empty_stats()
            self.conversations.clear()
            self.sessions.clear()
            self.generation += 1
            self.changed.notify_all()

    # --- statistics ---
    def count_request(self, route_key: str) -> None:
        with self.lock:
            self.stats["requests"][route_key] = self.stats["requests"].get(route_key, 0) + 1

    def count_response(self, status: int) -> None:
        with self.lock:
            key = str(status)
            self.stats["responses"][key] = self.stats["responses"].get(key, 0) + 1
            if status == 429:
                self.stats["responses_429"] += 1

    def snapshot_stats(self) -> dict[str, Any]:
        with self.lock:
            stats = dict(self.stats)
            stats["requests"] = dict(self.stats["requests"])
            stats["responses"] = dict(self.stats["responses"])
            stats["tokens_active"] = sum(1 for t in self.tokens.values() if self._token_usable(t))
            stats["conversations"] = len(self.conversations)
            stats["uptime_seconds"] = round(time.time() - self.started_at, 3)
            return stats

    # --- faults ---
    def add_faults(self, faults: list[Fault]) -> None:
        with self.lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def decide_fault(self, route_key: str, kind: str) -> FaultDecision:
        """Latency is the largest of the matching faults; the first matching fault that fires (its ratio) and
        still has count left decides the failure."""
        decision = FaultDecision()
        with self.lock:
            for fault in self.faults:
                if not fault.matches(route_key, kind) or fault.exhausted():
                    continue
                if fault.status is None:
                    decision.latency_ms = max(decision.latency_ms, fault.latency_ms)
                    continue
                if decision.fault is None and self.random.random() < fault.ratio:
                    fault.injected += 1
                    self.stats["faults_injected"] += 1
                    decision.fault = fault
                    decision.latency_ms = max(decision.latency_ms, fault.latency_ms)
        return decision

    # --- tokens ---
    def issue_token(self, client_id: str) -> Token:
        with self.lock:
            now = time.monotonic()
            token = Token(secrets.token_urlsafe(32), client_id, now, now + self.config.token_ttl)
            self.tokens[token.access_token] = token
            self.stats["tokens_issued"] += 1
            return token

    @staticmethod
    def _token_usable(token: Token) -> bool:
        return not token.revoked and time.monotonic() < token.expires_at

    def check_token(self, access_token: str) -> Token | None:
        with self.lock:
            token = self.tokens.get(access_token)
            return token if token is not None and self._token_usable(token) else None

    def revoke(self, access_token: str | None = None, everything: bool = False) -> int:
        with self.lock:
            revoked = 0
            for token in self.tokens.values():
                if (everything or token.access_token == access_token) and not token.revoked:
                    token.revoked = True
                    revoked += 1
            return revoked

    def spend(self, token: Token) -> RateBudget:
        """Count one API request against the token's per-minute budget; a refused request costs nothing."""
        with self.lock:
            limit = self.config.rate_per_minute
            now = time.monotonic()
            if now - token.window_start >= RATE_WINDOW_SECONDS:
                token.window_start, token.window_count = now, 0
            reset = max(1, math.ceil(token.window_start + RATE_WINDOW_SECONDS - now))
            if token.window_count >= limit:
                return RateBudget(False, token.window_count, limit, reset)
            token.window_count += 1
            return RateBudget(True, token.window_count, limit, reset)

    # --- guest sessions and conversations ---
    def configure_session(self, token: str, deployment_id: str) -> tuple[GuestSession, bool, bool]:
        """Returns (session, new_session, read_only). A session whose conversation the agent ended is read-only
        until the guest writes again (the next message starts a new conversation)."""
        with self.lock:
            session = self.sessions.get(token)
            new = session is None
            if session is None:
                session = GuestSession(token, deployment_id, now_iso())
                self.sessions[token] = session
            conversation = self.conversations.get(session.conversation_id or "")
            read_only = conversation is not None and conversation.state == "disconnected"
            return session, new, read_only

    def merge_widget_attributes(self, customer: Participant, attributes: dict[str, str]) -> None:
        for key, value in attributes.items():
            if customer.origins.get(key) == "server" and not self.config.widget_overrides_server:
                continue
            customer.attributes[key] = value
            customer.origins[key] = "widget"

    def guest_message(
        self, session: GuestSession, text: str, attributes: dict[str, str]
    ) -> tuple[Conversation, dict[str, Any], bool]:
        """Record an inbound guest message; create the conversation on the first one. Returns
        (conversation, structured message, created)."""
        with self.lock:
            conversation = self.conversations.get(session.conversation_id or "")
            created = conversation is None or conversation.state == "disconnected"
            if created:
                conversation = self._new_conversation(session, attributes)
            else:
                self.merge_widget_attributes(conversation.customer, attributes)
            message = structured_message("Inbound", text, attributes)
            message["participantPurpose"] = "customer"
            conversation.messages.append(message)
            conversation.customer.message_ids.append(message["id"])
            session.add_event({"type": "message", "class": "StructuredMessage", "code": 200, "body": message})
            self.stats["guest_messages"] += 1
            self.changed.notify_all()
            return conversation, message, created

    def guest_join(self, session: GuestSession, attributes: dict[str, str]) -> tuple[Conversation, bool]:
        """The auto-start Presence Join event: starts the conversation (or adds attributes) without any text."""
        with self.lock:
            conversation = self.conversations.get(session.conversation_id or "")
            created = conversation is None or conversation.state == "disconnected"
            if created:
                conversation = self._new_conversation(session, attributes)
            else:
                self.merge_widget_attributes(conversation.customer, attributes)
            self.changed.notify_all()
            return conversation, created

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
        conversation = Conversation(
            id=str(uuid.uuid4()),
            deployment_id=session.deployment_id,
            session_token=session.token,
            created_at=started,
            participants=[customer, acd],
        )
        self.conversations[conversation.id] = conversation
        session.conversation_id = conversation.id
        self.stats["conversations_created"] += 1
        return conversation

    def agent_reply(self, conversation: Conversation, text: str) -> dict[str, Any]:
        with self.lock:
            agent = conversation.agent()
            if agent is None:
                # The queue hands the conversation to the agent: acd leaves, the agent joins.
                started = now_iso()
                for p in conversation.participants:
                    if p.purpose == "acd":
                        p.disconnect("transfer")
                agent = Participant(id=str(uuid.uuid4()), purpose="agent", name="Sandbox Agent", start_time=started)
                agent.connected_time = started
                conversation.participants.append(agent)
            message = structured_message("Outbound", text)
            message["participantPurpose"] = "agent"
            conversation.messages.append(message)
            agent.message_ids.append(message["id"])
            session = self.sessions.get(conversation.session_token)
            if session is not None and session.conversation_id == conversation.id:
                session.add_event({"type": "message", "class": "StructuredMessage", "code": 200, "body": message})
            self.changed.notify_all()
            return message

    def end_conversation(self, conversation: Conversation, by: str) -> None:
        """The agent ends it (the guest gets a Presence Disconnect event) or the guest clears it."""
        with self.lock:
            if conversation.state == "disconnected":
                return
            conversation.state = "disconnected"
            conversation.ended_by = by
            for p in conversation.participants:
                p.disconnect("client" if by == "guest" and p.purpose == "customer" else "endpoint")
            session = self.sessions.get(conversation.session_token)
            if by == "agent" and session is not None and session.conversation_id == conversation.id:
                event = structured_message("Outbound", "")
                event.update(type="Event", events=[{"eventType": "Presence", "presence": {"type": "Disconnect"}}])
                del event["text"]
                session.add_event({"type": "message", "class": "StructuredMessage", "code": 200, "body": event})
            self.changed.notify_all()

    def clear_session(self, token: str) -> Conversation | None:
        """clearConversation: the guest's conversation ends (cleared) and the session is forgotten."""
        with self.lock:
            session = self.sessions.pop(token, None)
            if session is None:
                return None
            conversation = self.conversations.get(session.conversation_id or "")
            if conversation is not None:
                self.end_conversation(conversation, by="guest")
                conversation.cleared = True
            self.changed.notify_all()
            return conversation

    def push_attributes(self, conversation: Conversation, participant: Participant, attributes: dict[str, str]) -> None:
        with self.lock:
            for key, value in attributes.items():
                participant.attributes[key] = value
                participant.origins[key] = "server"
            conversation.pushes.append(
                {"participantId": participant.id, "attributes": dict(attributes), "at": now_iso()}
            )
