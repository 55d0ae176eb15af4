"""api.<domain>, guest side: the message history a guest reads with its session's JWT, and authenticated
messaging's token routes (GENESYS.md, Authenticated messaging): the code exchange, refresh and revoke.
"""

from __future__ import annotations

import contextlib

from werkzeug.wrappers import Request, Response

from .http import genesys_error, json_response
from .oidc_relying_party import ExchangeRefused, exchange_code, refresh_at_provider
from .routing import route
from .state import AuthRefused, NotFound, State

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


TOKEN = "/api/v2/webdeployments/token"


@route("/webdeployments/v1/deployments/<deployment_id>/config.json", "GET OPTIONS", "guest")
def deployment_config(state: State, request: Request, deployment_id: str) -> Response:
    """What Messenger reads of its deployment, public and without credentials (api-cdn.<domain>; transport SDK
    Urls.kt, DeploymentConfig.kt): `auth.enabled`, `auth.allowSessionUpgrade`,
    `messenger.apps.conversations.conversationClear.enabled` and `conversationDisconnect.enabled`, in
    DeploymentConfig's shape. `allowedDomains` is the sandbox's addition (the deployment's setting; where a real
    org publishes it is unverified). An id that is none of the org's deployments 404."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    config = state.config
    deployment = config.deployment(deployment_id)
    if deployment is None:
        return genesys_error(404, headers=CORS)
    host = request.host_url.rstrip("/")
    conversations = {
        "messagingEndpoint": host.replace("http", "ws", 1) + "/v1",
        "conversationClear": {"enabled": config.conversation_clear_enabled},
        "conversationDisconnect": {"enabled": config.conversation_disconnect_enabled, "type": "Send"},
        "autoStart": {"enabled": False},
    }
    body = {
        "id": deployment.id,
        "version": "1",
        "languages": ["en-us"],
        "defaultLanguage": "en-us",
        "apiEndpoint": host,
        "messenger": {"enabled": True, "apps": {"conversations": conversations}},
        "journeyEvents": {"enabled": False},
        "status": "Active",
        "auth": {"enabled": deployment.auth_enabled, "allowSessionUpgrade": deployment.allow_session_upgrade},
        "allowedDomains": list(config.allowed_domains),
    }
    return json_response(body, 200, CORS)


@route(f"{TOKEN}/oauthcodegrantjwtexchange", "POST OPTIONS", "guest")
def exchange(state: State, request: Request) -> Response:
    """`{"deploymentId", "oauth": {"code", "redirectUri", "nonce", "maxAge"?, "codeVerifier"?, "iss"?}}` ->
    `{"jwt", "refreshToken"}` once the provider took the code and its ID token checked out; else 400 ErrorBody
    with the reason (a forged, replayed or expired code, a wrong nonce, audience or issuer, an unknown key)."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    data = request.get_json(silent=True)
    oauth = data.get("oauth") if isinstance(data, dict) else None
    if not isinstance(oauth, dict) or not isinstance(data.get("deploymentId"), str):
        return genesys_error(400, message="Expected {deploymentId, oauth: {code, redirectUri, nonce}}.", headers=CORS)
    deployment = state.config.deployment(data["deploymentId"])
    if deployment is None or not deployment.auth_enabled:
        return genesys_error(400, message="Authentication is not enabled for this deployment.", headers=CORS)
    try:
        exchanged = exchange_code(state.config, oauth)
    except ExchangeRefused as refused:
        state.refuse_auth(str(refused))
        return genesys_error(400, message=f"OAuth code exchange failed: {refused}", headers=CORS)
    grant = state.grant_auth(
        exchanged.claims, provider_refresh_token=exchanged.refresh_token, provider_ttl=exchanged.expires_in
    )
    return json_response(grant, 200, CORS)


@route(f"{TOKEN}/refresh", "POST OPTIONS", "guest")
def refresh(state: State, request: Request) -> Response:
    """`{"refreshToken", "deploymentId"}` -> `{"jwt"}`, once the provider refreshed its own token
    (oidc_relying_party: Genesys checks the member's session with the provider); a revoked or unknown refresh
    token 401, and so is one the provider refused, whose grant then ends."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    data = request.get_json(silent=True)
    token = data.get("refreshToken") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        return genesys_error(400, message="Expected {refreshToken, deploymentId}.", headers=CORS)
    try:
        # The provider is called outside the state's lock: a slow provider never stalls other sessions.
        renewed = refresh_at_provider(state.config, state.provider_refresh_token(token))
    except AuthRefused:
        return genesys_error(401, message="The refresh token is not valid.", headers=CORS)
    except ExchangeRefused as refused:
        with contextlib.suppress(AuthRefused):  # revoked meanwhile: refused all the same
            state.end_auth(token, str(refused))
        return genesys_error(401, message="The refresh token is not valid.", headers=CORS)
    try:
        answer = state.refresh_auth(
            token, provider_refresh_token=renewed.refresh_token, provider_ttl=renewed.expires_in
        )
    except AuthRefused:
        return genesys_error(401, message="The refresh token is not valid.", headers=CORS)
    return json_response(answer, 200, CORS)


@route(f"{TOKEN}/revoke", "DELETE OPTIONS", "guest")
def revoke(state: State, request: Request) -> Response:
    """`Authorization: bearer <jwt>` -> 204; the JWT and its refresh token stop working (counted in /_stats
    `auth_revokes`). An unknown or already revoked JWT 401. The status of Genesys' answer is unverified."""
    if request.method == "OPTIONS":
        return Response(status=204, headers=CORS)
    scheme, _, jwt = request.headers.get("Authorization", "").partition(" ")
    try:
        state.revoke_auth(jwt.strip() if scheme.lower() == "bearer" else "")
    except AuthRefused:
        return genesys_error(401, headers=CORS)
    return Response(status=204, headers=CORS)


ROUTES = [history, deployment_config, exchange, refresh, revoke]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
