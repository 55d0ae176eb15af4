"""login.<domain>: the OAuth client-credentials grant (GENESYS.md, Platform API, Token), and the user login for a
browser app: `/oauth/authorize` (a sign-in page, then a code to the client's registered redirect URI) and the
authorization-code grant with PKCE S256 at `/oauth/token` (public client: no secret; GENESYS.md, Interaction
widget). The sandbox's agents are in agent_users.py."""

from __future__ import annotations

import base64
import binascii
import hmac
import string
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from .agent_users import AGENT_SESSION_COOKIE, AgentUser, CodeRefused, check_password
from .http import TEMPLATES_DIR, json_response, page_headers
from .routing import route
from .state import State

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@route("/oauth/token", "POST", "token")
def token(state: State, request: Request) -> Response:
    """POST /oauth/token, Basic client credentials, form grant_type=client_credentials. Answers {access_token,
    token_type: "bearer", expires_in}; errors {error, description, error_description}."""
    config = state.config
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
    if form.get("grant_type") == "authorization_code":
        return _code_grant(state, request)
    client_id, client_secret = _basic_credentials(request)
    if client_id is None or not (
        hmac.compare_digest(client_id.encode(), config.client_id.encode())
        and hmac.compare_digest((client_secret or "").encode(), config.client_secret.encode())
    ):
        description = "client not found" if client_id != config.client_id else "authentication failed"
        return _oauth_error(401, "invalid_client", description)
    grant_type = request.form.get("grant_type") if request.mimetype == "application/x-www-form-urlencoded" else None
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type or ''}")
    issued = state.issue_token(client_id)
    body = {"access_token": issued.access_token, "token_type": "bearer", "expires_in": config.token_ttl}
    return json_response(body, 200, NO_STORE)


def _code_grant(state: State, request: Request) -> Response:
    """The user login's second half: a public client sends the code, its redirect URI and the PKCE verifier. The
    answer may be read by the page of a registered redirect URI's origin (the browser app calls it itself)."""
    config = state.config
    form = request.form
    client_id = form.get("client_id", "")
    cors = _cors_headers(request, config.agent_redirect_uris.split())
    if not hmac.compare_digest(client_id.encode(), config.agent_client_id.encode()):
        return _oauth_error(401, "invalid_client", "client not found", cors)
    try:
        user = state.redeem_code(
            form.get("code", ""), client_id, form.get("redirect_uri", ""), form.get("code_verifier", "")
        )
    except CodeRefused as error:
        return _oauth_error(400, "invalid_grant", str(error), cors)
    issued = state.issue_token(client_id, user_id=user.id)
    body = {"access_token": issued.access_token, "token_type": "bearer", "expires_in": config.token_ttl}
    return json_response(body, 200, {**NO_STORE, **cors})


def _cors_headers(request: Request, redirect_uris: list[str]) -> dict[str, str]:
    origin = request.headers.get("Origin", "")
    allowed = {_origin(uri) for uri in redirect_uris}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin in allowed else {"Vary": "Origin"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@route("/oauth/authorize", "GET POST", "token")
def authorize(state: State, request: Request) -> Response:
    """GET: the sign-in page (or, for an agent signed in already, the code at once); POST: the credentials. A
    request naming an unknown client or an unregistered redirect URI is refused here and never redirected; one
    without an S256 code_challenge goes back to the client with `invalid_request`."""
    config = state.config
    args = request.args
    client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
    if client_id != config.agent_client_id or redirect_uri not in config.agent_redirect_uris.split():
        return _login_page("The application is not registered for this address.", request, 400)
    back: dict[str, str] = {"state": args["state"]} if "state" in args else {}
    if (
        args.get("response_type") != "code"
        or args.get("code_challenge_method") != "S256"
        or not args.get("code_challenge")
    ):
        return redirect(f"{redirect_uri}?{urlencode({'error': 'invalid_request', **back})}")
    agent = state.agent_of_session(request.cookies.get(AGENT_SESSION_COOKIE))
    session = None
    if request.method == "POST":
        agent = check_password(request.form.get("username", ""), request.form.get("password", ""))
        if agent is None:
            return _login_page("Wrong username or password.", request, 200, redirect_uri)
        session = state.sign_in_agent(agent)
    if agent is None:
        return _login_page("", request, 200, redirect_uri)
    response = _code_redirect(state, agent, client_id, redirect_uri, args["code_challenge"], back)
    if session is not None:
        _set_agent_cookie(response, session)
    return response


def _code_redirect(
    state: State, agent: AgentUser, client_id: str, redirect_uri: str, challenge: str, back: dict[str, str]
) -> Response:
    code = state.issue_code(agent, client_id, redirect_uri, challenge)
    response = redirect(f"{redirect_uri}?{urlencode({'code': code, **back})}")
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_agent_cookie(response: Response, session: str) -> None:
    response.set_cookie(AGENT_SESSION_COOKIE, session, httponly=True, samesite="Lax", path="/")


def _login_page(error: str, request: Request, status: int, redirect_uri: str = "") -> Response:
    """The sign-in page, posting back to this same URL. Refuses to be framed, as Genesys' login does."""
    headers = page_headers()
    if redirect_uri:  # a form's redirect is checked against form-action too
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {_origin(redirect_uri)}"
        )
    return Response(
        render_login(error, request.full_path if request.query_string else request.path, "Genesys Cloud login"),
        status=status,
        content_type="text/html; charset=utf-8",
        headers=headers,
    )


def render_login(error: str, action: str, purpose: str, hidden: dict[str, str] | None = None) -> str:
    """The sandbox's sign-in page (templates/agent_login.html), every value escaped."""
    template = string.Template((TEMPLATES_DIR / "agent_login.html").read_text())
    fields = Markup("").join(
        Markup('<input type="hidden" name="{}" value="{}">').format(k, v) for k, v in (hidden or {}).items()
    )
    return template.substitute(
        purpose=Markup.escape(purpose),
        error=Markup('<p class="ag-error" role="alert">{}</p>').format(error) if error else "",
        action=Markup.escape(action),
        hidden=fields,
    )


ROUTES = [token, authorize]


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


def _oauth_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": error, "description": description, "error_description": description}
    return json_response(body, status, {**NO_STORE, **(headers or {})})
