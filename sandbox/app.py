"""The sandbox as a WSGI application (Werkzeug): Genesys' login, Platform API, Messenger files and guest socket on
one origin, plus the agent view and the test hooks. Each surface is a module with its ROUTES; this one matches a
request to its route, counts it, applies injected faults and guards the state-changing hooks.

  oauth.py          POST /oauth/token                                                   login.<domain>
  platform_api.py   /api/v2/conversations/...                                           api.<domain>
  webdeployments.py /api/v2/webmessaging/messages, /api/v2/webdeployments/token/...     api.<domain>, guest side
  guest_socket.py   GET /v1?deploymentId= (WebSocket)                                   webmessaging.<domain>
  bootstrap.py      GET /genesys-bootstrap/genesys.min.js, messenger.css                apps.<domain>
  agent.py          /agent/                                                             the agent view
  hooks.py, pages.py  /_stats /_reset /_faults /_config /_conversations /_tokens/revoke /_demo, /
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import agent, bootstrap, guest_socket, hooks, oauth, pages, platform_api, webdeployments
from .config import Config
from .faults import Fault
from .http import genesys_error, json_response, rate_limit_message
from .models import frame
from .routing import Route
from .state import State

ROUTES: list[Route] = [
    *oauth.ROUTES,
    *platform_api.ROUTES,
    *webdeployments.ROUTES,
    *guest_socket.ROUTES,
    *bootstrap.ROUTES,
    *agent.ROUTES,
    *hooks.ROUTES,
    *pages.ROUTES,
]


def _kind_of_path(path: str) -> str:
    """The kind of an unmatched path, to answer it in the shape its neighbours use."""
    if path == "/oauth/token":
        return "token"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/_"):
        return "hook"
    return "other"


class SandboxApp:
    def __init__(self, config: Config | None = None) -> None:
        self.state = State(config or Config.from_env())
        self.routes = {str(i): r for i, r in enumerate(ROUTES)}
        rules = [
            Rule(r.rule, endpoint=key, methods=list(r.methods), websocket=r.websocket) for key, r in self.routes.items()
        ]
        self.url_map = Map(rules, strict_slashes=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as error:
            return self._unmatched(request, error)
        except HTTPException as error:  # a redirect for a missing slash, e.g. /agent -> /agent/
            return error.get_response(request.environ)  # type: ignore[return-value]
        route = self.routes[endpoint]
        if _cross_site_write(request, route):
            # The hooks and the agent's actions change state: no other site open in the developer's browser may
            # trigger them (a simple cross-origin POST needs no preflight). curl and tests send no Origin.
            return json_response({"error": "cross-origin requests may not change the sandbox"}, 403)
        route_key = f"{request.method} {route.template}"
        if route.counted:
            self.state.count_request(route_key)
        response = self._with_faults(request, route, route_key, args)
        if route.counted:
            self.state.count_response(response.status_code)
        return response

    def _unmatched(self, request: Request, error: HTTPException) -> Response:
        status = error.code or 404
        kind = _kind_of_path(request.path)
        if kind != "hook":
            self.state.count_request(f"{request.method} (unmatched)")
            self.state.count_response(status)
        if kind in {"api", "token"}:
            return genesys_error(status)
        return json_response({"error": error.name, "status": status}, status)

    def _with_faults(self, request: Request, route: Route, route_key: str, args: dict[str, str]) -> Response:
        if route.faultable and request.method != "OPTIONS":
            decision = self.state.decide_fault(route_key, route.kind)
            if decision.latency_ms:
                time.sleep(decision.latency_ms / 1000)
            if decision.fault is not None and decision.fault.status is not None:
                return _fault_response(decision.fault, route.kind)
        return route.handler(self.state, request, **args)


def _fault_response(fault: Fault, kind: str) -> Response:
    status = fault.status or 500
    headers: dict[str, str] = {}
    retry_after = fault.retry_after
    if status == 429 and retry_after is None:
        retry_after = 1  # Genesys' 429 always carries Retry-After
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
    if kind == "guest":  # a refused socket upgrade or history read: a transport failure
        return json_response(frame("response", "string", status, "Injected fault"), status, headers)
    message = rate_limit_message(int(float(headers["Retry-After"]))) if status == 429 else None
    return genesys_error(status, message=message, headers=headers)


def _cross_site_write(request: Request, route: Route) -> bool:
    if request.method in {"GET", "HEAD"} or not (route.kind == "hook" or route.rule.startswith("/agent/api/")):
        return False
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"
