"""The frames of the guest socket (GENESYS.md, Guest transport): what each action does and what it answers.

In: `{"action": "configureSession" | "onMessage" | "echo" | "getJwt" | "configureAuthenticatedSession",
"token", ...}`. Out: `{"type": "response" | "message", "class", "code", "body"}`, through `send`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from . import flow
from .models import custom_data_bytes, frame, is_str_map, structured_message
from .state import AuthRefused, State

Send = Callable[[dict[str, Any]], None]
ACTIONS = {"configureSession", "configureAuthenticatedSession", "onMessage", "echo", "getJwt"}
# The transport SDK's health-check echo carries this customMessageId (base64 "HealthCheckMessageId").
HEALTH_CHECK_ID = "SGVhbHRoQ2hlY2tNZXNzYWdlSWQ="


def error(code: int, text: str) -> dict[str, Any]:
    return frame("response", "string", code, text)


def handle(state: State, raw: str, send: Send, attach: Callable[[str], None]) -> None:
    """Answer one frame from a guest. `attach(token)` makes this socket hear the session's events."""
    try:
        data = json.loads(raw)
    except ValueError:
        send(error(400, "A frame is a JSON object."))
        return
    action = data.get("action") if isinstance(data, dict) else None
    if action not in ACTIONS:
        send(error(400, f"Unknown action; expected one of {', '.join(sorted(ACTIONS))}."))
        return
    state.count_request(f"WS {action}")
    decision = state.decide_fault(f"WS {action}", "guest")
    if decision.latency_ms:
        time.sleep(decision.latency_ms / 1000)
    if decision.fault is not None and decision.fault.status is not None:
        send(error(decision.fault.status, "Injected fault"))
        return
    token = data.get("token")
    if not isinstance(token, str) or not 8 <= len(token) <= 200:
        send(error(400, "A frame needs a token of 8 to 200 characters."))
        return
    if action == "configureSession":
        deployment_id = data.get("deploymentId")
        if not isinstance(deployment_id, str) or not deployment_id:
            send(error(400, "configureSession needs a deploymentId."))
            return
        body = state.configure_session(token, deployment_id)
        attach(token)
        send(frame("response", "SessionResponse", 200, body))
        return
    if action == "configureAuthenticatedSession":
        _configure_authenticated(state, token, data, send, attach)
        return
    if not state.has_session(token):
        send(error(404, "Session not found: send configureSession first."))
        return
    if action == "getJwt":
        send(frame("response", "JwtResponse", 200, state.issue_guest_jwt(token)))
    elif action == "echo":
        echo = structured_message("Inbound", str((data.get("message") or {}).get("text", "ping")))
        echo["metadata"] = {"customMessageId": HEALTH_CHECK_ID}
        send(frame("message", "StructuredMessage", 200, echo))
    else:
        _on_message(state, token, data.get("message"), send)


def _configure_authenticated(
    state: State, token: str, data: dict[str, Any], send: Send, attach: Callable[[str], None]
) -> None:
    """`{"deploymentId", "startNew", "data": {"code": "<jwt from the exchange>"}}` -> SessionResponse; the
    session is the JWT's member's (their open conversation, from any browser). A bad JWT 401 (unverified)."""
    deployment_id = data.get("deploymentId")
    jwt = (data.get("data") or {}).get("code") if isinstance(data.get("data"), dict) else None
    if not isinstance(deployment_id, str) or not deployment_id or not isinstance(jwt, str):
        send(error(400, "configureAuthenticatedSession needs a deploymentId and data.code (the JWT)."))
        return
    try:
        body = state.configure_authenticated_session(token, deployment_id, jwt)
    except AuthRefused:
        send(error(401, "The JWT is not valid: exchange a new code."))
        return
    attach(token)
    send(frame("response", "SessionResponse", 200, body))


def _on_message(state: State, token: str, message: Any, send: Send) -> None:
    if not isinstance(message, dict):
        send(error(400, "message must be an object."))
        return
    presence = _presence(message)
    if presence == "Clear":
        # Answered 200, then SessionClearedEvent and ConnectionClosedEvent (State.clear_session).
        echo = frame("message", "StructuredMessage", 200, message)
        if not state.clear_session(token, lambda: send(echo)):
            # Wording and code of the refusal are unverified.
            send(error(403, "Conversation clear is not enabled for this deployment."))
        return
    text = message.get("text")
    if presence != "Join" and (message.get("type") != "Text" or not isinstance(text, str)):
        send(error(400, "message must be {type: 'Text', text: string} or a Presence Join or Clear event."))
        return
    if presence != "Join" and not text.strip():
        send(error(400, "Message text must not be empty."))
        return
    retry_after = state.throttle_guest(token)
    if retry_after is not None:
        body = {"retryAfter": retry_after, "errorCode": 4029}
        send(frame("response", "TooManyRequestsErrorMessage", 429, body))
        return
    channel = message.get("channel") if isinstance(message.get("channel"), dict) else {}
    metadata = channel.get("metadata") if isinstance(channel.get("metadata"), dict) else {}
    attributes = metadata.get("customAttributes")  # absent: the message carries none (sent once per change)
    if attributes is not None and not is_str_map(attributes):
        state.count("guest_messages_rejected")
        send(error(400, "customAttributes must be an object of string values."))
        return
    limit = state.config.max_custom_data_bytes
    if attributes is not None and custom_data_bytes(attributes) > limit:
        state.count("guest_messages_rejected")
        send(error(4013, f"Custom Attributes in channel metadata is larger than {limit} bytes"))
        return
    conversation_id, echo, created = state.guest_message(token, None if presence == "Join" else text, attributes)
    if created:
        flow.start(state, conversation_id)
    send(frame("message", "StructuredMessage", 200, echo))


def _presence(message: dict[str, Any]) -> str | None:
    """The Presence type of an Event message with exactly one Presence event, else None."""
    events = message.get("events")
    if message.get("type") != "Event" or not isinstance(events, list) or len(events) != 1:
        return None
    event = events[0]
    if (
        not isinstance(event, dict)
        or event.get("eventType") != "Presence"
        or not isinstance(event.get("presence"), dict)
    ):
        return None
    kind = event["presence"].get("type")
    return kind if kind in {"Join", "Clear"} else None
