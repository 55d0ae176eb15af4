"""Start the embedded Genesys sandbox for a benchmark: its own process on a free loopback port.

with running_sandbox() as sandbox:
    sandbox.post("/_config", rate_per_minute=10**9)
    ...sandbox.url...
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
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


class Sandbox:
    def __init__(self, url: str, process: subprocess.Popen[bytes]) -> None:
        self.url = url.rstrip("/")
        self.process = process
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never a proxy

    def get(self, path: str) -> Any:
        response = self.http.get(f"{self.url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, **body: Any) -> Any:
        response = self.http.post(f"{self.url}{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.get("/_stats")

    def start_conversation(self, deployment_id: str, text: str = "bench") -> str:
        """A guest's first message creates a conversation (Guest API shapes as in sandbox/app.py)."""
        guest = os.urandom(12).hex()
        self.post("/webmessaging/v1/sessions", action="configureSession", deploymentId=deployment_id, token=guest)
        message = {"type": "Text", "text": text, "channel": {"metadata": {"customAttributes": {}}}}
        self.post("/webmessaging/v1/messages", action="onMessage", token=guest, message=message)
        conversations = self.get("/_conversations")["conversations"]
        return next(c["id"] for c in reversed(conversations) if any(m["text"] == text for m in c["messages"]))

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_sandbox(timeout: float = 15.0) -> Sandbox:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "SANDBOX_"))}
    env["SANDBOX_DATA_ACTION_URL"] = "http://127.0.0.1:9/unused"  # no flow calls leave the benchmark
    env["SANDBOX_FLOW_ENABLED"] = "false"
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0", "--quiet"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    ready = selector.select(timeout)
    selector.close()
    line = process.stdout.readline().decode().strip() if ready else ""
    if "listening on " not in line:
        process.kill()
        raise RuntimeError(f"sandbox did not start (first line {line!r})")
    sandbox = Sandbox(line.split("listening on ", 1)[1], process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sandbox.stats()
            return sandbox
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                sandbox.stop()
                raise
            time.sleep(0.02)


@contextlib.contextmanager
def running_sandbox(timeout: float = 15.0) -> Iterator[Sandbox]:
    sandbox = start_sandbox(timeout)
    try:
        yield sandbox
    finally:
        sandbox.stop()
