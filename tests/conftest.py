"""Fixtures shared by every area of the suite.

Fixture modules per concern live in tests/fixtures/ and are loaded here as plugins, so each has one owner:
sandbox.py (the embedded Genesys sandbox as a real HTTP server), browser.py (Playwright on Debian's chromium),
redis_outage.py (a refused and a hung Redis).
"""

import concurrent.futures
import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import pytest

from accounts.management.commands.seed_demo import DEMO_PASSWORD

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from such a thread
# unless told it is safe. It is, here: the loop belongs to Playwright, not to Django.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.browser",
    "tests.fixtures.redis_outage",
    "tests.fixtures.oidc",
    "tests.fixtures.app_tests",
]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config, items):
    """Tests marked needs_services need CI's real PostgreSQL/Redis. Outside CI, with those not configured,
    they skip and say why; in CI they always run (a missing service there is a failure, not a skip)."""
    if IN_CI:
        return
    have_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        marker = item.get_closest_marker("needs_services")
        if marker and not have_redis:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL (a real Redis shared by processes); CI runs it"))


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """MD5 instead of PBKDF2 in tests: sign-in behaviour is the same, a hundred logins take milliseconds.
    (Processes started by tests use the real hasher; they never check passwords of test-made users.)"""
    from django.test.utils import override_settings

    override = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True, scope="session")
def _member_token_mode_by_default():
    """The suite's pages use the member-token mode unless a test turns authenticated messaging on (its default
    follows the sandbox, which the test settings have on): the token mode keeps its tests, and the tests of
    authenticated messaging say so (tests/browser/test_authenticated_messaging.py, test_messenger_auth.py)."""
    from django.test.utils import override_settings

    override = override_settings(GENESYS_AUTHENTICATED_MESSAGING=False)
    override.enable()
    yield
    override.disable()


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Each test starts with an empty cache: rate-limit counters and tokens from one test never leak into
    the next (Redis is not rolled back with the database). The database cache needs database access, so
    without it there is nothing to clear."""
    from django.conf import settings
    from django.core.cache import cache

    uses_db = bool({"db", "transactional_db", "live_server"} & set(request.fixturenames)) or bool(
        request.node.get_closest_marker("django_db")
    )
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower() and not uses_db:
        yield
        return
    if uses_db:
        marker = request.node.get_closest_marker("django_db")
        transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames)) or bool(
            marker and marker.kwargs.get("transaction")
        )
        request.getfixturevalue("transactional_db" if transactional else "db")
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def rate_limit_clock(monkeypatch):
    """Every rate limit the site counts (sign-in, password reset, verify, the OIDC code) goes through
    django_ratelimit.core, which reads time.time() to choose its window (a minute, with a per-key offset): that
    read is held still per test, so no window ends in the middle of a test that counts attempts against it,
    however slow the machine. `advance(seconds)` moves it."""
    import time

    import django_ratelimit.core

    from tests.clocks import ManualClock

    clock = ManualClock(time.time())
    monkeypatch.setattr(django_ratelimit.core, "time", clock)
    return clock


class InlineCalls:
    """The calls given to the inline pool (messaging.outbox.deadline) during one test. A call that outlived its
    deadline goes on in its thread after the answer; `wait()` returns once every call has ended, however slow."""

    def __init__(self, pool: Callable[[], Executor]) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self.futures: list[Future] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = self._pool().submit(fn, *args, **kwargs)
        with self._lock:
            self.futures.append(future)
        return future

    def wait(self, timeout: float = 120.0) -> None:
        """Block until every inline call of the test has ended; fail naming them after `timeout` s (a hung call,
        not a slow machine: the calls' own timeouts are far shorter)."""
        with self._lock:
            futures = list(self.futures)
        _, running = concurrent.futures.wait(futures, timeout=timeout)
        assert not running, f"{len(running)} inline call(s) still running after {timeout} s"


@pytest.fixture(autouse=True)
def inline_calls(monkeypatch):
    """Every inline call goes through an InlineCalls, so a test (and this fixture, at its end) can wait for the
    calls left in flight instead of sleeping for them. Then the pool threads' database connections (kept, as
    CONN_MAX_AGE keeps a web thread's) are closed, so none outlives the test database (PostgreSQL refuses to
    drop a database in use); close_inline_connections() wants no inline call running, hence the wait first."""
    from messaging.outbox import deadline

    calls = InlineCalls(deadline.inline_executor)
    monkeypatch.setattr(deadline, "inline_executor", lambda: calls)
    yield calls
    calls.wait()
    deadline.close_inline_connections()


@pytest.fixture
def levels(db):
    from accounts.models import MembershipLevel

    return {
        name: MembershipLevel.objects.create(name=name, rank=rank, description=f"{name} members")
        for name, rank in [("Bronze", 10), ("Silver", 20), ("Gold", 30), ("Platinum", 40)]
    }


@pytest.fixture
def make_member(db, levels):
    from django.contrib.auth import get_user_model

    def make(username: str, level: str = "Bronze", **fields):
        user = get_user_model().objects.create_user(
            username=username, password=DEMO_PASSWORD, email=f"{username}@example.com", **fields
        )
        profile = user.member_profile
        profile.level = levels[level]
        profile.save()
        return user

    return make


@pytest.fixture
def alice(make_member):
    return make_member("alice", "Gold", first_name="Alice", last_name="Anders")


@pytest.fixture
def bob(make_member):
    return make_member("bob", "Silver", first_name="Bob", last_name="Berg")


@pytest.fixture
def seeded(transactional_db):
    """The demo data of `seed_demo`, committed (for tests whose other processes read the database)."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def member_token(db):
    """make(user_or_member, grant=None) -> a member token as a live session's page would carry it: under a
    grant (a new one, valid for an hour, unless given) but without a browser session."""
    import datetime

    from django.utils import timezone

    from messaging.identity.adapter import get_member_adapter
    from messaging.identity.grants import create_grant
    from messaging.identity.member_token import make_member_token

    def make(member, grant=None) -> str:
        user = getattr(member, "user", member)  # a user, a member profile or a Member
        member = get_member_adapter().member_for_user(user)
        grant = grant or create_grant(member, expires_at=timezone.now() + datetime.timedelta(hours=1))
        return make_member_token(member.public_id, grant.grant_id)

    return make


@pytest.fixture
def page_member_token(settings):
    """read(client) -> the memberToken the home page renders for the client's session (Messenger configured)."""
    import json
    import re

    from sandbox import defaults

    if not getattr(settings, "GENESYS_DEPLOYMENT_ID", ""):
        settings.GENESYS_DEPLOYMENT_ID = defaults.DEPLOYMENT_ID
    data_re = re.compile(r'<script id="genesys-messenger-data" type="application/json">(.*?)</script>', re.S)

    def read(client) -> str:
        response = client.get("/")
        assert response.status_code == 200
        match = data_re.search(response.content.decode())
        assert match, "no Messenger data on the page"
        return json.loads(match.group(1))["attributes"]["memberToken"]

    return read
