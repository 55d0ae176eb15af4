"""The sandbox as a WSGI application (Werkzeug): Genesys' login, Platform API, Messenger script and Guest API on one
origin, plus the agent view and the test hooks.

Shapes follow ../shared/GENESYS.md; each handler names its Genesys source. Routes:
  POST /oauth/token                                                            login.<domain>
  GET  /api/v2/conversations/messages/{conversationId}                         api.<domain>
  PATCH /api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes
  GET|PUT|PATCH /api/v2/conversations/{conversationId}/secureattributes
  GET  /genesys-bootstrap/genesys.min.js, /genesys-bootstrap/messenger.css      apps.<domain>
  POST /webmessaging/v1/sessions|messages|clear, GET /webmessaging/v1/events|history   (Guest API over HTTP)
  GET  /agent/, POST /agent/api/conversations/{id}/reply|disconnect            (agent view)
  GET  /_stats, POST /_reset, GET|POST|DELETE /_faults, GET /_conversations, GET|POST /_config,
  POST /_tokens/revoke, GET /_demo                                             (test hooks)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from markupsafe import Markup
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import flow
from .config import Config
from .state import Fault, State, Token, custom_data_bytes, is_str_map

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_LONG_POLL_SECONDS = 20.0

# Genesys' error codes for the statuses it answers (ErrorBody.code).
ERROR_CODES = {
    400: ("bad.request", "The request could not be understood by the server due to malformed syntax."),
    401: ("bad.credentials", "Invalid login credentials."),
    403: ("missing.permissions", "You are not authorized to perform the requested action."),
    404: ("not.found", "The requested resource was not found."),
    405: ("method.not.allowed", "The requested method is not allowed for this resource."),
    409: ("conflict", "The request could not be completed due to a conflict."),
    415: ("unsupported.media.type", "Unsupported Media Type - Unsupported or incorrect media type."),
    429: ("too.many.requests.retry.after", "Rate limit exceeded the maximum. Retry the request later."),
    500: ("internal.server.error", "The server encountered an unexpected condition."),
    502: ("bad.gateway", "The server received an invalid response from an upstream server."),
    503: (
        "service.unavailable",
        "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
    ),
    504: ("gateway.timeout", "The request timed out."),
}

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


def _rules() -> list[Rule]:
    api = "/api/v2/conversations"
    return [
        Rule("/oauth/token", endpoint="token", methods=["POST"]),
        Rule(f"{api}/messages/<conversationId>", endpoint="api_get_conversation", methods=["GET"]),
        Rule(
            f"{api}/messages/<conversationId>/participants/<participantId>/attributes",
            endpoint="api_patch_attributes",
            methods=["PATCH"],
        ),
        Rule(
            f"{api}/<conversationId>/secureattributes",
            endpoint="api_secure_attributes",
            methods=["GET", "PUT", "PATCH"],
        ),
        Rule("/genesys-bootstrap/<name>", endpoint="bootstrap", methods=["GET"]),
        Rule("/webmessaging/v1/sessions", endpoint="guest_session", methods=["POST", "OPTIONS"]),
        Rule("/webmessaging/v1/messages", endpoint="guest_message", methods=["POST", "OPTIONS"]),
        Rule("/webmessaging/v1/events", endpoint="guest_events", methods=["GET", "OPTIONS"]),
        Rule("/webmessaging/v1/history", endpoint="guest_history", methods=["GET", "OPTIONS"]),
        Rule("/webmessaging/v1/clear", endpoint="guest_clear", methods=["POST", "OPTIONS"]),
        Rule("/agent/", endpoint="agent_page", methods=["GET"]),
        Rule("/agent/<name>", endpoint="agent_static", methods=["GET"]),
        Rule("/agent/api/conversations/<conversationId>/reply", endpoint="agent_reply", methods=["POST"]),
        Rule("/agent/api/conversations/<conversationId>/disconnect", endpoint="agent_disconnect", methods=["POST"]),
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/favicon.ico", endpoint="favicon", methods=["GET"]),
        Rule("/_stats", endpoint="hook_stats", methods=["GET"]),
        Rule("/_reset", endpoint="hook_reset", methods=["POST"]),
        Rule("/_faults", endpoint="hook_faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_conversations", endpoint="hook_conversations", methods=["GET", "POST"]),
        Rule("/_config", endpoint="hook_config", methods=["GET", "POST"]),
        Rule("/_tokens/revoke", endpoint="hook_revoke", methods=["POST"]),
        Rule("/_demo", endpoint="hook_demo", methods=["GET"]),
    ]


def route_template(rule: Rule) -> str:
    """`/api/v2/conversations/messages/<conversationId>` -> `/api/v2/conversations/messages/{conversationId}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def route_kind(path: str) -> str:
    if path == "/oauth/token":
        return "token"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/webmessaging/"):
        return "guest"
    if path.startswith("/_") or path == "/favicon.ico":
        return "hook"
    return "other"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=headers, content_type="application/json")


class ApiError(Exception):
    def __init__(self, status: int, message: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def genesys_error(
    status: int, correlation_id: str, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """Genesys' ErrorBody: {message, code, status, contextId, details, errors} (GENESYS.md, Platform API)."""
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
    return json_response(body, status, headers)


def guest_envelope(code: int, body: Any, cls: str = "string", kind: str = "response") -> Response:
    """Guest API frames ({type, class, code, body}) as the WebSocket carries them, each as an HTTP 200 answer: the
    frame's code is the result (4013 included), as on the socket, and the browser logs no failed request."""
    return json_response({"type": kind, "class": cls, "code": code, "body": body}, 200, CORS_HEADERS)


class SandboxApp:
    def __init__(self, config: Config | None = None) -> None:
        self.state = State(config or Config.from_env())
        self.url_map = Map(_rules(), strict_slashes=True)
        self.templates = {rule.endpoint: route_template(rule) for rule in self.url_map.iter_rules()}

    # --- WSGI plumbing ---
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        kind = route_kind(request.path)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as error:
            return self._unmatched(request, kind, error)
        except HTTPException as error:  # a redirect for a missing slash, e.g. /agent -> /agent/
            return error.get_response(request.environ)  # type: ignore[return-value]
        if request.method == "OPTIONS":
            return Response(status=204, headers=CORS_HEADERS)
        if _cross_site_write(request, kind, endpoint):
            # The hooks and the agent's actions change state: no other site open in the developer's browser may
            # trigger them (a simple cross-origin POST needs no preflight). curl and tests send no Origin.
            return json_response({"error": "cross-origin requests may not change the sandbox"}, 403)
        route_key = f"{request.method} {self.templates[endpoint]}"
        if kind != "hook":
            self.state.count_request(route_key)
        response = self._with_faults(request, endpoint, args, route_key, kind)
        if kind != "hook":
            self.state.count_response(response.status_code)
        return response

    def _unmatched(self, request: Request, kind: str, error: HTTPException) -> Response:
        status = error.code or 404
        if kind != "hook":
            self.state.count_request(f"{request.method} (unmatched)")
            self.state.count_response(status)
        if kind in {"api", "token"}:
            correlation_id = str(uuid.uuid4())
            return genesys_error(status, correlation_id, headers={"ININ-Correlation-Id": correlation_id})
        if kind == "guest":
            response = guest_envelope(status, error.description or "Not found")
            response.status_code = status  # no such route: a real HTTP error, unlike a frame's result
            return response
        return json_response({"error": error.name, "status": status}, status)

    def _with_faults(
        self, request: Request, endpoint: str, args: dict[str, str], route_key: str, kind: str
    ) -> Response:
        if kind in {"hook", "other"} and not endpoint.startswith(("agent_", "bootstrap")):
            return getattr(self, endpoint)(request, **args)
        decision = self.state.decide_fault(route_key, kind)
        if decision.latency_ms:
            time.sleep(decision.latency_ms / 1000)
        fault = decision.fault
        if fault is not None and fault.status is not None:
            return self._fault_response(fault, kind)
        if kind == "api":
            return self._api(request, endpoint, args)
        return getattr(self, endpoint)(request, **args)

    def _fault_response(self, fault: Fault, kind: str) -> Response:
        correlation_id = str(uuid.uuid4())
        headers = {"ININ-Correlation-Id": correlation_id}
        retry_after = fault.retry_after
        if fault.status == 429 and retry_after is None:
            retry_after = 1  # Genesys' 429 always carries Retry-After
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
        if kind == "guest":
            response = guest_envelope(fault.status or 500, "Injected fault")
            response.status_code = fault.status or 500  # a transport failure, not a frame
            response.headers.update(headers)
            return response
        return genesys_error(fault.status or 500, correlation_id, headers=headers)

    # --- login.<domain>: OAuth client credentials ---
    def token(self, request: Request) -> Response:
        """POST /oauth/token, Basic client credentials, form grant_type=client_credentials (GENESYS.md, Token).
        Answers {access_token, token_type: "bearer", expires_in}; errors {error, description, error_description}."""
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        client_id, client_secret = _basic_credentials(request)
        config = self.state.config
        if client_id is None or not (
            hmac.compare_digest(client_id.encode(), config.client_id.encode())
            and hmac.compare_digest((client_secret or "").encode(), config.client_secret.encode())
        ):
            description = "client not found" if client_id != config.client_id else "authentication failed"
            return _oauth_error(401, "invalid_client", description, headers)
        grant_type = request.form.get("grant_type") if request.mimetype == "application/x-www-form-urlencoded" else None
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type or ''}", headers)
        token = self.state.issue_token(client_id)
        body = {"access_token": token.access_token, "token_type": "bearer", "expires_in": config.token_ttl}
        return json_response(body, 200, headers)

    # --- api.<domain>: Platform API with bearer tokens, rate budget, correlation ids ---
    def _api(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        correlation_id = str(uuid.uuid4())
        headers = {"ININ-Correlation-Id": correlation_id}
        authorization = request.headers.get("Authorization", "")
        scheme, _, credential = authorization.partition(" ")
        token = self.state.check_token(credential.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            # Missing, unknown, expired and revoked tokens all answer bad.credentials.
            return genesys_error(401, correlation_id, headers=headers)
        budget = self.state.spend(token)
        headers.update(budget.headers())
        if not budget.allowed:
            # 429 carries Retry-After (seconds) and code too.many.requests.retry.after (GENESYS.md, Errors).
            headers["Retry-After"] = str(budget.reset_seconds)
            message = (
                f"Rate limit exceeded the maximum [{budget.limit}] requests within [60] seconds. "
                f"Retry the request in [{budget.reset_seconds}] seconds"
            )
            return genesys_error(429, correlation_id, message, headers)
        try:
            body, status = getattr(self, endpoint)(request, token, **args)
        except ApiError as error:
            headers.update(error.headers)
            return genesys_error(error.status, correlation_id, error.message, headers)
        return json_response(body, status, headers)

    def _conversation(self, conversation_id: str) -> Any:
        conversation = self.state.conversations.get(conversation_id)
        if conversation is None:
            raise ApiError(404, f"Conversation {conversation_id} was not found.")
        return conversation

    def _json_body(self, request: Request) -> Any:
        if request.mimetype != "application/json":
            raise ApiError(415)
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(400, "The request body is not valid JSON.")
        return data

    def api_get_conversation(self, request: Request, token: Token, conversationId: str) -> tuple[Any, int]:  # noqa: N803
        """GET /api/v2/conversations/messages/{conversationId} -> MessageConversation."""
        with self.state.lock:
            return self._conversation(conversationId).to_api(), 200

    def api_patch_attributes(
        self,
        request: Request,
        token: Token,
        conversationId: str,  # noqa: N803
        participantId: str,  # noqa: N803
    ) -> tuple[Any, int]:
        """PATCH .../participants/{participantId}/attributes with {"attributes": {str: str}} -> the same shape
        (ParticipantAttributes; GENESYS.md, Push attributes). Values that are not strings answer 400."""
        data = self._json_body(request)
        with self.state.lock:
            conversation = self._conversation(conversationId)
            participant = conversation.participant(participantId)
            if participant is None:
                raise ApiError(404, f"Participant {participantId} was not found in conversation {conversationId}.")
            if not isinstance(data, dict) or not is_str_map(data.get("attributes")):
                raise ApiError(400, "attributes must be an object of string values.")
            self.state.push_attributes(conversation, participant, data["attributes"])
            return {"attributes": dict(data["attributes"])}, 200

    def api_secure_attributes(self, request: Request, token: Token, conversationId: str) -> tuple[Any, int]:  # noqa: N803
        """GET/PUT/PATCH /api/v2/conversations/{conversationId}/secureattributes with {"attributes", "version"}
        (ConversationSecureAttributes). PUT replaces, PATCH merges; a stale version answers 409."""
        with self.state.lock:
            conversation = self._conversation(conversationId)
            if request.method != "GET":
                data = self._json_body(request)
                if not isinstance(data, dict) or not is_str_map(data.get("attributes")):
                    raise ApiError(400, "attributes must be an object of string values.")
                version = data.get("version")
                if version is not None and version != conversation.secure_version:
                    raise ApiError(409, f"Version {version} is not the current version {conversation.secure_version}.")
                if request.method == "PUT":
                    conversation.secure_attributes = dict(data["attributes"])
                else:
                    conversation.secure_attributes.update(data["attributes"])
                conversation.secure_version += 1
            return {"attributes": dict(conversation.secure_attributes), "version": conversation.secure_version}, 200

    # --- apps.<domain>: the Messenger stand-in ---
    def bootstrap(self, request: Request, name: str) -> Response:
        files = {"genesys.min.js": "text/javascript", "messenger.css": "text/css"}
        if name not in files:
            return json_response({"error": "Not Found", "status": 404}, 404)
        return _static_file(name, files[name], {"Access-Control-Allow-Origin": "*"})

    # --- Guest API over HTTP ---
    def _guest_json(self, request: Request, action: str) -> dict[str, Any] | Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or data.get("action") != action or not isinstance(data.get("token"), str):
            return guest_envelope(400, f"Expected a JSON body with action {action!r} and a token.")
        return data

    def guest_session(self, request: Request) -> Response:
        """configureSession -> SessionResponse (genesys-messenger-transport-mobile-sdk, SessionResponse)."""
        data = self._guest_json(request, "configureSession")
        if isinstance(data, Response):
            return data
        token, deployment_id = data["token"], data.get("deploymentId")
        if not isinstance(deployment_id, str) or not deployment_id or not 8 <= len(token) <= 200:
            return guest_envelope(400, "configureSession needs a deploymentId and a token of 8 to 200 characters.")
        session, new, read_only = self.state.configure_session(token, deployment_id)
        body = {
            "connected": True,
            "newSession": new,
            "readOnly": read_only,
            "maxCustomDataBytes": self.state.config.max_custom_data_bytes,
            "allowedMedia": {"inbound": {"fileTypes": [], "maxFileSizeKB": 0}},
            "blockedExtensions": [],
            "clearedExistingSession": False,
            "lastEventSeq": session.next_seq - 1,
        }
        return guest_envelope(200, body, cls="SessionResponse")

    def guest_message(self, request: Request) -> Response:
        """onMessage with message.channel.metadata.customAttributes (GENESYS.md: the top-level channel.metadata is
        ignored). Over maxCustomDataBytes answers 4013 CustomAttributeSizeTooLarge and records nothing."""
        data = self._guest_json(request, "onMessage")
        if isinstance(data, Response):
            return data
        with self.state.lock:
            session = self.state.sessions.get(data["token"])
        if session is None:
            return guest_envelope(404, "Session not found: send configureSession first.")
        message = data.get("message")
        if not isinstance(message, dict):
            return guest_envelope(400, "message must be an object.")
        join = message.get("type") == "Event" and _is_presence_join(message.get("events"))
        text = message.get("text")
        if not join and (message.get("type") != "Text" or not isinstance(text, str)):
            return guest_envelope(400, "message must be {type: 'Text', text: string} or a Presence Join event.")
        if not join and not text.strip():
            return guest_envelope(400, "Message text must not be empty.")
        channel = message.get("channel") if isinstance(message.get("channel"), dict) else {}
        metadata = channel.get("metadata") if isinstance(channel.get("metadata"), dict) else {}
        attributes = metadata.get("customAttributes", {})
        if not is_str_map(attributes):
            with self.state.lock:
                self.state.stats["guest_messages_rejected"] += 1
            return guest_envelope(400, "customAttributes must be an object of string values.")
        limit = self.state.config.max_custom_data_bytes
        if custom_data_bytes(attributes) > limit:
            with self.state.lock:
                self.state.stats["guest_messages_rejected"] += 1
            return guest_envelope(4013, f"Custom Attributes in channel metadata is larger than {limit} bytes")
        if join:
            conversation, created = self.state.guest_join(session, attributes)
            if created:
                flow.start(self.state, conversation.id)
            body = {"type": "Event", "direction": "Inbound", "events": message["events"]}
            return guest_envelope(200, body, cls="StructuredMessage", kind="message")
        conversation, structured, created = self.state.guest_message(session, text, attributes)
        if created:
            flow.start(self.state, conversation.id)
        return guest_envelope(200, structured, cls="StructuredMessage", kind="message")

    def guest_events(self, request: Request) -> Response:
        """Long-poll: frames after `after`, waiting up to `wait` seconds (at most 20) for one to arrive."""
        token = request.args.get("token", "")
        after = request.args.get("after", "0")
        wait = request.args.get("wait", "")
        try:
            after_seq = int(after)
            wait_seconds = min(float(wait) if wait else self.state.config.long_poll_seconds, MAX_LONG_POLL_SECONDS)
        except ValueError:
            return guest_envelope(400, "after must be an integer and wait a number of seconds.")
        deadline = time.monotonic() + max(0.0, wait_seconds)
        with self.state.changed:
            while True:
                session = self.state.sessions.get(token)
                if session is None:
                    return guest_envelope(404, "Session not found: send configureSession first.")
                events = [e for e in session.events if e["seq"] > after_seq]
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    break
                self.state.changed.wait(remaining)
            last = session.next_seq - 1
        return guest_envelope(200, {"events": events, "last": last}, cls="EventsResponse")

    def guest_history(self, request: Request) -> Response:
        """The current conversation's messages, newest first, as Genesys' history API pages them."""
        with self.state.lock:
            session = self.state.sessions.get(request.args.get("token", ""))
            if session is None:
                return guest_envelope(404, "Session not found: send configureSession first.")
            conversation = self.state.conversations.get(session.conversation_id or "")
            entities = list(reversed(conversation.messages)) if conversation else []
            state = conversation.state if conversation else "none"
        body = {"entities": entities, "total": len(entities), "conversationState": state}
        return guest_envelope(200, body, cls="MessageHistory")

    def guest_clear(self, request: Request) -> Response:
        """clearConversation: ends the conversation (the agent sees it cleared) and forgets the session."""
        data = self._guest_json(request, "clearConversation")
        if isinstance(data, Response):
            return data
        self.state.clear_session(data["token"])
        return guest_envelope(200, {}, cls="SessionClearedEvent", kind="message")

    # --- agent view ---
    def agent_page(self, request: Request) -> Response:
        return _static_file("agent.html", "text/html; charset=utf-8", _page_headers())

    def agent_static(self, request: Request, name: str) -> Response:
        files = {"agent.js": "text/javascript", "agent.css": "text/css"}
        if name not in files:
            return json_response({"error": "Not Found", "status": 404}, 404)
        return _static_file(name, files[name])

    def _agent_conversation(self, conversation_id: str) -> Any:
        return self.state.conversations.get(conversation_id)

    def agent_reply(self, request: Request, conversationId: str) -> Response:  # noqa: N803
        data = request.get_json(silent=True)
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            return json_response({"error": "text is required"}, 400)
        with self.state.lock:
            conversation = self._agent_conversation(conversationId)
            if conversation is None:
                return json_response({"error": "conversation not found"}, 404)
            if conversation.state == "disconnected":
                return json_response({"error": "conversation has ended"}, 409)
            message = self.state.agent_reply(conversation, text)
        return json_response(message, 201)

    def agent_disconnect(self, request: Request, conversationId: str) -> Response:  # noqa: N803
        with self.state.lock:
            conversation = self._agent_conversation(conversationId)
            if conversation is None:
                return json_response({"error": "conversation not found"}, 404)
            self.state.end_conversation(conversation, by="agent")
            return json_response(conversation.to_hook())

    def index(self, request: Request) -> Response:
        links = ["/agent/", "/_demo", "/_stats", "/_conversations", "/_config", "/_faults"]
        items = Markup("").join(Markup('<li><a href="{0}">{0}</a></li>').format(link) for link in links)
        html = Markup("<!doctype html><title>Genesys sandbox</title><h1>Genesys sandbox</h1><ul>{}</ul>").format(items)
        return Response(str(html), content_type="text/html; charset=utf-8", headers=_page_headers())

    def favicon(self, request: Request) -> Response:
        return Response(status=204)

    # --- test hooks ---
    def hook_stats(self, request: Request) -> Response:
        return json_response(self.state.snapshot_stats())

    def hook_reset(self, request: Request) -> Response:
        self.state.reset()
        return json_response({"reset": True})

    def hook_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.state.clear_faults()
        elif request.method == "POST":
            data = request.get_json(silent=True)
            if isinstance(data, dict) and data.get("clear") is True:
                self.state.clear_faults()
            else:
                specs = data.get("faults") if isinstance(data, dict) and "faults" in data else [data]
                try:
                    faults = [Fault.from_json(spec) for spec in (specs if isinstance(specs, list) else [specs])]
                except ValueError as error:
                    return json_response({"error": str(error)}, 400)
                self.state.add_faults(faults)
        with self.state.lock:
            return json_response({"faults": [f.public() for f in self.state.faults]})

    def hook_conversations(self, request: Request) -> Response:
        if request.method == "POST":
            return self._hook_create_conversation(request)
        wanted = request.args.get("id")
        with self.state.lock:
            conversations = [c.to_hook() for c in self.state.conversations.values() if wanted is None or c.id == wanted]
        return json_response({"conversations": conversations})

    def _hook_create_conversation(self, request: Request) -> Response:
        """A guest's first message without the guest round trips: {"attributes": {...}, "text": "..."} -> the new
        conversation's ids. For load tests and benchmarks that play the flow themselves (flow_enabled false) and
        need many conversations without scanning /_conversations for each."""
        data = request.get_json(silent=True)
        attributes = data.get("attributes", {}) if isinstance(data, dict) else None
        text = data.get("text", "Hello") if isinstance(data, dict) else None
        if not is_str_map(attributes) or not isinstance(text, str) or not text.strip():
            return json_response({"error": 'send {"attributes": {str: str}, "text": "..."}'}, 400)
        session, _, _ = self.state.configure_session(uuid.uuid4().hex, self.state.config.deployment_id)
        conversation, _, created = self.state.guest_message(session, text, attributes)
        if created:
            flow.start(self.state, conversation.id)
        return json_response({"id": conversation.id, "customerId": conversation.customer.id}, 201)

    def hook_config(self, request: Request) -> Response:
        if request.method == "POST":
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                return json_response({"error": "a JSON object of settings is required"}, 400)
            try:
                with self.state.lock:
                    self.state.config = self.state.config.updated(data)
            except ValueError as error:
                return json_response({"error": str(error)}, 400)
        return json_response(self.state.config.public())

    def hook_revoke(self, request: Request) -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not (data.get("all") is True or isinstance(data.get("access_token"), str)):
            return json_response({"error": 'send {"access_token": "..."} or {"all": true}'}, 400)
        revoked = self.state.revoke(data.get("access_token"), everything=data.get("all") is True)
        return json_response({"revoked": revoked})

    def hook_demo(self, request: Request) -> Response:
        """A page with the official deployment snippet pointing at this sandbox; every query parameter becomes a
        custom attribute (set in a Database.ready subscription, as the site does)."""
        nonce = secrets.token_urlsafe(16)
        base = request.host_url.rstrip("/")
        attributes = {key: value for key, value in request.args.items(multi=False)}
        page = render_demo_page(base, self.state.config.deployment_id, attributes, nonce)
        headers = {
            "Content-Security-Policy": (
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
            )
        }
        return Response(page, content_type="text/html; charset=utf-8", headers=headers)


def render_demo_page(base_url: str, deployment_id: str, attributes: dict[str, str], nonce: str) -> str:
    """The official snippet (developer-center-blog 2021-02-20-Introduction-to-web-messaging), then attributes."""
    config = _script_json({"environment": "sandbox", "deploymentId": deployment_id})
    return str(
        Markup(
            """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox Messenger demo</title>
<script nonce="{nonce}">
(function (g, e, n, es, ys) {{
  g['_genesysJs'] = e; g[e] = g[e] || function () {{ (g[e].q = g[e].q || []).push(arguments) }};
  g[e].t = 1 * new Date(); g[e].c = es; ys = document.createElement('script'); ys.async = 1; ys.src = n;
  ys.charset = 'utf-8'; document.head.appendChild(ys);
}})(window, 'Genesys', {script_url}, {config});
</script>
<script type="application/json" id="demo-attributes">{attributes}</script>
<script nonce="{nonce}">
Genesys("subscribe", "Database.ready", function () {{
  var attrs = JSON.parse(document.getElementById("demo-attributes").textContent);
  Genesys("command", "Database.set", {{ messaging: {{ customAttributes: attrs }} }});
}});
</script>
</head><body><main><h1>Sandbox Messenger demo</h1>
<p>Query parameters become custom attributes, e.g. <code>?memberToken=abc&amp;isAuthenticated=true</code>.</p>
</main></body></html>"""
        ).format(
            nonce=nonce,
            script_url=_script_json(f"{base_url}/genesys-bootstrap/genesys.min.js"),
            config=config,
            attributes=_script_json(attributes),
        )
    )


def _script_json(value: Any) -> Markup:
    """JSON safe inside <script>: no way to close the element or open a comment."""
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script context


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _cross_site_write(request: Request, kind: str, endpoint: str) -> bool:
    if request.method in {"GET", "HEAD"} or not (kind == "hook" or endpoint.startswith("agent_")):
        return False
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"


def _is_presence_join(events: Any) -> bool:
    return (
        isinstance(events, list)
        and len(events) == 1
        and isinstance(events[0], dict)
        and events[0].get("eventType") == "Presence"
        and isinstance(events[0].get("presence"), dict)
        and events[0]["presence"].get("type") == "Join"
    )


def _static_file(name: str, content_type: str, headers: dict[str, str] | None = None) -> Response:
    body = (STATIC_DIR / name).read_bytes()
    response = Response(body, content_type=content_type, headers=headers)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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


def _oauth_error(status: int, error: str, description: str, headers: dict[str, str]) -> Response:
    body = {"error": error, "description": description, "error_description": description}
    return json_response(body, status, headers)
