"""Guest sessions of the web messaging socket: configureSession, messages, the rate a guest may write at, clearing,
the JWT that opens the history, and the sockets listening to a session. Part of `State` (state.py)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from . import ratelimit
from .config import Config
from .models import Conversation, GuestSession, frame, now_iso, presence_event, structured_message

Deliver = Callable[[dict[str, Any]], None]


# Connections one session may hold; a further one closes the oldest with a ConnectionClosedEvent without a reason
# (GENESYS.md, More frames: Developer Center limits, third-party reading).
CONNECTIONS_PER_SESSION = 3


class NotFound(LookupError):
    """No such conversation, participant or session."""


class SessionRefused(ValueError):
    """A configure frame the session's state does not allow; `code` is the frame's code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class GuestSessions:
    _lock: threading.RLock
    _config: Config
    _stats: dict[str, Any]
    _conversations: dict[str, Conversation]
    _sessions: dict[str, GuestSession]
    _listeners: dict[str, list[Deliver]]
    _generation: int

    def attach(self, token: str, deliver: Deliver) -> None:
        """A socket hears the session's events from now on. Past CONNECTIONS_PER_SESSION the oldest connection
        hears ConnectionClosedEvent (no reason: the limit) and nothing more; its client closes it."""
        with self._lock:
            listeners = self._listeners.setdefault(token, [])
            listeners.append(deliver)
            while len(listeners) > CONNECTIONS_PER_SESSION:
                listeners.pop(0)(frame("message", "ConnectionClosedEvent", 200, {}))
                self._stats["guest_connections_closed_by_limit"] += 1

    def detach(self, token: str, deliver: Deliver) -> None:
        with self._lock:
            listeners = self._listeners.get(token, [])
            if deliver in listeners:
                listeners.remove(deliver)
            if not listeners:
                self._listeners.pop(token, None)

    def _emit(self, token: str, event: dict[str, Any]) -> None:
        for deliver in list(self._listeners.get(token, [])):
            deliver(event)

    def configure_session(self, token: str, deployment_id: str) -> dict[str, Any]:
        """configureSession: the SessionResponse body. A session whose conversation the agent ended is read-only
        until the guest writes again (only where the deployment enables conversation disconnect). Raises
        SessionRefused (4017) for a session configured as authenticated: it cannot go back to anonymous."""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.auth_claims:
                raise SessionRefused(4017, "Cannot downgrade an authenticated session to an unauthenticated one")
            return self._configure(token, deployment_id)

    def _configure(self, token: str, deployment_id: str) -> dict[str, Any]:
        with self._lock:
            config = self._config
            session = self._sessions.get(token)
            new = session is None
            if session is None:
                expires = time.time() + config.session_duration_seconds
                session = GuestSession(token, deployment_id, now_iso(), expires)
                self._sessions[token] = session
                self._stats["guest_sessions_created"] += 1
            conversation = self._conversations.get(session.conversation_id or "")
            return {
                "connected": True,
                "newSession": new,
                "readOnly": config.conversation_disconnect_enabled
                and conversation is not None
                and conversation.state == "disconnected",
                "maxCustomDataBytes": config.max_custom_data_bytes,
                "durationSeconds": config.session_duration_seconds,
                "expirationDate": int(session.expires_at),
                "allowedMedia": {
                    "inbound": {
                        "fileTypes": [{"type": "image/png"}, {"type": "image/jpeg"}, {"type": "image/gif"}],
                        "maxFileSizeKB": 10240,
                    }
                },
                "blockedExtensions": [".exe", ".bat"],
                "clearedExistingSession": False,
            }

    def has_session(self, token: str) -> bool:
        with self._lock:
            return token in self._sessions

    def session_expired(self, token: str) -> bool:
        """The session existed and outlived its durationSeconds (its frames answer 4006 / SessionExpiredEvent)."""
        with self._lock:
            session = self._sessions.get(token)
            return session is not None and time.time() >= session.expires_at

    def may_send(self, token: str) -> bool:
        """An authenticated session, or an anonymous one on a deployment that lets anonymous sessions send."""
        with self._lock:
            session = self._sessions[token]
            deployment = self._config.deployment(session.deployment_id)
            return bool(session.auth_claims) or (deployment is not None and deployment.anonymous_may_send())

    def throttle_guest(self, token: str) -> int | None:
        """Count one guest message against the session's rate; the seconds to wait when it is over, else None."""
        with self._lock:
            session = self._sessions[token]
            now = time.monotonic()
            bucket = ratelimit.Bucket(
                self._config.guest_messages_per_minute, session.window_start, session.window_count
            )
            decision = ratelimit.spend([bucket], now, self._config.rate_window_seconds)
            session.window_start, session.window_count = bucket.window_start, bucket.count
            if decision.allowed:
                return None
            self._stats["guest_messages_throttled"] += 1
            return decision.reset_seconds

    def guest_message(
        self, token: str, text: str | None, attributes: dict[str, str] | None
    ) -> tuple[str, dict[str, Any], bool]:
        """An inbound message (`text`) or the auto-start Join event (`text` None), with the custom attributes it
        carried (None: it carried none). Creates the conversation when there is none open. Returns
        (conversation id, the StructuredMessage to echo, created)."""
        with self._lock:
            session = self._sessions[token]
            conversation = self._conversations.get(session.conversation_id or "")
            created = conversation is None or conversation.state == "disconnected"
            if created:
                conversation = self._new_conversation(session, attributes or {})
            else:
                assert conversation is not None
                self._merge_widget_attributes(conversation.customer, attributes or {})
            if text is None:
                return conversation.id, presence_event("Inbound", "Join"), created
            message = structured_message("Inbound", text, attributes)
            message["participantPurpose"] = "customer"
            conversation.messages.append(message)
            conversation.customer.message_ids.append(message["id"])
            self._stats["guest_messages"] += 1
            return conversation.id, message, created

    def clear_session(self, token: str, acknowledge: Callable[[], None]) -> bool:
        """A Presence Clear: False when the deployment refuses clearing (conversationClear.enabled off). Else
        `acknowledge()` answers the clear (200), the session's conversation ends (cleared; the agent is asked to
        wrap up), the session is forgotten, and every socket on it hears SessionClearedEvent then
        ConnectionClosedEvent (transport SDK uml/clearConversation)."""
        with self._lock:
            if not self._config.conversation_clear_enabled:
                self._stats["clears_refused"] += 1
                return False
            acknowledge()
            session = self._sessions.pop(token, None)
            self._stats["clears"] += 1
            conversation = self._conversations.get(session.conversation_id or "") if session else None
            if conversation is not None and conversation.state != "disconnected":
                self._end(conversation, by="guest")
                for participant in conversation.participants:
                    participant.wrapup_required = participant.purpose == "agent"
            if conversation is not None:
                conversation.cleared = True
            self._emit(token, frame("message", "SessionClearedEvent", 200, {}))
            self._emit(token, frame("message", "ConnectionClosedEvent", 200, {}))
            self._listeners.pop(token, None)
            return True

    def issue_guest_jwt(self, token: str) -> dict[str, Any]:
        """getJwt: an opaque JWT stand-in for the session (it opens the message history)."""
        with self._lock:
            session = self._sessions[token]
            session.jwt = session.jwt or secrets.token_urlsafe(24)
            return {"jwt": session.jwt, "exp": int(session.expires_at)}

    def history(self, jwt: str) -> list[dict[str, Any]]:
        """The messages of the JWT's session's current conversation, newest first. Raises NotFound."""
        with self._lock:
            session = next((s for s in self._sessions.values() if jwt and s.jwt == jwt), None)
            if session is None:
                raise NotFound("no session for this JWT")
            conversation = self._conversations.get(session.conversation_id or "")
            return [dict(m) for m in reversed(conversation.messages)] if conversation else []
