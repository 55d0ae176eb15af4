"""Authenticated web messaging, Genesys' side of it: the JWT and refresh token an exchange answers, and the guest
sessions configured with them. Part of `State` (state.py).

An authenticated member's conversation follows the member (GENESYS.md, Authenticated messaging): sessions are
tied to the ID token's `sub`, and every session of one `sub` writes to, reads and hears the same open
conversation. The customer participant of a conversation started by such a session is `authenticated: true` and
keeps the claims Genesys shows (`sub`, `email`, `name`).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from typing import Any

from .config import Config
from .models import Conversation, GuestSession, frame

# The claims Genesys keeps of the ID token (sub as the address, email, the name from given_name + family_name).
KEPT_CLAIMS = ("sub", "email", "name")


class AuthRefused(LookupError):
    """An unknown, expired or revoked JWT or refresh token."""


@dataclasses.dataclass
class AuthGrant:
    jwt: str
    refresh_token: str
    claims: dict[str, str]
    expires_at: float
    revoked: bool = False
    provider_refresh_token: str = ""  # refreshed at the provider before each Genesys refresh (oidc_relying_party)

    def usable(self) -> bool:
        return not self.revoked and time.time() < self.expires_at


def kept_claims(claims: dict[str, Any]) -> dict[str, str]:
    """sub, email and name (from given_name + family_name when the token has no `name`)."""
    name = claims.get("name") or " ".join(filter(None, (claims.get("given_name"), claims.get("family_name"))))
    kept = {"sub": claims.get("sub"), "email": claims.get("email"), "name": name}
    return {key: str(value) for key, value in kept.items() if value}


class AuthSessions:
    _lock: threading.RLock
    _config: Config
    _stats: dict[str, Any]
    _conversations: dict[str, Conversation]
    _sessions: dict[str, GuestSession]
    _grants: dict[str, AuthGrant]  # by jwt
    _member_conversations: dict[str, str]  # sub -> conversation id

    def _jwt_ttl(self, provider_ttl: int | None) -> float:
        """Genesys' JWT lives auth_jwt_ttl "or the access token age, whichever is the smallest"."""
        return min(self._config.auth_jwt_ttl, provider_ttl or self._config.auth_jwt_ttl)

    def grant_auth(
        self, claims: dict[str, Any], *, provider_refresh_token: str = "", provider_ttl: int | None = None
    ) -> dict[str, str]:
        """A checked ID token's claims -> `{"jwt", "refreshToken"}` (the exchange's answer)."""
        with self._lock:
            grant = AuthGrant(
                jwt=secrets.token_urlsafe(32),
                refresh_token=secrets.token_urlsafe(32),
                claims=kept_claims(claims),
                expires_at=time.time() + self._jwt_ttl(provider_ttl),
                provider_refresh_token=provider_refresh_token,
            )
            self._grants[grant.jwt] = grant
            self._stats["auth_exchanges"] += 1
            return {"jwt": grant.jwt, "refreshToken": grant.refresh_token}

    def refuse_auth(self, reason: str) -> None:
        """Record a refused exchange (the reason is shown in /_stats, never a secret)."""
        with self._lock:
            self._stats["auth_exchanges_refused"] += 1
            self._stats["auth_refusals"] = [*self._stats["auth_refusals"][-19:], reason]

    def _live_grant(self, refresh_token: str) -> AuthGrant:
        grant = next((g for g in self._grants.values() if g.refresh_token == refresh_token), None)
        if grant is None or grant.revoked:
            raise AuthRefused("unknown or revoked refresh token")
        return grant

    def provider_refresh_token(self, refresh_token: str) -> str:
        """The provider's refresh token kept with the live grant of `refresh_token`. Raises AuthRefused."""
        with self._lock:
            return self._live_grant(refresh_token).provider_refresh_token

    def refresh_auth(
        self, refresh_token: str, *, provider_refresh_token: str = "", provider_ttl: int | None = None
    ) -> dict[str, str]:
        """A new JWT for a refresh token of a grant not revoked (the old JWT stops working), after the provider
        renewed its own (`provider_refresh_token`, kept for the next time). Raises AuthRefused."""
        with self._lock:
            grant = self._live_grant(refresh_token)
            del self._grants[grant.jwt]
            old_jwt, grant.jwt = grant.jwt, secrets.token_urlsafe(32)
            for session in self._sessions.values():
                if session.auth_jwt == old_jwt:
                    session.auth_jwt = grant.jwt  # a revoke of the new JWT still finds the session
            grant.expires_at = time.time() + self._jwt_ttl(provider_ttl)
            grant.provider_refresh_token = provider_refresh_token
            self._grants[grant.jwt] = grant
            self._stats["auth_refreshes"] += 1
            return {"jwt": grant.jwt}

    def end_auth(self, refresh_token: str, reason: str) -> None:
        """The provider refused to refresh: the grant ends as a revoke ends it (its sessions become anonymous
        strangers), and the reason is shown in /_stats `auth_refusals`. Raises AuthRefused."""
        with self._lock:
            self.revoke_auth(self._live_grant(refresh_token).jwt)
            self.refuse_auth(reason)

    def revoke_auth(self, jwt: str) -> None:
        """DELETE token/revoke: the grant's JWT and refresh token stop working; sessions configured with it become
        anonymous strangers (they keep nothing of the member). Raises AuthRefused."""
        with self._lock:
            grant = self._grants.get(jwt)
            if grant is None or grant.revoked:
                raise AuthRefused("unknown or revoked JWT")
            grant.revoked = True
            for session in self._sessions.values():
                if session.auth_claims and session.auth_jwt == jwt:
                    session.auth_claims = {}
                    session.conversation_id = None
                    # Genesys pushes LogoutEvent to the session's connections after a revoke (GENESYS.md).
                    self._emit(session.token, frame("message", "LogoutEvent", 200, {}))  # type: ignore[attr-defined]
            self._stats["auth_revokes"] += 1
            self._stats["auth_revoked_subs"] = [*self._stats["auth_revoked_subs"][-19:], grant.claims.get("sub", "")]

    def configure_authenticated_session(self, token: str, deployment_id: str, jwt: str) -> dict[str, Any]:
        """configureAuthenticatedSession: the session `token` belongs to the JWT's member, and writes to the
        member's open conversation (started in any browser). An anonymous session with an open conversation on a
        deployment that allows session upgrade is upgraded instead: its conversation becomes the member's, and
        the member's other sessions hear ConnectionClosedEvent `reason: "signedIn"` (`clearedExistingSession`;
        transport SDK uml/auth_flow/high_level_stepup_flow). Without upgrade the anonymous conversation stays
        behind. Raises AuthRefused; answers the SessionResponse."""
        with self._lock:
            grant = self._grants.get(jwt)
            if grant is None or not grant.usable():
                raise AuthRefused("unknown, expired or revoked JWT")
            deployment = self._config.deployment(deployment_id)
            if deployment is None or not deployment.auth_enabled:
                raise AuthRefused("authentication is not enabled for this deployment")
            existing = self._sessions.get(token)
            guest_conversation = self._conversations.get(existing.conversation_id or "") if existing else None
            upgrading = (
                existing is not None
                and not existing.auth_claims
                and guest_conversation is not None
                and guest_conversation.state != "disconnected"
            )
            if upgrading and not deployment.allow_session_upgrade:
                existing.conversation_id = None  # type: ignore[union-attr]
                upgrading = False
            body = self._configure(token, deployment_id)  # type: ignore[attr-defined]
            session = self._sessions[token]
            session.auth_claims = dict(grant.claims)
            session.auth_jwt = jwt
            sub = grant.claims["sub"]
            if upgrading:
                assert guest_conversation is not None
                others = [s for s in self._sessions.values() if s.auth_claims.get("sub") == sub and s is not session]
                for other in others:
                    self._emit(other.token, frame("message", "ConnectionClosedEvent", 200, {"reason": "signedIn"}))  # type: ignore[attr-defined]
                    self._listeners.pop(other.token, None)  # type: ignore[attr-defined]
                    del self._sessions[other.token]
                self._remember_member_conversation(session, guest_conversation)
                body["clearedExistingSession"] = bool(others)
                self._stats["auth_sessions_upgraded"] += 1
                self._stats["auth_sessions_configured"] += 1
                return body
            conversation = self._conversations.get(self._member_conversations.get(sub, ""))
            if conversation is not None and conversation.state != "disconnected":
                session.conversation_id = conversation.id
                body["readOnly"] = False
            body["newSession"] = body["newSession"] and conversation is None
            self._stats["auth_sessions_configured"] += 1
            return body

    def _remember_member_conversation(self, session: GuestSession, conversation: Conversation) -> None:
        """A conversation started by an authenticated session is the member's (other browsers join it)."""
        if session.auth_claims:
            conversation.customer.auth_claims = dict(session.auth_claims)
            conversation.customer.name = session.auth_claims.get("name", conversation.customer.name)
            self._member_conversations[session.auth_claims["sub"]] = conversation.id

    def _sessions_on(self, conversation: Conversation) -> list[GuestSession]:
        """Every session writing to `conversation` (several browsers of one authenticated member)."""
        return [s for s in self._sessions.values() if s.conversation_id == conversation.id]


def auth_stats() -> dict[str, Any]:
    return {
        "auth_exchanges": 0,
        "auth_exchanges_refused": 0,
        "auth_refusals": [],
        "auth_refreshes": 0,
        "auth_revokes": 0,
        "auth_revoked_subs": [],
        "auth_sessions_configured": 0,
        "auth_sessions_upgraded": 0,
    }
