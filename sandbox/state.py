"""The sandbox's one state object: tokens, rate buckets, faults, statistics, conversations and guest sessions.

Every read and write goes through a method of `State`, which takes its lock; handlers never touch the lock or
the dictionaries. Guest sockets attach a `deliver` callable per session token to hear agent messages and
presence events (`deliver` must not block: the sockets queue what they are given). Nothing is written to disk:
`POST /_reset` (or a restart) starts from nothing.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
import time
from typing import Any

from . import ratelimit
from .agent_users import AgentUsers, AuthorizationCode
from .auth_sessions import AuthGrant, AuthRefused, AuthSessions, auth_stats
from .config import Config
from .conversations import Conflict, Conversations
from .faults import Fault, FaultDecision
from .guests import Deliver, GuestSessions, NotFound, SessionRefused
from .models import Conversation, GuestSession

__all__ = ["AuthRefused", "Conflict", "NotFound", "SessionRefused", "State", "Token"]


@dataclasses.dataclass
class Token:
    access_token: str
    client_id: str
    issued_at: float
    expires_at: float
    revoked: bool = False
    # A user's token (the user login: authorization code with PKCE); None for client credentials.
    user_id: str | None = None
    buckets: dict[str, ratelimit.Bucket] = dataclasses.field(default_factory=dict)

    def usable(self) -> bool:
        return not self.revoked and time.monotonic() < self.expires_at


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
        "guest_messages_throttled": 0,
        "guest_sessions_created": 0,
        "guest_sockets_opened": 0,
        "conversations_created": 0,
        "clears": 0,
        "clears_refused": 0,
        "guest_connections_closed_by_limit": 0,
        **auth_stats(),
    }


class State(GuestSessions, Conversations, AuthSessions, AgentUsers):
    """The one state object (see the module docstring); its parts live in guests.py, conversations.py and
    auth_sessions.py and agent_users.py."""

    def __init__(self, config: Config) -> None:
        self._lock = threading.RLock()
        self._initial_config = config
        self._config = config
        self._random = random.Random()
        self._started_at = time.time()
        self._tokens: dict[str, Token] = {}
        self._faults: list[Fault] = []
        self._stats = _empty_stats()
        self._conversations: dict[str, Conversation] = {}
        self._sessions: dict[str, GuestSession] = {}
        self._listeners: dict[str, list[Deliver]] = {}
        self._grants: dict[str, AuthGrant] = {}
        self._member_conversations: dict[str, str] = {}
        self._agent_sessions: dict[str, str] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        # Bumped by reset() so a data action finishing after it does not write into the new state.
        self._generation = 0

    # --- configuration, statistics, reset ---
    @property
    def config(self) -> Config:
        """The current configuration (immutable; a change replaces it)."""
        return self._config

    def update_config(self, changes: dict[str, Any]) -> Config:
        """Apply `POST /_config` changes; raises ValueError (nothing changed) when one is not valid."""
        with self._lock:
            self._config = self._config.updated(changes)
            return self._config

    def reset(self) -> None:
        with self._lock:
            self._config = self._initial_config
            self._tokens.clear()
            self._faults.clear()
            self._stats = _empty_stats()
            self._conversations.clear()
            self._sessions.clear()
            self._listeners.clear()
            self._grants.clear()
            self._member_conversations.clear()
            self._agent_sessions.clear()
            self._codes.clear()
            self._generation += 1

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._stats[name] += amount

    def count_request(self, route_key: str) -> None:
        with self._lock:
            self._stats["requests"][route_key] = self._stats["requests"].get(route_key, 0) + 1

    def count_response(self, status: int) -> None:
        with self._lock:
            key = str(status)
            self._stats["responses"][key] = self._stats["responses"].get(key, 0) + 1
            if status == 429:
                self._stats["responses_429"] += 1

    def snapshot_stats(self) -> dict[str, Any]:
        with self._lock:
            stats = dict(self._stats)
            stats["requests"] = dict(self._stats["requests"])
            stats["responses"] = dict(self._stats["responses"])
            stats["auth_refusals"] = list(self._stats["auth_refusals"])
            stats["auth_revoked_subs"] = list(self._stats["auth_revoked_subs"])
            stats["tokens_active"] = sum(1 for t in self._tokens.values() if t.usable())
            stats["conversations"] = len(self._conversations)
            stats["uptime_seconds"] = round(time.time() - self._started_at, 3)
            return stats

    # --- faults ---
    def add_faults(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.public() for fault in self._faults]

    def decide_fault(self, route_key: str, kind: str) -> FaultDecision:
        """Latency is the largest of the matching faults; the first matching fault that fires (its ratio) and
        still has count left decides the failure."""
        decision = FaultDecision()
        with self._lock:
            for fault in self._faults:
                if not fault.matches(route_key, kind) or fault.exhausted():
                    continue
                if fault.status is None:
                    decision.latency_ms = max(decision.latency_ms, fault.latency_ms)
                    continue
                if decision.fault is None and self._random.random() < fault.ratio:
                    fault.injected += 1
                    self._stats["faults_injected"] += 1
                    decision.fault = fault
                    decision.latency_ms = max(decision.latency_ms, fault.latency_ms)
        return decision

    # --- OAuth tokens and rate buckets ---
    def issue_token(self, client_id: str, user_id: str | None = None) -> Token:
        """A client-credentials token, or a user's (`user_id`) from the user login."""
        with self._lock:
            now = time.monotonic()
            token = Token(secrets.token_urlsafe(32), client_id, now, now + self._config.token_ttl, user_id=user_id)
            self._tokens[token.access_token] = token
            self._stats["tokens_issued"] += 1
            return token

    def check_token(self, access_token: str) -> Token | None:
        with self._lock:
            token = self._tokens.get(access_token)
            return token if token is not None and token.usable() else None

    def revoke(self, access_token: str | None = None, everything: bool = False) -> int:
        with self._lock:
            revoked = 0
            for token in self._tokens.values():
                if (everything or token.access_token == access_token) and not token.revoked:
                    token.revoked = True
                    revoked += 1
            return revoked

    def spend(self, token: Token, route_key: str) -> ratelimit.RateDecision:
        """Count one API request in the token's bucket and, if the route has one, in the route's; a refused
        request costs nothing. The decision's headers describe the bucket that applied."""
        with self._lock:
            config = self._config
            token_bucket = token.buckets.setdefault("*", ratelimit.Bucket(config.rate_per_minute))
            token_bucket.limit = config.rate_per_minute
            buckets = [token_bucket]
            route_limit = config.route_rate_limits.get(route_key)
            if route_limit is not None:
                route_bucket = token.buckets.setdefault(route_key, ratelimit.Bucket(route_limit))
                route_bucket.limit = route_limit
                buckets.append(route_bucket)
            return ratelimit.spend(buckets, time.monotonic(), config.rate_window_seconds)
