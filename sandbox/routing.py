"""A route of the sandbox: its URL rule, methods, handler and the kind of traffic it is (for counts and faults)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

if TYPE_CHECKING:
    pass

Handler = Callable[..., Response]  # handler(state, request, **url_args) -> Response


@dataclasses.dataclass(frozen=True)
class Route:
    """kind: "token" (login), "api" (Platform API), "guest" (web messaging), "other" (Messenger files, agent view),
    "page" (the sandbox's own pages) or "hook" (test hooks). Hooks are neither counted nor faulted; pages are
    counted, not faulted."""

    rule: str
    methods: tuple[str, ...]
    handler: Handler
    kind: str
    websocket: bool = False

    @property
    def template(self) -> str:
        """`/api/v2/conversations/messages/<conversationId>` -> `/api/v2/conversations/messages/{conversationId}`."""
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", self.rule)

    @property
    def counted(self) -> bool:
        return self.kind != "hook"

    @property
    def faultable(self) -> bool:
        return self.kind not in {"hook", "page"}


def route(rule: str, methods: str, kind: str, websocket: bool = False) -> Callable[[Handler], Route]:
    """Decorator: `@route("/oauth/token", "POST", "token")` turns a handler into a Route."""

    def wrap(handler: Handler) -> Route:
        return Route(rule, tuple(methods.split()), handler, kind, websocket)

    return wrap
