"""Which custom attributes a member gets, the signed member token, and the byte budget.

Pure functions over a MemberProfile and settings: no request, no database writes. The page
(templatetags/genesys.py via selectors.py) and the data-action endpoint (verify) share them, so the keys the
browser sends and the keys the server pushes can never drift apart.

Member token: `<member id, 22>.<grant id, 16>.<nonce, 8>:<timestamp, base62>:<HMAC-SHA256, 43>` (base64url parts),
made by Django's TimestampSigner with a dedicated salt, about 99 bytes. The signature covers the member id, the
grant and the nonce, so a token proves exactly one member of one signed-in session and cannot be edited to name
another; the timestamp caps its life (GENESYS_MEMBER_TOKEN_MAX_AGE, 30 minutes by default). The grant is the
session's (messaging/identity/grants.py): it dies with the session (sign-out, password change, expiry), and verification
checks it. The nonce makes each page's token distinct, so one that verified a conversation can verify no other.
"""

import base64
import binascii
import dataclasses
import logging
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from django.core import signing

from .app_settings import app_settings

logger = logging.getLogger(__name__)

MEMBER_TOKEN_SALT = "messaging.member-token"

IS_AUTHENTICATED = "isAuthenticated"
MEMBER_ID = "memberId"
MEMBERSHIP_LEVEL = "membershipLevel"
MEMBER_TOKEN = "memberToken"
# Never dropped to fit the budget: the flow routes on them and verification needs the token.
REQUIRED_MEMBER_KEYS: tuple[str, ...] = (IS_AUTHENTICATED, MEMBER_ID, MEMBERSHIP_LEVEL, MEMBER_TOKEN)
# Names the server adds when it pushes verified attributes; a mapping may not take them either.
RESERVED_KEYS: frozenset[str] = frozenset({*REQUIRED_MEMBER_KEYS, "verified", "verifiedAt"})

# Longest possible values of the required attributes, for the start-up check: a level name is at most 64
# characters (MembershipLevel.name), 4 UTF-8 bytes each at worst.
MAX_LEVEL_NAME_BYTES = 64 * 4
GRANT_ID_LENGTH = 16  # 12 random bytes, base64url
_NONCE_BYTES = 6  # 8 characters: two pages of one session never share a token
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{8}:[0-9A-Za-z]{1,12}:[A-Za-z0-9_-]{43}$")

InvalidReason = Literal["bad_signature", "expired", "malformed"]


@dataclasses.dataclass(frozen=True)
class MemberTokenClaims:
    """What a token with a good signature says: whose it is and which session grant it belongs to."""

    member_id: uuid.UUID
    grant_id: str


class InvalidMemberToken(ValueError):
    """A member token that proves nothing. reason: "bad_signature", "expired" or "malformed"."""

    def __init__(self, reason: InvalidReason, message: str = "") -> None:
        super().__init__(message or f"invalid member token: {reason}")
        self.reason: InvalidReason = reason


class AttributeBudgetExceeded(ValueError):
    """The required attributes alone do not fit the byte budget."""


@dataclasses.dataclass(frozen=True)
class _ZeroProfile:
    member_id: uuid.UUID = uuid.UUID(int=0)


_ZERO_PROFILE = _ZeroProfile()


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


def make_member_token(profile: Any, grant_id: str) -> str:
    """A signed, expiring token naming the profile's public member id and the session grant it was issued under."""
    if len(grant_id) != GRANT_ID_LENGTH:
        raise ValueError("a grant id has 16 characters")
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    return _signer().sign(f"{_encode_member_id(profile.member_id)}.{grant_id}.{nonce}")


def member_token_size() -> int:
    """Bytes of every member token (the encoding has a fixed length but for the timestamp's digits)."""
    return len(make_member_token(_ZERO_PROFILE, "x" * GRANT_ID_LENGTH))


def read_member_token_claims(token: Any, max_age: int | None = None) -> MemberTokenClaims:
    """The member id and grant a token names if its signature and age are good, or InvalidMemberToken with the
    reason. It proves nothing until the grant is checked too (grants.check_member_token).

    max_age: seconds, default GENESYS_MEMBER_TOKEN_MAX_AGE.
    """
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise InvalidMemberToken("malformed")
    if max_age is None:
        max_age = app_settings.MEMBER_TOKEN_MAX_AGE
    try:
        value = _signer().unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidMemberToken("expired") from None
    except signing.BadSignature:
        raise InvalidMemberToken("bad_signature") from None
    member_part, grant_id, _nonce = value.split(".")
    try:
        return MemberTokenClaims(_decode_member_id(member_part), grant_id)
    except (binascii.Error, ValueError):  # signed by us, so only a change of format could get here
        raise InvalidMemberToken("malformed") from None


def read_member_token(token: Any, max_age: int | None = None) -> uuid.UUID:
    """The member id a well-signed, unexpired token names (see read_member_token_claims)."""
    return read_member_token_claims(token, max_age).member_id


def attributes_size(attrs: Mapping[str, str]) -> int:
    """Keys plus values in UTF-8 bytes, as Genesys counts maxCustomDataBytes."""
    return sum(len(key.encode("utf-8")) + len(value.encode("utf-8")) for key, value in attrs.items())


