"""api.<domain>: the Platform API routes the product calls, with bearer tokens, rate buckets and Genesys' errors
(GENESYS.md, Platform API)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from .agent_users import AGENTS_BY_ID
from .http import ApiError, genesys_error, json_response, rate_limit_message
from .models import is_str_map
from .routing import Route
from .state import Conflict, NotFound, State

API = "/api/v2/conversations"
ApiHandler = Callable[..., tuple[Any, int]]  # (state, request, **url_args) -> (body, status)


def api_route(rule: str, methods: str) -> Callable[[ApiHandler], Route]:
    """A Platform API route: bearer token, then the rate buckets, then the handler; its answer (or ApiError,
    NotFound, Conflict) as JSON with ININ-Correlation-Id and the inin-ratelimit-* headers."""

    def wrap(handler: ApiHandler) -> Route:
        @functools.wraps(handler)
        def serve(state: State, request: Request, **args: str) -> Response:
            correlation_id = str(uuid.uuid4())
            scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
            token = state.check_token(credential.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                # Missing, unknown, expired and revoked tokens all answer bad.credentials.
                return genesys_error(401, correlation_id)
            request.environ["sandbox.token"] = token  # for handlers that answer about the token's user
            decision = state.spend(token, f"{request.method} {served.template}")
            headers = decision.headers()
            if not decision.allowed:
                headers["Retry-After"] = str(decision.reset_seconds)
                return genesys_error(429, correlation_id, rate_limit_message(decision.reset_seconds), headers)
            try:
                body, status = handler(state, request, **args)
            except ApiError as error:
                return genesys_error(error.status, correlation_id, error.message, {**headers, **error.headers})
            except NotFound:
                return genesys_error(404, correlation_id, headers=headers)
            except Conflict as error:
                return genesys_error(409, correlation_id, f"The request conflicts with the current state: {error}.")
            return json_response(body, status, {"ININ-Correlation-Id": correlation_id, **headers})

        served = Route(rule, tuple(methods.split()), serve, "api")
        return served

    return wrap


def json_body(request: Request) -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415)
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The request body is not valid JSON.")
    return data


def str_attributes(data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not is_str_map(data.get("attributes")):
        raise ApiError(400, "attributes must be an object of string values.")
    return dict(data["attributes"])


@api_route(f"{API}/messages/<conversationId>", "GET")
def get_conversation(state: State, request: Request, conversationId: str) -> tuple[Any, int]:  # noqa: N803
    """GET /api/v2/conversations/messages/{conversationId} -> MessageConversation."""
    return state.conversation_api(conversationId), 200


@api_route(f"{API}/messages/<conversationId>/participants/<participantId>/attributes", "PATCH")
def patch_attributes(state: State, request: Request, conversationId: str, participantId: str) -> tuple[Any, int]:  # noqa: N803
    """PATCH .../participants/{participantId}/attributes with {"attributes": {str: str}} -> the same shape
    (ParticipantAttributes). Values that are not strings answer 400."""
    data = json_body(request)
    state.conversation_api(conversationId)  # 404 for an unknown conversation before looking at the body
    attributes = str_attributes(data)
    state.push_attributes(conversationId, participantId, attributes)
    return {"attributes": attributes}, 200


@api_route(f"{API}/<conversationId>/secureattributes", "GET")
def get_secure_attributes(state: State, request: Request, conversationId: str) -> tuple[Any, int]:  # noqa: N803
    """GET -> ConversationSecureAttributes {attributes, version}."""
    return state.secure_attributes(conversationId), 200


@api_route(f"{API}/<conversationId>/secureattributes", "PUT PATCH")
def write_secure_attributes(state: State, request: Request, conversationId: str) -> tuple[Any, int]:  # noqa: N803
    """PUT replaces, PATCH merges; both answer a plain string, not the object, and PATCH does not use `version`
    (PureCloudPlatformClientV2 ConversationSecureAttributes.md, ConversationsApi.md). That PUT refuses a stale
    `version` with 409, and the string's wording, are unverified."""
    data = json_body(request)
    state.secure_attributes(conversationId)  # 404 first
    attributes = str_attributes(data)
    version = data.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise ApiError(400, "version must be an integer.")
    state.write_secure_attributes(conversationId, attributes, replace=request.method == "PUT", version=version)
    return "Secure attributes updated", 200


@api_route("/api/v2/users/me", "GET")
def users_me(state: State, request: Request) -> tuple[Any, int]:
    """GET /api/v2/users/me -> UserMe of the token's user. A client-credentials token has no user: 400 "This
    request requires a user context. Client credentials cannot be used for requests to this resource." (as a
    real org answers, measured by a third party; the error's `code` is the sandbox's)."""
    user = AGENTS_BY_ID.get(request.environ["sandbox.token"].user_id or "")
    if user is None:
        raise ApiError(
            400,
            "This request requires a user context. Client credentials cannot be used for requests to this resource.",
        )
    return user.to_user_me(), 200


ROUTES = [users_me, get_conversation, patch_attributes, get_secure_attributes, write_secure_attributes]
