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
from .state import AuthRefused, SessionRefused, State

Send = Callable[[dict[str, Any]], None]
ACTIONS = {"configureSession", "configureAuthenticatedSession", "onMessage", "echo", "getJwt"}
# An expired session (transport SDK Response.kt): configuring it again answers this, a message 4006.
SESSION_EXPIRED_EVENT = frame("response", "SessionExpiredEvent", 200, {})
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
    if action in {"configureSession", "configureAuthenticatedSession"}:
        deployment_id = data.get("deploymentId")
        if not isinstance(deployment_id, str) or state.config.deployment(deployment_id) is None:
            send(error(400, "configureSession needs the deploymentId of one of the org's deployments."))
            return
        if state.session_expired(token):
            send(SESSION_EXPIRED_EVENT)
            return
    if action == "configureSession":
        try:
            body = state.configure_session(token, deployment_id)
        except SessionRefused as refused:
            send(error(refused.code, str(refused)))
            return
        attach(token)
        send(frame("response", "SessionResponse", 200, body))
        return
    if action == "configureAuthenticatedSession":
        _configure_authenticated(state, token, data, send, attach)
        return
    if state.session_expired(token):
        send(error(4006, "Session expired"))
        return
    if not state.has_session(token):
        send(error(4007, "Session not found: send configureSession first."))
        return
    if action == "getJwt":
        send(frame("response", "JwtResponse", 200, state.issue_guest_jwt(token)))
    elif action == "echo":
        # The transport SDK's health check: answered as a response carrying the request's tracingId.
        echo = structured_message("Inbound", str((data.get("message") or {}).get("text", "ping")))
        echo["metadata"] = {**echo["metadata"], "customMessageId": HEALTH_CHECK_ID}
        answer = frame("response", "StructuredMessage", 200, echo)
        if isinstance(data.get("tracingId"), str):
            answer["tracingId"] = data["tracingId"]
        send(answer)
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
        # The transport SDK's fixture for a bad or expired JWT (GENESYS.md, More frames).
        send(error(401, "User is unauthorized"))
        return
    except SessionRefused as refused:
        send(error(refused.code, str(refused)))
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
            # The transport SDK's fixture for a refused clear (GENESYS.md, More frames).
            send(error(403, "Presence events Conversation Clear are not supported"))
        return
    if not state.may_send(token):
        # Authentication on, no session upgrade: "webmessaging sessions can not send messages unless the
        # end-user is authenticated" (AuthenticationSettings.enabled). The frame's code and text are unverified.
        state.count("guest_messages_rejected")
        send(error(401, "User is unauthorized"))
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
        body = {"retryAfter": retry_after, "errorCode": 4029, "errorMessage": "Message rate too high for this session"}
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
