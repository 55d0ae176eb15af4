"""Per-session grants behind member tokens: issue one for a page, check it at verify, revoke it at sign-out.

A member token is only as good as the session that received it. Each signed-in session gets one grant (a
random id kept in the session and a MemberTokenGrant row); every page of the session renders a fresh token
naming it, so a new page keeps working while the session lives. The grant dies with the session:
  - sign-out: Django's `user_logged_out` (receivers.py) revokes the grant the session holds;
  - password change (the change form, a reset, the admin, `changepassword`): the grant keeps a digest of the
    user's session auth hash, which a new password changes; the next page of a session kept alive by
    `update_session_auth_hash` gets a new grant;
  - expiry: the grant expires with the session it was issued in.
Not caught: a session flushed without sign-out (another user signing in over it). Its tokens then live until
the grant's expiry, at most GENESYS_MEMBER_TOKEN_MAX_AGE each, and that browser's Messenger is cleared anyway.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import MemberProfile

from ..app_settings import app_settings
from ..attributes import InvalidMemberToken, make_member_token, new_grant_id, read_member_token_claims
from ..models import MemberTokenGrant

# In the session: {"id": grant id, "member": member id, "auth": auth digest, "until": expiry as a timestamp}.
SESSION_GRANT_KEY = "messaging.member_token_grant"


def auth_digest(user: Any) -> str:
    """SHA-256 of the user's session auth hash (an HMAC of the password hash): changes with the password."""
    return hashlib.sha256(user.get_session_auth_hash().encode("ascii")).hexdigest()


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_grant(profile: MemberProfile, *, expires_at: datetime.datetime) -> MemberTokenGrant:
    """A new grant for the member, valid until `expires_at` or until revoked or the password changes."""
    return MemberTokenGrant.objects.create(
        grant_id=new_grant_id(), member=profile, auth_digest=auth_digest(profile.user), expires_at=expires_at
    )


def _usable_session_grant(stored: Any, profile: MemberProfile, digest: str, now: datetime.datetime) -> str | None:
    """The grant id the session holds, if it is this member's, under the current password, and lives at least as
    long as a token issued now (else the page would hand out a token that dies early)."""
    if not isinstance(stored, dict):
        return None
    if stored.get("member") != str(profile.member_id) or stored.get("auth") != digest:
        return None
    until = stored.get("until")
    if not isinstance(until, int | float) or until < now.timestamp() + app_settings.MEMBER_TOKEN_MAX_AGE:
        return None
    grant_id = stored.get("id")
    return grant_id if isinstance(grant_id, str) else None


def issue_page_token(request: HttpRequest, profile: MemberProfile) -> str:
    """A fresh member token for a page of this signed-in session, under the session's grant (made on the first
    page, and again after a password change or when the old one nears its end). Reuse costs no query."""
    session = request.session
    now = timezone.now()
    digest = auth_digest(profile.user)
    grant_id = _usable_session_grant(session.get(SESSION_GRANT_KEY), profile, digest, now)
    if grant_id is None:
        expires_at = session.get_expiry_date()
        grant = create_grant(profile, expires_at=expires_at)
        grant_id = grant.grant_id
        session[SESSION_GRANT_KEY] = {
            "id": grant_id,
            "member": str(profile.member_id),
            "auth": digest,
            "until": expires_at.timestamp(),
        }
    return make_member_token(profile, grant_id)


def revoke_session_grant(session: Any, *, now: datetime.datetime | None = None) -> int:
    """Sign-out: the grant this session holds is revoked (its tokens prove nothing from now on). Returns how
    many grants were revoked."""
    stored = session.get(SESSION_GRANT_KEY) if session is not None else None
    grant_id = stored.get("id") if isinstance(stored, dict) else None
    if not isinstance(grant_id, str):
        return 0
    return MemberTokenGrant.objects.filter(grant_id=grant_id, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


@dataclasses.dataclass(frozen=True)
class GrantCheck:
    profile: MemberProfile | None
    # "verified", "no_token", "malformed", "bad_signature", "expired", "revoked", "session_expired",
    # "password_changed" or "unknown_member"; services adds "wrong_conversation", "already_used" and
    # "verified_unchecked" (Genesys could not show the conversation). For logs, never shown.
    reason: str


def check_member_token(token: str, *, now: datetime.datetime | None = None) -> GrantCheck:
    """The active member a token proves, or why it proves nothing: signature and age first (no query), then its
    grant with the member in one indexed SELECT."""
    if not token:
        return GrantCheck(None, "no_token")
    try:
        claims = read_member_token_claims(token)
    except InvalidMemberToken as error:
        return GrantCheck(None, error.reason)
    grant = (
        MemberTokenGrant.objects.select_related("member__level", "member__user")
        .filter(grant_id=claims.grant_id)
        .first()
    )
    now = now or timezone.now()
    if grant is None or grant.member.member_id != claims.member_id:
        # No such grant: the member was deleted (grants go with them) or the grants were purged.
        return GrantCheck(None, "unknown_member" if grant is None else "revoked")
    if grant.revoked_at is not None:
        return GrantCheck(None, "revoked")
    if grant.expires_at <= now:
        return GrantCheck(None, "session_expired")
    if not grant.member.user.is_active:
        return GrantCheck(None, "unknown_member")
    if grant.auth_digest != auth_digest(grant.member.user):
        return GrantCheck(None, "password_changed")
    return GrantCheck(grant.member, "verified")
