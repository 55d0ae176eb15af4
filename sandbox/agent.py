"""The agent view (`/agent/`), as Genesys' agent desktop: conversations, and beside the selected one the
Interaction Widget integration's page (the site's member card) in an iframe, its URL template filled in. The
sandbox's agents sign in at `/agent/login`; replies are then the signed-in agent's (the participant's `user`).

A reply without a desktop session is agent1's: the shortcut tests and scripts use, as `/_conversations` is."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from markupsafe import Markup
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .agent_users import AGENT_SESSION_COOKIE, AGENTS, check_password
from .http import TEMPLATES_DIR, json_response, page_headers, static_file
from .oauth import render_login
from .routing import route
from .state import Conflict, NotFound, State

AGENT_FILES = {"agent.js": "text/javascript", "agent.css": "text/css"}
# The iframe's sandbox attribute Genesys gives an Interaction Widget (GENESYS.md, Interaction widget).
WIDGET_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-modals allow-popups"


@route("/agent/", "GET", "other")
def page(state: State, request: Request) -> Response:
    agent = state.agent_of_session(request.cookies.get(AGENT_SESSION_COOKIE))
    widget_url = state.config.interaction_widget_url if agent is not None else ""
    if agent is not None:
        account = Markup(
            '<form method="post" action="/agent/logout" class="ag-account">Signed in as '
            '<strong data-testid="agent-name">{}</strong> <button type="submit">Sign out</button></form>'
        ).format(agent.name)
        widget = Markup('<iframe id="ag-widget" title="Member card" sandbox="{}"></iframe>').format(WIDGET_SANDBOX)
    else:
        account = Markup('<p class="ag-account"><a href="/agent/login">Sign in as an agent</a></p>')
        widget = Markup('<p class="ag-muted">Sign in as an agent to see the member card.</p>')
    html = string.Template((TEMPLATES_DIR / "agent.html").read_text()).substitute(
        widget_url=Markup.escape(widget_url),
        agent_name=Markup.escape(agent.name if agent else ""),
        account=account,
        widget=widget,
    )
    headers = page_headers()
    widget_origin = _origin(widget_url)
    if widget_origin:
        headers["Content-Security-Policy"] += f"; frame-src {widget_origin}"
    return Response(html, content_type="text/html; charset=utf-8", headers=headers)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@route("/agent/login", "GET POST", "other")
def login(state: State, request: Request) -> Response:
    error = ""
    if request.method == "POST":
        agent = check_password(request.form.get("username", ""), request.form.get("password", ""))
        if agent is not None:
            response = redirect("/agent/", 303)
            response.set_cookie(
                AGENT_SESSION_COOKIE, state.sign_in_agent(agent), httponly=True, samesite="Lax", path="/"
            )
            return response
        error = "Wrong username or password."
    body = render_login(error, "/agent/login", "The agent desktop")
    return Response(body, content_type="text/html; charset=utf-8", headers=page_headers())


@route("/agent/logout", "POST", "other")
def logout(state: State, request: Request) -> Response:
    state.sign_out_agent(request.cookies.get(AGENT_SESSION_COOKIE, ""))
    response = redirect("/agent/", 303)
    response.delete_cookie(AGENT_SESSION_COOKIE, path="/")
    return response


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
    agent = state.agent_of_session(request.cookies.get(AGENT_SESSION_COOKIE)) or AGENTS[0]
    try:
        return json_response(state.agent_reply(conversationId, text, agent), 201)
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


ROUTES = [page, login, logout, files, reply, disconnect]
