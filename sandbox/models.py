"""The sandbox's records: conversations, their participants, guest sessions, and the message shapes Genesys uses.

Plain data with no locking of their own: `State` (state.py) owns every instance and guards them with its lock.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

ACD_QUEUE_ID = "00000000-0000-4000-8000-0000000000a1"


def now_iso(offset_seconds: float = 0.0) -> str:
    """ISO 8601 in UTC with milliseconds and Z, as Genesys writes timestamps (GENESYS.md, JSON field names)."""
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def custom_data_bytes(attributes: dict[str, str]) -> int:
    """Size Genesys checks against maxCustomDataBytes: keys plus values, UTF-8 bytes."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())


def is_str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


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
    wrapup_required: bool = False
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    origins: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> "widget" | "server"
    message_ids: list[str] = dataclasses.field(default_factory=list)
    # Authenticated messaging: the ID token's claims Genesys keeps (sub, email, name) when the session was
    # authenticated.
    auth_claims: dict[str, str] = dataclasses.field(default_factory=dict)
    # An agent's Genesys user: MessageMediaParticipant.user, a DomainEntityRef {id, name, selfUri}.
    user: dict[str, str] | None = None

    @property
    def authenticated(self) -> bool:
        return bool(self.auth_claims)

    def from_address(self) -> dict[str, str]:
        """An authenticated customer's sending Address (PureCloudPlatformClientV2 `address.py`): the identity Genesys
        authenticated, the ID token's sub, as `addressDisplayable` (what Architect shows as
        `Message.Message.senderAddressInfo.addressDisplayable`; GENESYS.md marks the Platform API side inferred).
        An anonymous customer shows none."""
        sub = self.auth_claims.get("sub", "")
        name = self.auth_claims.get("name", "")
        return {"name": name, "nameRaw": name, "addressNormalized": sub, "addressRaw": sub, "addressDisplayable": sub}

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
            "wrapupRequired": self.wrapup_required,
            "attributes": dict(self.attributes),
            "type": "webmessaging",
            "recipientType": "webmessaging",
            "authenticated": self.authenticated,
            "messages": [conversation.message_detail(mid) for mid in self.message_ids],
        }
        if self.connected_time:
            data["connectedTime"] = self.connected_time
        if self.end_time:
            data["endTime"] = self.end_time
        if self.disconnect_type:
            data["disconnectType"] = self.disconnect_type
        if self.purpose == "customer" and self.authenticated:
            data["fromAddress"] = self.from_address()
        if self.purpose == "acd":
            data["queue"] = {"id": ACD_QUEUE_ID, "selfUri": f"/api/v2/routing/queues/{ACD_QUEUE_ID}"}
        if self.user is not None:
            data["user"] = dict(self.user)
        return data


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

    def agent(self, user_id: str | None = None) -> Participant | None:
        """The connected agent participant (of that user, when given)."""
        return next(
            (
                p
                for p in self.participants
                if p.purpose == "agent"
                and p.state != "disconnected"
                and (user_id is None or (p.user or {}).get("id") == user_id)
            ),
            None,
        )

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
            if p.authenticated:
                data["authClaims"] = dict(p.auth_claims)
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
            "authenticated": customer.authenticated,
            "authClaims": dict(customer.auth_claims),
            "messages": [dict(m) for m in self.messages],
            "pushes": [dict(p) for p in self.pushes],
            "dataActionCalls": [dict(c) for c in self.data_action_calls],
            "secureAttributes": {"attributes": dict(self.secure_attributes), "version": self.secure_version},
        }


@dataclasses.dataclass
class GuestSession:
    """One configureSession token. `conversation_id` is the conversation its messages go to."""

    token: str
    deployment_id: str
    created_at: str
    expires_at: float
    conversation_id: str | None = None
    jwt: str | None = None
    # The member (ID token claims sub, email, name) of a session configured with configureAuthenticatedSession.
    auth_claims: dict[str, str] = dataclasses.field(default_factory=dict)
    auth_jwt: str | None = None
    # Fixed window of the guest's message rate (TooManyRequestsErrorMessage).
    window_start: float = 0.0
    window_count: int = 0


def structured_message(
    direction: str, text: str, custom_attributes: dict[str, str] | None = None, message_id: str | None = None
) -> dict[str, Any]:
    """A StructuredMessage body as the guest socket carries it (genesys-messenger-transport-mobile-sdk)."""
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
        # StructuredMessage bodies carry metadata.correlationId (transport SDK shyrka models).
        "metadata": {"correlationId": str(uuid.uuid4())},
    }


def presence_event(direction: str, presence_type: str) -> dict[str, Any]:
    """A StructuredMessage of type Event carrying one Presence event (Join, Disconnect, Clear)."""
    message = structured_message(direction, "")
    del message["text"]
    message.update(type="Event", events=[{"eventType": "Presence", "presence": {"type": presence_type}}])
    return message


def frame(kind: str, cls: str, code: int, body: Any) -> dict[str, Any]:
    """A frame on the guest socket: {"type": "response" | "message", "class", "code", "body"} (GENESYS.md)."""
    return {"type": kind, "class": cls, "code": code, "body": body}
