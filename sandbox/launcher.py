"""Start the sandbox in its own process on a free loopback port: the one launcher of tests and benchmarks.

    with running_sandbox({"SANDBOX_RATE_WINDOW_SECONDS": "6"}) as sandbox:
        sandbox.post("/_config", rate_per_minute=120)
        ...sandbox.url...

The child gets the caller's environment without GENESYS_* and SANDBOX_* (the sandbox's defaults, not a developer's
settings), a data action URL where nothing listens (no flow call leaves unless asked), then `extra_env`.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parents[1]
# Nothing listens on the discard port: until told otherwise, the flow's data action fails fast instead of reaching
# a developer's `make run` on 127.0.0.1:8000.
UNREACHABLE_DATA_ACTION_URL = "http://127.0.0.1:9/messaging/genesys/verify"
# Keys of GET /_stats "requests" for the two Platform API calls the site makes: read a conversation, push attributes.
GET_ROUTE = "GET /api/v2/conversations/messages/{conversationId}"
PATCH_ROUTE = "PATCH /api/v2/conversations/messages/{conversationId}/participants/{participantId}/attributes"


class SandboxDidNotStart(RuntimeError):
    """The process exited, or did not answer GET /_stats in time."""


class RunningSandbox:
    """A sandbox process and a plain HTTP session to it (never through a proxy: loopback only)."""

    def __init__(self, url: str, process: subprocess.Popen[bytes] | None = None) -> None:
        self.url = url.rstrip("/")
        self.process = process
        self.http = requests.Session()
        self.http.trust_env = False

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """A hook call; raises for an HTTP error; answers the JSON body."""
        response = self.http.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, **body: Any) -> Any:
        return self.request("POST", path, json=body)

    def stats(self) -> dict[str, Any]:
        """GET /_stats: tokens_issued, requests {"METHOD /template": n}, responses_429, data_action_calls, ..."""
        return self.get("/_stats")

    def stop(self) -> None:
        self.http.close()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def child_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "SANDBOX_"))}
    env["SANDBOX_DATA_ACTION_URL"] = UNREACHABLE_DATA_ACTION_URL
    env.update(extra_env or {})
    return env


def start_sandbox(
    extra_env: dict[str, str] | None = None, timeout: float = 15.0, stderr: IO[bytes] | int = subprocess.DEVNULL
) -> RunningSandbox:
    """Start `python -m sandbox --port 0` and wait until GET /_stats answers. Raises SandboxDidNotStart."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--quiet"],
        cwd=ROOT,
        env=child_env(extra_env),
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout)
    line = process.stdout.readline().decode().strip() if ready else ""
    if "listening on " not in line:
        process.kill()
        process.wait(5)
        raise SandboxDidNotStart(f"no 'listening' line within {timeout} s (first line {line!r})")
    sandbox = RunningSandbox(line.split("listening on ", 1)[1], process)
    while True:
        try:
            sandbox.stats()
            return sandbox
        except requests.RequestException as error:
            if process.poll() is not None or time.monotonic() > deadline:
                sandbox.stop()
                raise SandboxDidNotStart(f"GET /_stats did not answer: {error}") from None
            time.sleep(0.02)


@contextlib.contextmanager
def running_sandbox(extra_env: dict[str, str] | None = None, timeout: float = 15.0) -> Iterator[RunningSandbox]:
    sandbox = start_sandbox(extra_env, timeout)
    try:
        yield sandbox
    finally:
        sandbox.stop()
