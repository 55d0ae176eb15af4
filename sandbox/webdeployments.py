"""api.<domain>, guest side: the message history a guest reads with its session's JWT, and placeholders for the
authenticated-messaging token routes (GENESYS.md, Authenticated messaging), which the sandbox does not simulate.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .http import genesys_error, json_response
from .routing import route
from .state import NotFound, State

# Messenger calls these from the page's origin with a bearer JWT: the browser asks first (preflight).
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


@route("/api/v2/webmessaging/messages", "GET OPTIONS", "guest")
def history(state: State, request: Request) -> Response:
    """GET /api/v2/webmessaging/messages?pageSize=&pageNumber= with `Authorization: Bearer <jwt from getJwt>`:
    the session's messages, newest first, in Genesys' entity-list paging (PureCloudPlatformClientV2
    WebMessagingApi get_webmessaging_messages; the paging fields as in its entity lists)."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    scheme, _, jwt = request.headers.get("Authorization", "").partition(" ")
    try:
        entities = state.history(jwt.strip() if scheme.lower() == "bearer" else "")
    except NotFound:
        return genesys_error(401, headers=CORS)
    size = max(1, min(_int(request.args.get("pageSize"), 25), 100))
    number = max(1, _int(request.args.get("pageNumber"), 1))
    page = entities[(number - 1) * size : number * size]
    body = {
        "entities": page,
        "pageSize": size,
        "pageNumber": number,
        "total": len(entities),
        "pageCount": (len(entities) + size - 1) // size,
    }
    return json_response(body, 200, CORS)


def _not_simulated(state: State, request: Request) -> Response:
    """Authenticated messaging's token exchange, refresh and revoke: placeholders (501)."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    return genesys_error(501, message="Authenticated messaging is not simulated by the sandbox.", headers=CORS)


TOKEN = "/api/v2/webdeployments/token"
exchange = route(f"{TOKEN}/oauthcodegrantjwtexchange", "POST OPTIONS", "guest")(_not_simulated)
refresh = route(f"{TOKEN}/refresh", "POST OPTIONS", "guest")(_not_simulated)
revoke = route(f"{TOKEN}/revoke", "DELETE OPTIONS", "guest")(_not_simulated)

ROUTES = [history, exchange, refresh, revoke]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
