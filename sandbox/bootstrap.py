"""apps.<domain>: the Messenger stand-in's script and stylesheet, loaded by the official deployment snippet."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .http import json_response, static_file
from .routing import route
from .state import State

FILES = {"genesys.min.js": "text/javascript", "messenger.css": "text/css"}


@route("/genesys-bootstrap/<name>", "GET", "other")
def bootstrap(state: State, request: Request, name: str) -> Response:
    if name not in FILES:
        return json_response({"error": "Not Found", "status": 404}, 404)
    return static_file(name, FILES[name], {"Access-Control-Allow-Origin": "*"})


ROUTES = [bootstrap]
