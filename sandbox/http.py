"""HTTP helpers shared by the sandbox's surfaces: JSON answers, Genesys' error body, static files, page headers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# Genesys' error codes and messages for the statuses it answers (ErrorBody.code, ErrorBody.message). 404 and 429
# read as Genesys writes them (GENESYS.md, Errors); the others are the sandbox's wording.
ERROR_CODES = {
    400: ("bad.request", "The request could not be understood by the server due to malformed syntax."),
    401: ("bad.credentials", "Invalid login credentials."),
    403: ("missing.permissions", "You are not authorized to perform the requested action."),
    404: ("not.found", "The requested operation failed with status 404"),
    405: ("method.not.allowed", "The requested method is not allowed for this resource."),
    409: ("conflict", "The request could not be completed due to a conflict."),
    415: ("unsupported.media.type", "Unsupported Media Type - Unsupported or incorrect media type."),
    429: ("too.many.requests.retry.after", "Rate limit exceeded the maximum. Retry the request in [1] seconds"),
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    501: ("not.implemented", "The sandbox does not implement this operation."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: (
        "service.unavailable",
        "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
    ),
    504: ("gateway.timeout", "The request timed out."),
}


def rate_limit_message(retry_after: int) -> str:
    """Genesys' normalized 429 message (developer forum "Normalized Platform API 429 responses")."""
    return f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


class ApiError(Exception):
    """Raised by a Platform API handler: answered as Genesys' ErrorBody with this status."""

    def __init__(self, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def genesys_error(
    status: int, correlation_id: str | None = None, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """Genesys' ErrorBody: {message, code, status, contextId, details, errors} (GENESYS.md, Platform API), with
    the ININ-Correlation-Id header naming the same id."""
    correlation_id = correlation_id or str(uuid.uuid4())
    code, default_message = ERROR_CODES.get(status, ("error", "The request failed."))
    body = {
        "message": message or default_message,
        "code": code,
        "status": status,
        "messageParams": {},
        "contextId": correlation_id,
        "details": [],
        "errors": [],
    }
    return json_response(body, status, {"ININ-Correlation-Id": correlation_id, **(headers or {})})


def static_file(name: str, content_type: str, headers: dict[str, str] | None = None) -> Response:
    body = (STATIC_DIR / name).read_bytes()
    response = Response(body, content_type=content_type, headers=headers)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def page_headers(script_src: str = "'self'") -> dict[str, str]:
    """A strict policy for the sandbox's own pages."""
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src {script_src}; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
