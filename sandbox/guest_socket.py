"""webmessaging.<domain>: the guest's one WebSocket, `/v1?deploymentId=<id>` on the sandbox's origin.

simple-websocket (with wsproto) on Werkzeug's threaded server, as Flask-Sock does it: the request's thread
reads frames and answers them (guest_frames.py); one writer thread per socket sends everything the socket says,
its answers and the session's events (agent messages, presence), in order. After ConnectionClosedEvent the
client closes the socket, not the server (GENESYS.md, More frames). A browser's Origin must be one of the
deployment's allowed domains, or the sandbox's own (Messenger's frame runs there).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

import simple_websocket
from werkzeug.wrappers import Request, Response

from . import guest_frames
from .http import json_response
from .models import frame
from .routing import route
from .state import State

_CLOSE = object()


class _SocketDone(Response):
    """What the WSGI app returns once the socket is over: Werkzeug must write nothing more on the connection
    (Flask-Sock's way: raising ConnectionError makes the server drop it quietly)."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise ConnectionError("the WebSocket is closed")


class GuestSocket:
    def __init__(self, state: State, environ: dict[str, Any]) -> None:
        self.state = state
        self.ws = simple_websocket.Server.accept(environ)
        self.outbox: queue.Queue[Any] = queue.Queue()
        self.tokens: set[str] = set()
        self.writer = threading.Thread(target=self._write, name="guest-socket-writer", daemon=True)

    def send(self, message: dict[str, Any]) -> None:
        """Queue a frame (never blocks: State calls it under its lock)."""
        self.outbox.put(message)

    def attach(self, token: str) -> None:
        if token not in self.tokens:
            self.tokens.add(token)
            self.state.attach(token, self.send)

    def serve(self) -> None:
        self.state.count("guest_sockets_opened")
        self.writer.start()
        try:
            while True:
                raw = self.ws.receive()
                if raw is None:
                    continue
                guest_frames.handle(self.state, raw if isinstance(raw, str) else raw.decode(), self.send, self.attach)
        except simple_websocket.ConnectionClosed:
            pass
        finally:
            for token in self.tokens:
                self.state.detach(token, self.send)
            self.outbox.put(_CLOSE)
            self.writer.join(5)

    def _write(self) -> None:
        while (message := self.outbox.get()) is not _CLOSE:
            with contextlib.suppress(simple_websocket.ConnectionClosed, OSError):
                self.ws.send(json.dumps(message))


@route("/v1", "GET", "guest", websocket=True)
def guest_socket(state: State, request: Request) -> Response:
    """The WebSocket upgrade (Werkzeug matches only upgrades here); without a deploymentId, a 400 frame; with one
    that is none of the org's deployments, 404; from a browser page outside the allowed domains, 403."""
    deployment_id = request.args.get("deploymentId")
    if not deployment_id:
        body = frame("response", "string", 400, "Expected a WebSocket upgrade to /v1?deploymentId=<id>.")
        return json_response(body, 400)
    if state.config.deployment(deployment_id) is None:
        return json_response(frame("response", "string", 404, "Deployment not found."), 404)
    if not origin_allowed(state, request):
        return json_response(frame("response", "string", 403, "Origin not allowed for this deployment."), 403)
    GuestSocket(state, request.environ).serve()
    return _SocketDone(status=101)


def origin_allowed(state: State, request: Request) -> bool:
    """No Origin (not a browser), no restriction, the sandbox's own origin, or one of the allowed domains (an
    entry is a host, `host:port` or a full origin)."""
    allowed = state.config.allowed_domains
    origin = request.headers.get("Origin")
    if not allowed or origin is None or origin == request.host_url.rstrip("/"):
        return True
    host = urlsplit(origin).netloc
    return any(entry in {origin, host, urlsplit(origin).hostname} for entry in allowed)


ROUTES = [guest_socket]
