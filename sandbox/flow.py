"""The inbound message flow: what a Genesys Architect flow with a Web Services Data Action does when a new web
messaging conversation starts (GENESYS.md, "Data actions").

It POSTs `{"conversationId", "memberToken"}` with the integration's Basic credentials to the configured URL within
the action's timeout, and records what came back on the conversation. It runs in a background thread so the
guest's message is answered at once, and it never raises: a failed call is recorded as failed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from .models import now_iso
from .state import State

MAX_RECORDED_BODY = 4096

# No proxies: the data action target is the local site; an HTTP(S)_PROXY in the environment must not reroute it.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def start(state: State, conversation_id: str) -> threading.Thread | None:
    """Call the data action for a conversation that was just created, in a daemon thread."""
    begun = state.begin_data_action(conversation_id)
    if begun is None:
        return None
    config, record, generation = begun
    thread = threading.Thread(
        target=_call,
        args=(state, generation, record, config.data_action_username, config.data_action_password),
        kwargs={"timeout": config.data_action_timeout},
        name=f"data-action-{conversation_id[:8]}",
        daemon=True,
    )
    thread.start()
    return thread


def _call(state: State, generation: int, record: dict[str, Any], username: str, password: str, timeout: float) -> None:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked below, before opening
        record["url"],
        data=json.dumps(record["request"]).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "genesys-sandbox-data-action/1.0",
        },
    )
    started = time.monotonic()
    result: dict[str, Any] = {}
    try:
        if not record["url"].startswith(("http://", "https://")):
            raise ValueError("the data action URL must be http:// or https://")
        with _opener.open(request, timeout=timeout) as answer:
            result = {"status": answer.status, "body": _body(answer.read())}
    except urllib.error.HTTPError as error:
        result = {"status": error.code, "body": _body(error.read()), "error": f"HTTP {error.code}"}
    except Exception as error:  # the flow records every failure; it never takes the sandbox down
        result = {"error": f"{type(error).__name__}: {error}"}
    result["durationMs"] = round((time.monotonic() - started) * 1000, 1)
    result["finishedAt"] = now_iso()
    status = result.get("status")
    result["ok"] = isinstance(status, int) and 200 <= status < 300
    result["state"] = "succeeded" if result["ok"] else "failed"
    state.finish_data_action(generation, record, result)


def _body(raw: bytes) -> Any:
    text = raw[:MAX_RECORDED_BODY].decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
