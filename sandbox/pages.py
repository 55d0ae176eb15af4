"""The sandbox's own pages: an index of links, and `/_demo`, the official snippet pointing at this sandbox
(templates/demo.html) with every query parameter as a custom attribute."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

from markupsafe import Markup
from werkzeug.wrappers import Request, Response

from .http import TEMPLATES_DIR, page_headers
from .routing import route
from .state import State

LINKS = ["/agent/", "/_demo", "/_stats", "/_conversations", "/_config", "/_faults"]


@route("/", "GET", "page")
def index(state: State, request: Request) -> Response:
    items = Markup("").join(Markup('<li><a href="{0}">{0}</a></li>').format(link) for link in LINKS)
    html = Markup("<!doctype html><title>Genesys sandbox</title><h1>Genesys sandbox</h1><ul>{}</ul>").format(items)
    return Response(str(html), content_type="text/html; charset=utf-8", headers=page_headers())


@route("/_demo", "GET", "hook")
def demo(state: State, request: Request) -> Response:
    nonce = secrets.token_urlsafe(16)
    base = request.host_url.rstrip("/")
    attributes = {key: value for key, value in request.args.items(multi=False)}
    page = render_demo_page(base, state.config.deployment_id, attributes, nonce)
    headers = page_headers(f"'self' 'nonce-{nonce}'")
    # Messenger runs in a frame of this origin (its socket too, from there).
    headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
        "default-src 'self';", "default-src 'self'; frame-src 'self';"
    )
    return Response(page, content_type="text/html; charset=utf-8", headers=headers)


def render_demo_page(base_url: str, deployment_id: str, attributes: dict[str, str], nonce: str) -> str:
    """The official snippet (developer-center-blog 2021-02-20-Introduction-to-web-messaging), then attributes."""
    template = string.Template((TEMPLATES_DIR / "demo.html").read_text())
    return template.substitute(
        nonce=Markup.escape(nonce),
        script_url=script_json(f"{base_url}/genesys-bootstrap/genesys.min.js"),
        config=script_json({"environment": "sandbox", "deploymentId": deployment_id}),
        attributes=script_json(attributes),
    )


def script_json(value: Any) -> str:
    """JSON safe inside <script>: no way to close the element or open a comment."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


ROUTES = [index, demo]
