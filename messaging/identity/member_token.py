"""The member token: signed, expiring proof that a page was rendered for one member in one signed-in session.

Format: `<public id, 22>.<grant id, 16>.<nonce, 8>:<timestamp, base62>:<HMAC-SHA256, 43>` (base64url parts),
made by Django's TimestampSigner with a dedicated salt, about 99 bytes. The signature covers the member's public
id, the grant and the nonce, so a token proves exactly one member of one signed-in session and cannot be edited
to name another; the timestamp caps its life (GENESYS_MEMBER_TOKEN_MAX_AGE, 30 minutes by default). The grant is
the session's (grants.py): it dies with the session (sign-out, password change, expiry), and verification checks
it. The nonce makes each page's token distinct, so one that verified a conversation can verify no other.
"""

import base64
import binascii
import dataclasses
import functools
import hashlib
import re
import secrets
import uuid
from enum import StrEnum
from typing import Any

from django.core import signing

from ..app_settings import app_settings

MEMBER_TOKEN_SALT = "messaging.member-token"
GRANT_ID_LENGTH = 16  # 12 random bytes, base64url
_NONCE_BYTES = 6  # 8 characters: two pages of one session never share a token
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{8}:[0-9A-Za-z]{1,12}:[A-Za-z0-9_-]{43}$")
_ZERO_ID = str(uuid.UUID(int=0))


class TokenReason(StrEnum):
    """Why a member token proves a member for a conversation, or why not. For the logs and the flow's routing (the
    data action answers it as `reason`); it names no token and no member. A `sub`'s reasons: subject.SubReason."""

    VERIFIED = "verified"
    # The token itself (read_member_token_claims).
    NO_TOKEN = "no_token"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    # Its session grant (grants.check_member_token).
    REVOKED = "revoked"
    SESSION_EXPIRED = "session_expired"
    PASSWORD_CHANGED = "password_changed"
    UNKNOWN_MEMBER = "unknown_member"
    # The conversation it is presented for (verification.py).
    WRONG_CONVERSATION = "wrong_conversation"
    ALREADY_USED = "already_used"
    VERIFIED_UNCHECKED = "verified_unchecked"  # Genesys could not show the conversation in time


@dataclasses.dataclass(frozen=True)
class MemberTokenClaims:
    """What a token with a good signature says: whose it is and which session grant it belongs to."""

    member_id: uuid.UUID
    grant_id: str


class InvalidMemberToken(ValueError):
    """A member token that proves nothing. reason: MALFORMED, BAD_SIGNATURE or EXPIRED."""

    def __init__(self, reason: TokenReason, message: str = "") -> None:
        super().__init__(message or f"invalid member token: {reason}")
        self.reason = reason


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=MEMBER_TOKEN_SALT)


def _encode_member_id(member_id: uuid.UUID) -> str:
    # 22 characters instead of 36: the token counts against the 2048-byte budget.
    return base64.urlsafe_b64encode(member_id.bytes).rstrip(b"=").decode("ascii")


def _decode_member_id(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))


def new_grant_id() -> str:
    """A random session-grant id, as a token carries it."""
    return secrets.token_urlsafe(12)


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_member_token(public_id: str, grant_id: str) -> str:
    """A signed, expiring token naming a member's public id (a UUID) and the session grant it was issued under."""
    if len(grant_id) != GRANT_ID_LENGTH:
        raise ValueError("a grant id has 16 characters")
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    return _signer().sign(f"{_encode_member_id(uuid.UUID(public_id))}.{grant_id}.{nonce}")


@functools.cache
def member_token_size() -> int:
    """Bytes of every member token (the encoding has a fixed length but for the timestamp's digits, which stay
    the same for decades: computed once per process)."""
    return len(make_member_token(_ZERO_ID, "x" * GRANT_ID_LENGTH))


def read_member_token_claims(token: Any, max_age: int | None = None) -> MemberTokenClaims:
    """The member id and grant a token names if its signature and age are good, or InvalidMemberToken with the
    reason. It proves nothing until the grant is checked too (grants.check_member_token).

    max_age: seconds, default GENESYS_MEMBER_TOKEN_MAX_AGE.
    """
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise InvalidMemberToken(TokenReason.MALFORMED)
    if max_age is None:
        max_age = app_settings.MEMBER_TOKEN_MAX_AGE
    try:
        value = _signer().unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidMemberToken(TokenReason.EXPIRED) from None
    except signing.BadSignature:
        raise InvalidMemberToken(TokenReason.BAD_SIGNATURE) from None
    member_part, grant_id, _nonce = value.split(".")
    try:
        return MemberTokenClaims(_decode_member_id(member_part), grant_id)
    except (binascii.Error, ValueError):  # signed by us, so only a change of format could get here
        raise InvalidMemberToken(TokenReason.MALFORMED) from None


def read_member_token(token: Any, max_age: int | None = None) -> uuid.UUID:
    """The member id a well-signed, unexpired token names (see read_member_token_claims)."""
    return read_member_token_claims(token, max_age).member_id
