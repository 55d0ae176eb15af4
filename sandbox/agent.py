"""The agent view (`/agent/`): a page and its files, and the agent's two actions, reply and end."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .http import json_response, page_headers, static_file
from .routing import route
from .state import Conflict, NotFound, State

AGENT_FILES = {"agent.js": "text/javascript", "agent.css": "text/css"}


@route("/agent/", "GET", "other")
def page(state: State, request: Request) -> Response:
    return static_file("agent.html", "text/html; charset=utf-8", page_headers())


@route("/agent/<name>", "GET", "other")
def files(state: State, request: Request, name: str) -> Response:
    if name not in AGENT_FILES:
        return json_response({"error": "Not Found", "status": 404}, 404)
    return static_file(name, AGENT_FILES[name])


@route("/agent/api/conversations/<conversationId>/reply", "POST", "other")
def reply(state: State, request: Request, conversationId: str) -> Response:  # noqa: N803
    data = request.get_json(silent=True)
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        return json_response({"error": "text is required"}, 400)
    try:
        return json_response(state.agent_reply(conversationId, text), 201)
    except NotFound:
        return json_response({"error": "conversation not found"}, 404)
    except Conflict:
        return json_response({"error": "conversation has ended"}, 409)


@route("/agent/api/conversations/<conversationId>/disconnect", "POST", "other")
def disconnect(state: State, request: Request, conversationId: str) -> Response:  # noqa: N803
    try:
        return json_response(state.agent_disconnect(conversationId))
    except NotFound:
        return json_response({"error": "conversation not found"}, 404)


ROUTES = [page, files, reply, disconnect]
