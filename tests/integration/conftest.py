"""Fixtures shared by the integration tests (the site in this process, the sandbox as a real server)."""

from collections.abc import Iterator

import pytest

from messaging import processes
from tests.fixtures.sandbox import SandboxServer


@pytest.fixture
def genesys(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """The sandbox with its own flow off (these tests play the data action themselves) and a fresh client before
    and after. Modules that need more (a lower rate limit, fewer retries) override it, asking for this one."""
    sandbox.configure(flow_enabled=False)
    processes.reset()
    yield sandbox
    processes.reset()
