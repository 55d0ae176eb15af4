"""The Platform API calls the site makes, on one pooled `requests.Session` per process.

Production talks to Genesys, development and tests to the sandbox, through this same code: only the base URLs
differ (app_settings.API_BASE / LOGIN_BASE). Every call is paced (messaging.genesys.pacing: a slot of the token pool
with budget left, or GenesysRateLimited after a bounded wait), has connect and read timeouts, is retried on 429 and
502/503/504 by urllib3's Retry within a wait budget (messaging.genesys.http), retried once with a fresh token of the
same slot on 401, logged in one line, and ends in a dict or a typed error from messaging.genesys.errors.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import requests

from .. import metrics, processes
from ..app_settings import app_settings
from .errors import (
    GenesysAuthError,
    GenesysBadRequest,
    GenesysError,
    GenesysNotFound,
    GenesysRateLimited,
    GenesysUnavailable,
    InvalidAttributes,
)
from .http import PooledSession, correlation_id, json_object, log_call, retry_after_seconds, transport_failure
from .pool import TokenSource, get_token_pool

CONVERSATION_ROUTE = "/api/v2/conversations/messages/{conversationId}"
PARTICIPANT_ATTRIBUTES_ROUTE = "/api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes"
SECURE_ATTRIBUTES_ROUTE = "/api/v2/conversations/{conversationId}/secureattributes"
USER_ME_ROUTE = "/api/v2/users/me"


CLIENT_KEY = "genesys.client"
_pacing_wait: ContextVar[float | None] = ContextVar("genesys_pacing_wait", default=None)


@contextlib.contextmanager
def pacing_wait(seconds: float) -> Iterator[None]:
    """Within the block (this thread or task), an API call waits up to `seconds` for budget instead of
    GENESYS_PACING_MAX_WAIT: the push worker can afford to wait longer than the verify endpoint."""
    reset = _pacing_wait.set(float(seconds))
    try:
        yield
    finally:
        _pacing_wait.reset(reset)


def validate_attributes(attributes: Any) -> dict[str, str]:
    """Genesys participant attributes are str -> str. Anything else is refused here, before a request is made.
    The error names the offending keys and types, not the values (they may be personal data)."""
    if not isinstance(attributes, Mapping):
        raise InvalidAttributes(f"attributes must be a mapping of str to str, not {type(attributes).__name__}")
    problems = []
    for key, value in attributes.items():
        if not isinstance(key, str) or not key:
            problems.append(f"key {key!r} is not a non-empty string")
        elif not isinstance(value, str):
            problems.append(f"{key!r} is {type(value).__name__}")
    if problems:
        raise InvalidAttributes(
            "attribute values must be strings (send 'true'/'false', not booleans): " + "; ".join(problems)
        )
    return dict(attributes)


class GenesysClient:
    """A small Platform API client. Thread-safe; share one per process (`get_client()`).

    `tokens`: where each call gets its token (messaging.genesys.pool.TokenSource): the process-wide TokenPool by
    default (paced slots), a TokenPool of one's own (a benchmark's), or one provider as `SingleToken(provider)`.
    """

    def __init__(self, tokens: TokenSource | None = None) -> None:
        self.tokens: TokenSource = tokens if tokens is not None else get_token_pool()
        self._session = PooledSession(pool_maxsize=app_settings.HTTP_POOL_MAXSIZE)

    @property
    def session(self) -> requests.Session:
        return self._session.get()

    def close(self) -> None:
        self._session.close()

    # --- the calls ---
    def get_message_conversation(self, conversation_id: str) -> dict:
        """GET /api/v2/conversations/messages/{conversationId}: the conversation with its participants."""
        return self._call("GET", CONVERSATION_ROUTE, conversationId=conversation_id)

    def customer_participant(self, conversation: dict) -> dict:
        """The conversation's customer (purpose "customer"); the one still connected when there are several.
        Raises GenesysNotFound if there is none."""
        customers = [p for p in conversation.get("participants") or [] if p.get("purpose") == "customer"]
        if not customers:
            raise GenesysNotFound(f"conversation {conversation.get('id')!r} has no customer participant")
        active = [p for p in customers if not p.get("endTime") and p.get("state") not in {"disconnected", "terminated"}]
        return (active or customers)[-1]

    def patch_participant_attributes(
        self, conversation_id: str, participant_id: str, attributes: dict[str, str]
    ) -> dict:
        """PATCH .../participants/{participantId}/attributes with {"attributes": {...}}; merges, str -> str."""
        body = {"attributes": validate_attributes(attributes)}
        return self._call(
            "PATCH",
            PARTICIPANT_ATTRIBUTES_ROUTE,
            json=body,
            conversationId=conversation_id,
            participantId=participant_id,
        )

    def patch_secure_attributes(
        self, conversation_id: str, attributes: dict[str, str], version: int | None = None
    ) -> dict:
        """PATCH /api/v2/conversations/{conversationId}/secureattributes: merges attributes the guest never sees.

        Genesys does not use `version` on PATCH (sent only if given) and answers a plain string, not the object
        (PureCloudPlatformClientV2 ConversationsApi.md): the result is {"entities": <that string>}. Read the
        attributes and their version back with get_secure_attributes."""
        body: dict[str, Any] = {"attributes": validate_attributes(attributes)}
        if version is not None:
            body["version"] = int(version)
        return self._call("PATCH", SECURE_ATTRIBUTES_ROUTE, json=body, conversationId=conversation_id)

    def get_secure_attributes(self, conversation_id: str) -> dict:
        """GET /api/v2/conversations/{conversationId}/secureattributes -> {"attributes", "version"}."""
        return self._call("GET", SECURE_ATTRIBUTES_ROUTE, conversationId=conversation_id)

    def get_user_me(self, user_token: str) -> dict:
        """GET /api/v2/users/me with a Genesys user's own token (an agent's, from the user login): UserMe. Not
        paced and not retried on 401, the token is not ours. Raises GenesysAuthError for a wrong or expired token,
        GenesysBadRequest for a token without a user (client credentials)."""
        url = f"{app_settings.API_BASE}{USER_ME_ROUTE}"
        return _result(self._send("GET", USER_ME_ROUTE, url, user_token, None), "GET", USER_ME_ROUTE)

    # --- plumbing ---
    def _call(self, method: str, route: str, *, json: Any = None, **ids: str) -> dict:
        path = route.format(**{name: quote(str(value), safe="") for name, value in ids.items()})
        url = f"{app_settings.API_BASE}{path}"
        permit = self.tokens.acquire(_max_wait())
        tokens = self.tokens.service(permit.slot)
        token = tokens.get_token()
        response = self._send(method, path, url, token, json)
        self.tokens.observe(permit, response)
        if response.status_code == 401:
            # The slot's cached token was revoked or expired early: drop it (only if still cached) and retry once,
            # on the same slot, so the other slots' tokens are untouched.
            tokens.invalidate(token)
            token = tokens.get_token()
            permit = self.tokens.acquire(_max_wait(), slot=permit.slot)
            response = self._send(method, path, url, token, json)
            self.tokens.observe(permit, response)
            metrics.genesys_retry(route, 401)
            if response.status_code == 401:
                raise _error("Genesys refused a freshly fetched token", response, GenesysAuthError)
        return _result(response, method, path)

    def _send(self, method: str, path: str, url: str, token: str, json: Any) -> requests.Response:
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
                timeout=(app_settings.CONNECT_TIMEOUT, app_settings.READ_TIMEOUT),
                # Genesys' API answers, it does not redirect: a 3xx is an error to report, not to follow.
                allow_redirects=False,
            )
        except requests.RequestException as error:
            log_call(method, path, status=None, started=started, error=transport_failure(error))
            metrics.genesys_call(path, None, time.monotonic() - started)
            raise GenesysUnavailable(f"Genesys did not answer {method} {path}: {transport_failure(error)}") from None
        log_call(method, path, status=response.status_code, started=started, response=response)
        metrics.genesys_call(path, response.status_code, time.monotonic() - started, metrics.retry_statuses(response))
        return response


def _max_wait() -> float:
    wait = _pacing_wait.get()
    return app_settings.PACING_MAX_WAIT if wait is None else wait


def _error(what: str, response: requests.Response, cls: type[GenesysError], **extra: Any) -> GenesysError:
    body = json_object(response)
    code = body.get("code")
    message = str(body.get("message") or "")[:300]
    text = f"{what} (HTTP {response.status_code}{', ' + str(code) if code else ''})"
    if message:
        text += f": {message}"
    return cls(text, status=response.status_code, code=code, correlation_id=correlation_id(response), **extra)


def _result(response: requests.Response, method: str, path: str) -> dict:
    status = response.status_code
    where = f"{method} {path}"
    if 200 <= status < 300:
        if status == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise GenesysUnavailable(
                f"{where} answered HTTP {status} without JSON", status=status, correlation_id=correlation_id(response)
            ) from None
        return body if isinstance(body, dict) else {"entities": body}
    if status == 429:
        retry_after = retry_after_seconds(response)
        if retry_after is not None and retry_after > app_settings.MAX_RETRY_WAIT:
            what = f"{where} rate-limited by Genesys for {retry_after:g}s, longer than we wait in a call"
        else:
            what = f"{where} still rate-limited by Genesys after retries"
        raise _error(what, response, GenesysRateLimited, retry_after=retry_after)
    if status in {401, 403}:
        raise _error(f"{where} not allowed: check the OAuth client's roles", response, GenesysAuthError)
    if status == 404:
        raise _error(f"{where} not found", response, GenesysNotFound)
    if status >= 500:
        raise _error(f"{where} failed on Genesys' side after retries", response, GenesysUnavailable)
    raise _error(f"{where} was refused", response, GenesysBadRequest)


# --- the process-wide client ---
def get_client() -> GenesysClient:
    """The process-wide client, so its pooled Session (keep-alive connections) is reused by every call.
    A forked child (gunicorn --preload) builds its own (messaging.processes) instead of sharing the parent's
    sockets."""
    return processes.per_process(CLIENT_KEY, GenesysClient)
