"""Start the embedded Genesys sandbox for a benchmark: its own process on a free loopback port, no flow calls.

with running_sandbox() as sandbox:
    sandbox.post("/_config", rate_per_minute=10**9)
    ...sandbox.url...

The process itself is started by sandbox/launcher.py, the launcher the tests use too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sandbox import launcher

NO_FLOW = {"SANDBOX_FLOW_ENABLED": "false"}  # no data action calls leave a benchmark


class Sandbox(launcher.RunningSandbox):
    def start_conversation(self, deployment_id: str, text: str = "bench") -> str:
        """A guest's first message (POST /_conversations, no socket); answers the conversation id. The
        deployment id is the sandbox's own (the launcher does not pass GENESYS_DEPLOYMENT_ID)."""
        return self.post("/_conversations", attributes={}, text=text)["id"]


def start_sandbox(timeout: float = 15.0, extra_env: dict[str, str] | None = None) -> Sandbox:
    started = launcher.start_sandbox({**NO_FLOW, **(extra_env or {})}, timeout)
    sandbox = Sandbox(started.url, started.process)
    started.http.close()
    return sandbox


@contextlib.contextmanager
def running_sandbox(timeout: float = 15.0, extra_env: dict[str, str] | None = None) -> Iterator[Sandbox]:
    sandbox = start_sandbox(timeout, extra_env)
    try:
        yield sandbox
    finally:
        sandbox.stop()
