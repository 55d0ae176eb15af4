"""The data-action endpoint Genesys calls: POST /messaging/genesys/verify.

Thin: the checks every request passes (method, credentials, size, type, shape) in that order, then who the
request names (verification.claimed_member, no Genesys call): a guest, a dead token or an unknown `sub` is answered
from the request alone. Only a call about to spend Genesys' budget counts against GENESYS_VERIFY_RATE, so a flood of
guest conversations (anyone can start one) never delays or refuses a member's verify. Failed credentials count
against a per-address limit of their own (GENESYS_VERIFY_FAILED_AUTH_RATE, 429 once exceeded). Every answer is
JSON; errors are {"error": ...} with a 4xx, the success a flat map of strings.
"""

import base64
import binascii
import json
import logging
import secrets
import time

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .app_settings import app_settings
from .forms import VerifyRequestForm
from .genesys.client import get_client
from .monitoring.verify import VerifyAnswer, observe_verify
from .rate_limit import seconds_until_allowed
from .verification import claimed_member, unconfirmed, verify_conversation

logger = logging.getLogger("messaging.verify")

REALM = "genesys-data-action"
GROUP = "messaging.verify"  # django-ratelimit groups: authenticated calls, and failed credentials on their own
FAILED_AUTH_GROUP = "messaging.verify.failed-auth"


def _error(status: int, error: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": error, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _rate_limited(retry_after: int) -> JsonResponse:
    response = _error(429, "rate_limited")
    response["Retry-After"] = str(retry_after)
    return response


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """json.loads hook: a repeated key is refused, so a token with quotes in it that slipped past the template's
    escaping cannot name a second conversationId (most parsers keep the last one)."""
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _authorized(request: HttpRequest) -> bool:
    """HTTP Basic with one of the data action integration's credential pairs (DATA_ACTION_CREDENTIALS: several
    while they rotate), compared in constant time."""
    pairs = app_settings.DATA_ACTION_CREDENTIALS
    if not pairs:
        logger.error("verify refused: no GENESYS_DATA_ACTION_USERNAME/PASSWORD (or _CREDENTIALS) configured")
        return False
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    given_user, sep, given_password = decoded.partition(b":")
    # Every part of every pair compared, always, so the time taken says nothing about which one was wrong.
    matches = [
        secrets.compare_digest(given_user, username.encode("utf-8"))
        & secrets.compare_digest(given_password, password.encode("utf-8"))
        for username, password in pairs
    ]
    return bool(sep) and any(matches)


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is over `limit` bytes (never reads more than limit + 1)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt  # called by Genesys with Basic credentials, not by a browser form
@observe_verify
def verify(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    if request.method != "POST":
        response = _error(405, "method_not_allowed")
        response["Allow"] = "POST"
        return response
    if not _authorized(request):
        # The credential check is a constant-time comparison, cheap enough to run before any limit; a wrong
        # guess never reaches Genesys' own budget below.
        failed_rate = app_settings.VERIFY_FAILED_AUTH_RATE
        retry_after = seconds_until_allowed(request, group=FAILED_AUTH_GROUP, key="ip", rate=failed_rate, method="POST")
        if retry_after is not None:
            return _rate_limited(retry_after)
        response = _error(401, "unauthorized")
        response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
        return response
    limit = app_settings.VERIFY_MAX_BODY_BYTES
    body = _read_body(request, limit)
    if body is None:
        return _error(413, "body_too_large", limit_bytes=limit)
    if request.content_type != "application/json":
        return _error(415, "unsupported_media_type", expected="application/json")
    try:
        payload = json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        return _error(400, "invalid_json", detail=f"duplicate key {str(duplicate)[:40]!r}")
    except RecursionError:  # nesting deeper than the parser's stack, well within the size limit
        return _error(400, "invalid_json", detail="nested too deeply")
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_json")
    if not isinstance(payload, dict):
        return _error(400, "invalid_json", detail="the body must be a JSON object")
    wrong_types = VerifyRequestForm.wrong_types(payload)
    if wrong_types:
        return _error(400, "invalid_request", fields=wrong_types)
    form = VerifyRequestForm(payload)
    if not form.is_valid():
        return _error(400, "invalid_request", fields=form.error_fields())

    member_token, sub = form.cleaned_data["memberToken"], form.cleaned_data["sub"]
    claimed = claimed_member(member_token=member_token, sub=sub)
    if claimed.member is None:
        result = unconfirmed(claimed.reason)  # costs Genesys nothing: not counted
    else:
        rate = app_settings.VERIFY_RATE
        retry_after = seconds_until_allowed(request, group=GROUP, key="ip", rate=rate, method="POST")
        if retry_after is not None:
            return _rate_limited(retry_after)
        result = verify_conversation(
            conversation_id=form.cleaned_data["conversationId"],
            member_token=member_token,
            sub=sub,
            client=get_client(),
            budget_seconds=app_settings.VERIFY_INLINE_BUDGET,
            claimed=claimed,
        )
    # The reason says why a token proved nothing (expired, bad_signature, ...); never the token itself.
    logger.info(
        "verify conversation=%s verified=%s reason=%s version=%d push=%s duration_ms=%.1f",
        form.cleaned_data["conversationId"],
        str(result.verified).lower(),
        result.reason,
        result.version,
        result.push_state,
        (time.monotonic() - started) * 1000,
    )
    response = VerifyAnswer(
        {**result.attributes, "pushState": result.push_state, "reason": str(result.reason)}, verified=result.verified
    )
    response["Cache-Control"] = "no-store"
    return response
