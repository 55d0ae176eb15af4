"""Genesys users who are agents, and their login: the user login of `login.<domain>` (authorization code with
PKCE for a public browser client), the sign-in cookie of the sandbox's agent desktop, and the user tokens the
Platform API then accepts (`GET /api/v2/users/me`). Part of `State` (state.py).

Genesys' login keeps a session of its own: an agent already signed in to the desktop gets a code without typing
the password again, as here (the sandbox's desktop and login share one origin).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from . import defaults
from .config import Config

# Codes live a short time and work once (Genesys' own lifetime is not published; RFC 6749 recommends at most 10
# minutes).
CODE_TTL_SECONDS = 60
AGENT_SESSION_COOKIE = "sandbox_agent"


@dataclasses.dataclass(frozen=True)
class AgentUser:
    id: str
    username: str
    name: str
    email: str

    def to_user_me(self) -> dict[str, Any]:
        """UserMe (PureCloudPlatformClientV2 UserMe.md): the fields a Genesys user always has."""
        return {
            "id": self.id,
            "name": self.name,
            "division": {"id": DIVISION_ID, "name": "Home", "selfUri": DIVISION_URI},
            "chat": {"jabberId": f"{self.id}@sandbox.orgspan.com"},
            "email": self.email,
            "primaryContactInfo": [{"address": self.email, "mediaType": "EMAIL", "type": "PRIMARY"}],
            "addresses": [],
            "state": "active",
            "username": self.email,
            "version": 1,
            "acdAutoAnswer": False,
            "selfUri": f"/api/v2/users/{self.id}",
        }

    def ref(self) -> dict[str, str]:
        """The participant's `user`, a DomainEntityRef (MessageMediaParticipant.md)."""
        return {"id": self.id, "name": self.name, "selfUri": f"/api/v2/users/{self.id}"}


DIVISION_ID = "00000000-0000-4000-8000-0000000000d1"
DIVISION_URI = f"/api/v2/authorization/divisions/{DIVISION_ID}"
AGENTS = (
    AgentUser("00000000-0000-4000-8000-0000000000a2", "agent1", "Avery Agent", "agent1@sandbox.example"),
    AgentUser("00000000-0000-4000-8000-0000000000a3", "agent2", "Blake Agent", "agent2@sandbox.example"),
)
AGENTS_BY_ID = {agent.id: agent for agent in AGENTS}


def check_password(username: str, password: str) -> AgentUser | None:
    """The agent with these credentials, compared in constant time; None otherwise."""
    found = None
    for agent in AGENTS:
        same_name = hmac.compare_digest(agent.username.encode(), username.encode())
        same_password = hmac.compare_digest(defaults.AGENT_PASSWORD.encode(), password.encode())
        if same_name and same_password:
            found = agent
    return found


def s256(verifier: str) -> str:
    """PKCE's S256 code challenge of a verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclasses.dataclass
class AuthorizationCode:
    user_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: float


class CodeRefused(ValueError):
    """An unknown, expired or spent code, or one whose client, redirect URI or verifier do not match."""


class AgentUsers:
    _lock: threading.RLock
    _config: Config
    _agent_sessions: dict[str, str]  # cookie value -> user id
    _codes: dict[str, AuthorizationCode]

    def sign_in_agent(self, user: AgentUser) -> str:
        """A new desktop session for the agent: the cookie's value."""
        with self._lock:
            session = secrets.token_urlsafe(24)
            self._agent_sessions[session] = user.id
            return session

    def sign_out_agent(self, session: str) -> None:
        with self._lock:
            self._agent_sessions.pop(session, None)

    def agent_of_session(self, session: str | None) -> AgentUser | None:
        with self._lock:
            user_id = self._agent_sessions.get(session or "")
        return AGENTS_BY_ID.get(user_id or "")

    def issue_code(self, user: AgentUser, client_id: str, redirect_uri: str, code_challenge: str) -> str:
        with self._lock:
            code = secrets.token_urlsafe(24)
            self._codes[code] = AuthorizationCode(
                user.id, client_id, redirect_uri, code_challenge, time.monotonic() + CODE_TTL_SECONDS
            )
            return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, verifier: str) -> AgentUser:
        """The code's agent; the code is spent whatever the outcome (a guess costs the real holder the code).
        Raises CodeRefused."""
        with self._lock:
            issued = self._codes.pop(code, None)
        if issued is None or time.monotonic() > issued.expires_at:
            raise CodeRefused("unknown or expired code")
        if issued.client_id != client_id or issued.redirect_uri != redirect_uri:
            raise CodeRefused("client or redirect_uri does not match the code")
        if not hmac.compare_digest(s256(verifier).encode(), issued.code_challenge.encode()):
            raise CodeRefused("code_verifier does not match the code_challenge")
        return AGENTS_BY_ID[issued.user_id]