def fit_to_budget(attrs: Mapping[str, str], budget: int, required_keys: Iterable[str]) -> dict[str, str]:
    """attrs within `budget` bytes: optional keys are dropped longest first (key plus value), with a warning.

    Raises AttributeBudgetExceeded when the required keys alone do not fit.
    """
    required = set(required_keys)
    fitted = dict(attrs)
    size = attributes_size(fitted)
    if size <= budget:
        return fitted
    required_size = attributes_size({k: v for k, v in fitted.items() if k in required})
    if required_size > budget:
        raise AttributeBudgetExceeded(
            f"required attributes take {required_size} bytes, over the budget of {budget} bytes"
        )
    optional = sorted(
        (key for key in fitted if key not in required),
        key=lambda key: (-attributes_size({key: fitted[key]}), key),
    )
    dropped = []
    for key in optional:
        if size <= budget:
            break
        size -= attributes_size({key: fitted.pop(key)})
        dropped.append(key)
    # Names only: the values are personal data.
    logger.warning(
        "custom attributes over the %d-byte budget: dropped %s (now %d bytes)", budget, ", ".join(dropped), size
    )
    return fitted


def resolve_path(obj: Any, path: str) -> Any:
    """Follow a dotted path of attributes from obj; a callable on the way is called without arguments."""
    value = obj
    for part in path.split("."):
        value = getattr(value, part, None)
        if callable(value):
            value = value()
        if value is None:
            return None
    return value


def mapped_attributes(user: Any, mapping: Mapping[str, str]) -> dict[str, str]:
    """The optional attributes of the mapping, as strings; empty values are left out."""
    attrs = {}
    for name, path in mapping.items():
        value = resolve_path(user, path)
        if value is None:
            continue
        text = str(value)
        if text:
            attrs[name] = text
    return attrs


def anonymous_attributes() -> dict[str, str]:
    """What an anonymous visitor sends: the flag and nothing about them."""
    return {IS_AUTHENTICATED: "false"}


def page_attributes(profile: Any, member_token: str) -> dict[str, str]:
    """Everything the page sets for a signed-in member, the session's token included, within the budget."""
    attrs = {
        IS_AUTHENTICATED: "true",
        MEMBER_ID: str(profile.member_id),
        MEMBERSHIP_LEVEL: profile.level.name if profile.level_id else "",
        MEMBER_TOKEN: member_token,
    }
    extra = mapped_attributes(profile.user, app_settings.ATTRIBUTE_MAPPING)
    attrs.update({key: value for key, value in extra.items() if key not in RESERVED_KEYS})
    return fit_to_budget(attrs, app_settings.MAX_CUSTOM_DATA_BYTES, REQUIRED_MEMBER_KEYS)


def member_attributes(profile: Any) -> dict[str, str]:
    """The server's view of what the page sends for this member, without the token: the same keys, the same
    optional fields dropped (the budget is computed with a token's worth of bytes in place, as on the page)."""
    attrs = page_attributes(profile, "x" * member_token_size())
    del attrs[MEMBER_TOKEN]
    return attrs


def member_attribute_keys() -> list[str]:
    """Every key a member's page may set: what an anonymous page must remove so none lingers."""
    keys = [key for key in REQUIRED_MEMBER_KEYS if key != IS_AUTHENTICATED]
    keys += [key for key in app_settings.ATTRIBUTE_MAPPING if key not in RESERVED_KEYS]
    return keys


def configuration_problems(mapping: Any, budget: Any) -> list[str]:
    """What is wrong with an attribute mapping and byte budget, in words; empty when they work.

    The required attributes at their longest (a 64-character level name of 4-byte characters) must fit.
    """
    problems = []
    if not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        problems.append(f"GENESYS_MAX_CUSTOM_DATA_BYTES must be a positive integer, not {budget!r}.")
    if not isinstance(mapping, Mapping):
        problems.append(
            f"GENESYS_ATTRIBUTE_MAPPING must map attribute names to user paths, "
            f'e.g. {{"displayName": "get_full_name"}}, not {type(mapping).__name__}.'
        )
        mapping = {}
    for name, path in mapping.items():
        if not isinstance(name, str) or not name or not isinstance(path, str) or not path:
            problems.append(f"GENESYS_ATTRIBUTE_MAPPING entry {name!r}: {path!r} must be two non-empty strings.")
        elif name in RESERVED_KEYS:
            problems.append(f"GENESYS_ATTRIBUTE_MAPPING may not set {name!r}: the integration sets it.")
        elif any(part.startswith("_") or "password" in part.lower() for part in path.split(".")):
            problems.append(f"GENESYS_ATTRIBUTE_MAPPING {name!r}: {path!r} reaches a private or password field.")
    if problems:
        return problems
    worst_required = {
        IS_AUTHENTICATED: "false",
        MEMBER_ID: str(uuid.UUID(int=0)),
        MEMBERSHIP_LEVEL: "x" * MAX_LEVEL_NAME_BYTES,
        MEMBER_TOKEN: "x" * member_token_size(),
    }
    needed = attributes_size(worst_required)
    if needed > budget:
        problems.append(
            f"GENESYS_MAX_CUSTOM_DATA_BYTES is {budget} bytes but the required attributes "
            f"({', '.join(REQUIRED_MEMBER_KEYS)}) can take {needed} bytes: raise it to at least {needed}."
        )
    return problems
