"""Which custom attributes a member gets, and the byte budget.

Pure functions over the member adapter's Member and settings: no request, no database writes. The page
(messenger.py) and the data-action endpoint (verification.py) share them, so the keys the browser sends and the
keys the server pushes can never drift apart. The member token is in identity/member_token.py.
"""

import datetime
import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .app_settings import app_settings
from .identity.adapter import Member, get_member_adapter
from .identity.member_token import member_token_size

logger = logging.getLogger(__name__)

IS_AUTHENTICATED = "isAuthenticated"
MEMBER_ID = "memberId"
MEMBERSHIP_LEVEL = "membershipLevel"
MEMBER_TOKEN = "memberToken"
VERIFIED = "verified"
VERIFIED_AT = "verifiedAt"
# Never dropped to fit the budget: the flow routes on them and verification needs the token.
REQUIRED_MEMBER_KEYS: tuple[str, ...] = (IS_AUTHENTICATED, MEMBER_ID, MEMBERSHIP_LEVEL, MEMBER_TOKEN)
# Names the server adds when it pushes verified attributes; a mapping may not take them either.
RESERVED_KEYS: frozenset[str] = frozenset({*REQUIRED_MEMBER_KEYS, VERIFIED, VERIFIED_AT})

# Longest possible values of the required attributes, for the start-up check: a level name of at most 64
# characters, 4 UTF-8 bytes each at worst.
MAX_LEVEL_NAME_BYTES = 64 * 4


class AttributeBudgetExceeded(ValueError):
    """The required attributes alone do not fit the byte budget."""


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


def page_attributes(member: Member, member_token: str) -> dict[str, str]:
    """Everything the page sets for a signed-in member, the session's token included, within the budget."""
    attrs = {
        IS_AUTHENTICATED: "true",
        MEMBER_ID: member.public_id,
        MEMBERSHIP_LEVEL: member.level,
        MEMBER_TOKEN: member_token,
    }
    extra = mapped_attributes(member.user, app_settings.ATTRIBUTE_MAPPING)
    extra.update(get_member_adapter().member_attributes(member))
    attrs.update({key: value for key, value in extra.items() if key not in RESERVED_KEYS})
    return fit_to_budget(attrs, app_settings.MAX_CUSTOM_DATA_BYTES, REQUIRED_MEMBER_KEYS)


def member_attributes(member: Member) -> dict[str, str]:
    """The server's view of what the page sends for this member, without the token: the same keys, the same
    optional fields dropped (the budget is computed with a token's worth of bytes in place, as on the page)."""
    attrs = page_attributes(member, "x" * member_token_size())
    del attrs[MEMBER_TOKEN]
    return attrs


def iso_timestamp(moment: datetime.datetime) -> str:
    """UTC with milliseconds and Z, as Genesys writes timestamps."""
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _member_keys() -> list[str]:
    return [key for key in member_attribute_keys() if key != MEMBER_TOKEN]


def verified_attributes(member: Member, *, at: datetime.datetime) -> dict[str, str]:
    """The keys the page sends, with the server's values. Every member key is present (empty when the server has
    no value), so nothing the browser made up survives the push. In member-token mode memberToken is emptied, so no
    usable token is left on the participant for whoever reads participant data; in authenticated mode the page
    sets no token, and no memberToken key is pushed at all."""
    attributes = {key: "" for key in _member_keys()}
    attributes.update(member_attributes(member))
    if not app_settings.AUTHENTICATED_MESSAGING:
        attributes[MEMBER_TOKEN] = ""
    attributes.update({VERIFIED: "true", VERIFIED_AT: iso_timestamp(at)})
    return attributes


def unverified_attributes(*, at: datetime.datetime) -> dict[str, str]:
    """What the data action answers when it confirms no member: `verified` "false" and every member key empty
    (the flow's outputs all present). Never pushed: participant data the browser set stays as it is, verified
    attributes the server pushed earlier too."""
    attributes = {key: "" for key in _member_keys()}
    attributes.update(anonymous_attributes())
    attributes.update({VERIFIED: "false", VERIFIED_AT: iso_timestamp(at)})
    return attributes


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
