"""webmessaging.<domain>: the guest's one WebSocket, `/v1?deploymentId=<id>` on the sandbox's origin.

simple-websocket (with wsproto) on Werkzeug's threaded server, as Flask-Sock does it: the request's thread
reads frames and answers them (guest_frames.py); one writer thread per socket sends everything the socket says,
its answers and the session's events (agent messages, presence), in order. After ConnectionClosedEvent the
server closes the socket, as Genesys does after a clear.
"""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

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
            try:
                self.ws.send(json.dumps(message))
                if message.get("class") == "ConnectionClosedEvent":
                    self.ws.close(1000, "session cleared")
            except (simple_websocket.ConnectionClosed, OSError):
                pass


@route("/v1", "GET", "guest", websocket=True)
def guest_socket(state: State, request: Request) -> Response:
    """The WebSocket upgrade (Werkzeug matches only upgrades here); without a deploymentId, a 400 frame."""
    if not request.args.get("deploymentId"):
        body = frame("response", "string", 400, "Expected a WebSocket upgrade to /v1?deploymentId=<id>.")
        return json_response(body, 400)
    GuestSocket(state, request.environ).serve()
    return _SocketDone(status=101)


ROUTES = [guest_socket]
