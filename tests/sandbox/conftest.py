"""Fixtures shared by the sandbox's tests."""

import pytest
import requests


@pytest.fixture
def http():
    """A plain HTTP session to the sandbox (never through a proxy: it is on loopback)."""
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture
def guest(sandbox):
    """A guest on the sandbox's socket with a configured session."""
    guest = sandbox.guest()
    assert guest.configure()["code"] == 200
    yield guest
    guest.close()
