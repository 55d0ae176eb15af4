"""apps.<domain>: the Messenger stand-in's files. The official snippet loads genesys.min.js (the bootstrap), which
adds the iframe messenger.html (Messenger itself: messenger-frame.js and messenger.css) from this origin."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .http import json_response, static_file
from .routing import route
from .state import State

FILES = {
    "genesys.min.js": "text/javascript",
    "messenger-frame.js": "text/javascript",
    "messenger.css": "text/css",
    "messenger.html": "text/html; charset=utf-8",
}


@route("/genesys-bootstrap/<name>", "GET", "other")
def bootstrap(state: State, request: Request, name: str) -> Response:
    if name not in FILES:
        return json_response({"error": "Not Found", "status": 404}, 404)
    if name == "messenger.html":
        return static_file(name, FILES[name], frame_headers(state, request))
    return static_file(name, FILES[name], {"Access-Control-Allow-Origin": "*"})


def frame_headers(state: State, request: Request) -> dict[str, str]:
    """Messenger's frame: a strict policy of its own, and only the deployment's allowed domains may embed it
    (frame-ancestors; every page when the list is empty, as a deployment that allows all domains)."""
    allowed = state.config.allowed_domains
    ancestors = " ".join(allowed) if allowed else "*"
    socket = f"ws://{request.host}"
    policy = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' {socket}; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; base-uri 'none'; object-src 'none'; form-action 'none'"
    )
    return {"Content-Security-Policy": policy, "Referrer-Policy": "no-referrer"}


ROUTES = [bootstrap]
