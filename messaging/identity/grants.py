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
import uuid
from typing import Any

from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone

from ..app_settings import app_settings
from ..models import MemberTokenGrant, MemberTokenUse
from .adapter import Member, get_member_adapter
from .member_token import (
    InvalidMemberToken,
    TokenReason,
    make_member_token,
    new_grant_id,
    read_member_token_claims,
    token_digest,
)

# In the session: {"id": grant id, "member": public id, "auth": auth digest, "until": expiry as a timestamp}.
SESSION_GRANT_KEY = "messaging.member_token_grant"


def auth_digest(user: Any) -> str:
    """SHA-256 of the user's session auth hash (an HMAC of the password hash): changes with the password."""
    return hashlib.sha256(user.get_session_auth_hash().encode("ascii")).hexdigest()


def create_grant(member: Member, *, expires_at: datetime.datetime) -> MemberTokenGrant:
    """A new grant for the member, valid until `expires_at` or until revoked or the password changes."""
    return MemberTokenGrant.objects.create(
        grant_id=new_grant_id(), user_id=member.user_id, auth_digest=auth_digest(member.user), expires_at=expires_at
    )


def _usable_session_grant(stored: Any, member: Member, digest: str, now: datetime.datetime) -> str | None:
    """The grant id the session holds, if it is this member's, under the current password, and lives at least as
    long as a token issued now (else the page would hand out a token that dies early)."""
    if not isinstance(stored, dict):
        return None
    if stored.get("member") != member.public_id or stored.get("auth") != digest:
        return None
    until = stored.get("until")
    if not isinstance(until, int | float) or until < now.timestamp() + app_settings.MEMBER_TOKEN_MAX_AGE:
        return None
    grant_id = stored.get("id")
    return grant_id if isinstance(grant_id, str) else None


def issue_page_token(request: HttpRequest, member: Member) -> str:
    """A fresh member token for a page of this signed-in session, under the session's grant (made on the first
    page, and again after a password change or when the old one nears its end). Reuse costs no query."""
    session = request.session
    now = timezone.now()
    digest = auth_digest(member.user)
    grant_id = _usable_session_grant(session.get(SESSION_GRANT_KEY), member, digest, now)
    if grant_id is None:
        expires_at = session.get_expiry_date()
        grant = create_grant(member, expires_at=expires_at)
        grant_id = grant.grant_id
        session[SESSION_GRANT_KEY] = {
            "id": grant_id,
            "member": member.public_id,
            "auth": digest,
            "until": expires_at.timestamp(),
        }
    return make_member_token(member.public_id, grant_id)


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
class TokenCheck:
    """The member a member token proves (None: it proves nothing) and why: after its grant (check_member_token),
    then after the conversation it is presented for (verification.py). `spent_on`: the conversation the token
    had already verified when its grant was read (a token verifies one conversation), else None."""

    member: Member | None
    reason: TokenReason
    spent_on: uuid.UUID | None = None


def check_member_token(token: str, *, now: datetime.datetime | None = None) -> TokenCheck:
    """The active member a token proves, or why it proves nothing: signature and age first (no query), then its
    grant with the user and what the member adapter reads of it, and the conversation the token already verified
    (`spent_on`), in one indexed SELECT."""
    if not token:
        return TokenCheck(None, TokenReason.NO_TOKEN)
    try:
        claims = read_member_token_claims(token)
    except InvalidMemberToken as error:
        return TokenCheck(None, error.reason)
    adapter = get_member_adapter()
    relations = ["user", *(f"user__{relation}" for relation in adapter.user_relations)]
    # The token's use read with its grant: the data action needs both before it asks Genesys anything.
    uses = MemberTokenUse.objects.filter(token_digest=token_digest(token)).values("conversation_id")
    grants = MemberTokenGrant.objects.select_related(*relations).filter(grant_id=claims.grant_id)
    # grant_id and token_digest are unique: no ORDER BY (first() would add one).
    grant = next(iter(grants.annotate(spent_on=Subquery(uses[:1]))[:1]), None)
    if grant is None:
        # No such grant: the member was deleted (grants go with them) or the grants were purged.
        return TokenCheck(None, TokenReason.UNKNOWN_MEMBER)
    member = adapter.member_for_user(grant.user)
    if member is None:
        return TokenCheck(None, TokenReason.UNKNOWN_MEMBER)
    if uuid.UUID(member.public_id) != claims.member_id:
        return TokenCheck(None, TokenReason.REVOKED)
    if grant.revoked_at is not None:
        return TokenCheck(None, TokenReason.REVOKED)
    if grant.expires_at <= (now or timezone.now()):
        return TokenCheck(None, TokenReason.SESSION_EXPIRED)
    if not member.is_active:
        return TokenCheck(None, TokenReason.UNKNOWN_MEMBER)
    if grant.auth_digest != auth_digest(grant.user):
        return TokenCheck(None, TokenReason.PASSWORD_CHANGED)
    return TokenCheck(member, TokenReason.VERIFIED, spent_on=grant.spent_on)
