"""login.<domain>: the OAuth client-credentials grant (GENESYS.md, Platform API, Token)."""

from __future__ import annotations

import base64
import binascii
import hmac

from werkzeug.wrappers import Request, Response

from .http import json_response
from .routing import route
from .state import State

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@route("/oauth/token", "POST", "token")
def token(state: State, request: Request) -> Response:
    """POST /oauth/token, Basic client credentials, form grant_type=client_credentials. Answers {access_token,
    token_type: "bearer", expires_in}; errors {error, description, error_description}."""
    client_id, client_secret = _basic_credentials(request)
    config = state.config
    if client_id is None or not (
        hmac.compare_digest(client_id.encode(), config.client_id.encode())
        and hmac.compare_digest((client_secret or "").encode(), config.client_secret.encode())
    ):
        description = "client not found" if client_id != config.client_id else "authentication failed"
        return _oauth_error(401, "invalid_client", description)
    grant_type = request.form.get("grant_type") if request.mimetype == "application/x-www-form-urlencoded" else None
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type or ''}")
    issued = state.issue_token(client_id)
    body = {"access_token": issued.access_token, "token_type": "bearer", "expires_in": config.token_ttl}
    return json_response(body, 200, NO_STORE)


ROUTES = [token]


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)


def _oauth_error(status: int, error: str, description: str) -> Response:
    body = {"error": error, "description": description, "error_description": description}
    return json_response(body, status, NO_STORE)
