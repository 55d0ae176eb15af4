"""Test hooks (DESIGN.md, Contract): /_stats, /_reset, /_faults, /_config, /_conversations, /_tokens/revoke."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from . import flow
from .faults import Fault
from .http import json_response
from .models import is_str_map
from .routing import route
from .state import State


@route("/_stats", "GET", "hook")
def stats(state: State, request: Request) -> Response:
    return json_response(state.snapshot_stats())


@route("/_reset", "POST", "hook")
def reset(state: State, request: Request) -> Response:
    state.reset()
    return json_response({"reset": True})


@route("/_faults", "GET POST DELETE", "hook")
def faults(state: State, request: Request) -> Response:
    if request.method == "DELETE":
        state.clear_faults()
    elif request.method == "POST":
        data = request.get_json(silent=True)
        if isinstance(data, dict) and data.get("clear") is True:
            state.clear_faults()
        else:
            specs = data.get("faults") if isinstance(data, dict) and "faults" in data else [data]
            try:
                added = [Fault.from_json(spec) for spec in (specs if isinstance(specs, list) else [specs])]
            except ValueError as error:
                return json_response({"error": str(error)}, 400)
            state.add_faults(added)
    return json_response({"faults": state.list_faults()})


@route("/_conversations", "GET POST", "hook")
def conversations(state: State, request: Request) -> Response:
    """GET: every conversation (or `?id=`). POST {"attributes": {...}, "text": "..."}: a guest's first message
    without a socket, for load tests and benchmarks that need many conversations -> {"id", "customerId"}."""
    if request.method == "GET":
        return json_response({"conversations": state.conversations_hook(request.args.get("id"))})
    data = request.get_json(silent=True)
    attributes = data.get("attributes", {}) if isinstance(data, dict) else None
    text = data.get("text", "Hello") if isinstance(data, dict) else None
    if not is_str_map(attributes) or not isinstance(text, str) or not text.strip():
        return json_response({"error": 'send {"attributes": {str: str}, "text": "..."}'}, 400)
    conversation_id, customer_id = state.create_guest_conversation(text, attributes)
    flow.start(state, conversation_id)
    return json_response({"id": conversation_id, "customerId": customer_id}, 201)


@route("/_config", "GET POST", "hook")
def config(state: State, request: Request) -> Response:
    if request.method == "POST":
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return json_response({"error": "a JSON object of settings is required"}, 400)
        try:
            state.update_config(data)
        except ValueError as error:
            return json_response({"error": str(error)}, 400)
    return json_response(state.config.public())


@route("/_tokens/revoke", "POST", "hook")
def revoke(state: State, request: Request) -> Response:
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not (data.get("all") is True or isinstance(data.get("access_token"), str)):
        return json_response({"error": 'send {"access_token": "..."} or {"all": true}'}, 400)
    return json_response({"revoked": state.revoke(data.get("access_token"), everything=data.get("all") is True)})


@route("/favicon.ico", "GET", "hook")
def favicon(state: State, request: Request) -> Response:
    return Response(status=204)


ROUTES = [stats, reset, faults, conversations, config, revoke, favicon]
