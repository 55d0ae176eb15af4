"""Typed errors of the Genesys integration. Messages never carry a secret or a token.

A failed token fetch is remembered in the cache for a few seconds (`error_to_memory` / `error_from_memory`), so the
callers that were waiting for it get the same typed error instead of each trying the wrong secret in turn.
"""

from typing import Any


class GenesysError(Exception):
    """Base of every Genesys failure.

    status: HTTP status Genesys answered (None when no answer arrived).
    code: Genesys' error code (`invalid_client`, `too.many.requests.retry.after`, ...), when it gave one.
    correlation_id: the ININ-Correlation-Id header, for Genesys support.
    retryable: True when the same call may succeed later (network, 5xx, 429, token lock wait).
    """

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.correlation_id = correlation_id


class GenesysConfigurationError(GenesysError):
    """The integration is not configured (no client id, no API base)."""


class GenesysTokenError(GenesysError):
    """The OAuth token endpoint refused or failed (wrong client credentials, bad grant)."""


class GenesysAuthError(GenesysError):
    """The API still answered 401/403 with a fresh token: the OAuth client lacks a role or was revoked."""


class GenesysNotFound(GenesysError):
    """The conversation or participant does not exist (404)."""


class GenesysBadRequest(GenesysError):
    """Genesys rejected what we sent (400/409/413/422); retrying the same request will not help."""


class GenesysUnavailable(GenesysError):
    """Genesys could not be reached or answered 5xx after the retries: try again later."""

    retryable = True


class GenesysRateLimited(GenesysError):
    """429 with a Retry-After longer than we are willing to wait in a request (a daily limit, say), or our
    own pacing could not find budget within its bound. retry_after: seconds Genesys asked us to wait."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidAttributes(GenesysError):
    """Attributes that Genesys would refuse (a value that is not a string, say); nothing was sent."""


class GenesysTokenLockTimeout(GenesysUnavailable, GenesysTokenError):
    """Another process was fetching the token and did not finish within TOKEN_LOCK_TIMEOUT: try again.
    A GenesysUnavailable (retryable) and a GenesysTokenError at once, so either kind of handler catches it."""


_REMEMBERED = {cls.__name__: cls for cls in (GenesysTokenError, GenesysRateLimited, GenesysUnavailable)}


def error_to_memory(error: GenesysError, owner: str) -> dict[str, Any]:
    """A plain dict of a token fetch's failure (type, message, status, code, correlation id, retry_after),
    tagged with the lock `owner` whose fetch failed. The message carries no secret (the token service scrubs it)."""
    kind = next((name for name, cls in _REMEMBERED.items() if type(error) is cls), "GenesysTokenError")
    return {
        "owner": owner,
        "kind": kind,
        "message": str(error),
        "status": error.status,
        "code": error.code,
        "correlation_id": error.correlation_id,
        "retry_after": getattr(error, "retry_after", None),
    }


def error_from_memory(memory: dict[str, Any]) -> GenesysError:
    """The typed error a remembered failure stands for (GenesysTokenError when the kind is unknown)."""
    cls = _REMEMBERED.get(str(memory.get("kind")), GenesysTokenError)
    kwargs: dict[str, Any] = {
        "status": memory.get("status"),
        "code": memory.get("code"),
        "correlation_id": memory.get("correlation_id"),
    }
    if cls is GenesysRateLimited:
        kwargs["retry_after"] = memory.get("retry_after")
    return cls(str(memory.get("message") or "Genesys token request failed."), **kwargs)
