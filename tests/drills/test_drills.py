"""Fault drills on the production profile (gunicorn, DEBUG off, the push worker) as separate processes, each bounded:

- Redis restarted mid-run: pages keep answering (no 5xx), members stay signed in, verify keeps answering, and the
  token service degrades to a token per process at worst.
- PostgreSQL briefly unavailable: verify answers 503 with Retry-After, the flow's retry succeeds afterwards and the
  push is delivered.
- The Genesys sandbox unreachable for 30 s: pages still render, verify still answers the flow from the database,
  pushes wait in the outbox and every one arrives after.

Dependencies are cut with a TCP proxy (tests/drills/proxy.py) or, for Redis, a private redis-server that is really
stopped and started again. Nothing shared on the machine is stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from bench._verify_stack import VERIFY_PATH, VerifyStack, production_sandbox_credentials
from tests.conftest import IN_CI
from tests.drills.proxy import TcpProxy
from tests.waiting import wait_until

pytestmark = [pytest.mark.timeout(300), pytest.mark.drill]

PASSWORD = "drill-pass-2026"
SANDBOX_DOWN_SECONDS = float(os.environ.get("DRILL_SANDBOX_DOWN_SECONDS", "30"))
SET_PASSWORDS = (
    "from django.contrib.auth import get_user_model\n"
    "for user in get_user_model().objects.all():\n"
    f"    user.set_password({PASSWORD!r}); user.save()\n"
)


# DEBUG off refuses the sandbox's published credentials: the drills' sandbox is configured with these instead.
CREDENTIALS = production_sandbox_credentials()


def production_env(**extra: str) -> dict[str, str]:
    env = {
        **CREDENTIALS,
        "DEBUG": "false",
        "SECRET_KEY": "drill-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "LOGIN_RATE_PER_IP": "100000/m",
        "GENESYS_PUSH_RETRY_BASE": "0.5",
        "LOG_LEVEL": "WARNING",
        # The drills exercise the member-token mode (the page's token, the data action checking it).
        "GENESYS_AUTHENTICATED_MESSAGING": "false",
    }
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require(condition: bool, reason: str) -> None:
    """Outside CI a missing service skips with the reason; in CI it is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


class Visitor:
    """A browser without a browser: keeps cookies, counts answers by status."""

    def __init__(self, site_url: str) -> None:
        self.site_url = site_url
        self.http = requests.Session()
        self.http.trust_env = False
        self.statuses: list[int] = []

    def get(self, path: str = "/") -> requests.Response:
        response = self.http.get(f"{self.site_url}{path}", timeout=30)
        self.statuses.append(response.status_code)
        return response

    def sign_in(self, username: str) -> None:
        page = self.get("/accounts/login/")
        csrf = self.http.cookies["csrftoken"]
        assert page.status_code == 200
        response = self.http.post(
            f"{self.site_url}/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{self.site_url}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[:500]

    @property
    def server_errors(self) -> list[int]:
        return [status for status in self.statuses if status >= 500 and status != 503]


def verify(site_url: str, conversation_id: str, member_token: str) -> requests.Response:
    return requests.post(
        f"{site_url}{VERIFY_PATH}",
        json={"conversationId": conversation_id, "memberToken": member_token},
        auth=(CREDENTIALS["GENESYS_DATA_ACTION_USERNAME"], CREDENTIALS["GENESYS_DATA_ACTION_PASSWORD"]),
        timeout=30,
    )


def new_conversation(sandbox_url: str, token: str = "") -> str:
    """A conversation whose customer carries `token` (as Messenger sets it from the page), or none."""
    attributes = {"memberToken": token} if token else {}
    response = requests.post(
        f"{sandbox_url}/_conversations", json={"attributes": attributes, "text": "Hello"}, timeout=10
    )
    response.raise_for_status()
    return response.json()["id"]


def server_attributes(sandbox_server, conversation_id: str) -> dict[str, str]:
    conversation = sandbox_server.conversation(conversation_id) or {}
    customer = next((p for p in conversation.get("participants", []) if p["purpose"] == "customer"), {})
    origins = customer.get("attributeOrigins", {})
    return {k: v for k, v in customer.get("attributes", {}).items() if origins.get(k) == "server"}


@pytest.fixture
def drill_sandbox(sandbox_server) -> Iterator:
    sandbox_server.reset()
    sandbox_server.configure(
        flow_enabled=False,
        rate_per_minute=1_000_000,
        client_id=CREDENTIALS["GENESYS_CLIENT_ID"],
        client_secret=CREDENTIALS["GENESYS_CLIENT_SECRET"],
        data_action_username=CREDENTIALS["GENESYS_DATA_ACTION_USERNAME"],
        data_action_password=CREDENTIALS["GENESYS_DATA_ACTION_PASSWORD"],
    )
    yield sandbox_server
    sandbox_server.reset()


def start_stack(stack: VerifyStack) -> None:
    stack.manage("collectstatic", "--noinput", "-v0")
    stack.manage("shell", "-c", SET_PASSWORDS)
    stack.start_site(workers=2, threads=4)
    stack.start_worker("--interval", "0.2", "--sweep-interval", "1", "--sweep-grace", "1")


def dump_logs(stack: VerifyStack) -> None:
    for name in ("site", "worker"):
        print(f"--- {name} log ---\n{stack.log(name)}")


# --- Redis restarted mid-run -----------------------------------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[dict]:
    binary = shutil.which("redis-server")
    require(binary is not None, "needs redis-server on PATH for a Redis of its own (CI has it)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = {"argv": argv, "port": port, "process": None}

    def start() -> None:
        server["process"] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _accepts(port), 10, "redis-server accepting connections")

    def stop() -> None:
        process = server["process"]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    server.update(start=start, stop=stop)
    start()
    yield server
    stop()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_redis_restarted_mid_run(drill_sandbox, private_redis):
    env = production_env(REDIS_URL=f"redis://127.0.0.1:{private_redis['port']}/0")
    with VerifyStack(sandbox_url=drill_sandbox.url, env=env, server="gunicorn") as stack:
        try:
            start_stack(stack)
            token = stack.members()["alice"]["memberToken"]
            alice, visitor = Visitor(stack.site_url), Visitor(stack.site_url)
            alice.sign_in("alice")
            verify_statuses: list[int] = []

            def round_of_traffic() -> None:
                assert "Hello, Alice" in alice.get("/").text
                visitor.get("/")
                visitor.get("/accounts/login/")
                verify_statuses.append(verify(stack.site_url, new_conversation(drill_sandbox.url), token).status_code)

            for _ in range(5):
                round_of_traffic()
            tokens_before = drill_sandbox.stats()["tokens_issued"]
            private_redis["stop"]()
            for _ in range(5):  # Redis is down
                round_of_traffic()
            private_redis["start"]()  # back, and empty: it keeps nothing on disk
            time.sleep(6)  # past the processes' fallback window (config/cache.py)
            for _ in range(5):
                round_of_traffic()
            fresh = Visitor(stack.site_url)
            fresh.sign_in("bob")  # sign-in (and its rate limit) works again on the new Redis
            assert "Hello, Bob" in fresh.get("/").text
        except BaseException:
            dump_logs(stack)
            raise
    assert alice.server_errors == [] and visitor.server_errors == [] and fresh.server_errors == []
    assert set(alice.statuses) == {200}
    assert set(verify_statuses) == {200}
    stats = drill_sandbox.stats()
    print(f"drill redis: tokens issued {stats['tokens_issued']}, requests {len(alice.statuses + visitor.statuses)}")
    assert tokens_before == 1
    # While Redis was away each process fetched a token of its own at most (2 web workers, 1 push worker), and
    # once more after it came back empty.
    assert stats["tokens_issued"] <= 1 + 3 + 1, stats


# --- PostgreSQL briefly unavailable -----------------------------------------------------------------------------


def test_postgresql_briefly_unavailable(drill_sandbox):
    outer = os.environ.get("DATABASE_URL", "")
    if not outer.startswith(("postgres://", "postgresql://")):
        outer = "postgres://postgres@127.0.0.1:5432/test"
    require(_accepts(urlsplit(outer).port or 5432), "needs PostgreSQL on 127.0.0.1:5432 (CI has it)")
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = outer  # VerifyStack creates a database of its own on this server
    try:
        stack = VerifyStack(sandbox_url=drill_sandbox.url, env=production_env(), server="gunicorn")
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL")
        else:
            os.environ["DATABASE_URL"] = previous
    with stack:
        direct = urlsplit(stack.database_url)
        proxy = TcpProxy(direct.hostname or "127.0.0.1", direct.port or 5432).start()
        proxied = urlunsplit(direct._replace(netloc=f"{direct.username or 'postgres'}@127.0.0.1:{proxy.port}"))
        stack.extra_env["DATABASE_URL"] = proxied
        try:
            start_stack(stack)
            first, token = (page["memberToken"] for page in stack.member_pages(2)["alice"])
            visitor = Visitor(stack.site_url)
            before = verify(stack.site_url, new_conversation(drill_sandbox.url, first), first)
            assert before.status_code == 200 and before.json()["verified"] == "true"

            proxy.cut()
            conversation_id = new_conversation(drill_sandbox.url, token)
            during = verify(stack.site_url, conversation_id, token)
            page = visitor.get("/")
            assert during.status_code == 503, during.text[:500]
            assert during.headers["Retry-After"] and during.json()["error"] == "database_unavailable"
            assert page.status_code in {200, 503}  # an anonymous page may not need the database at all
            time.sleep(3)
            proxy.restore()

            # The data action's retry, as the flow would make it, succeeds.
            after = wait_until(
                lambda: (r := verify(stack.site_url, conversation_id, token)).status_code == 200 and r,
                30,
                "verify answering again",
            )
            assert after.json()["verified"] == "true" and after.json()["membershipLevel"] == "Gold"
            wait_until(
                lambda: server_attributes(drill_sandbox, conversation_id).get("verified") == "true",
                30,
                "the push delivered after the outage",
            )
            assert visitor.get("/").status_code == 200
        except BaseException:
            dump_logs(stack)
            raise
        finally:
            proxy.cut()
    assert visitor.server_errors == []


# --- The Genesys sandbox down for 30 s --------------------------------------------------------------------------


def test_genesys_unreachable_for_30_seconds(drill_sandbox):
    proxy = TcpProxy("127.0.0.1", urlsplit(drill_sandbox.url).port).start()
    proxied = f"http://127.0.0.1:{proxy.port}"
    env = production_env(
        REDIS_URL=os.environ.get("REDIS_URL", ""),
        GENESYS_CONNECT_TIMEOUT="1",
        # The outage is compressed into 30 s, so the retry schedule is too: backoff capped at 8 s and attempts
        # enough to outlast the cut, and a call left in flight by the inline deadline (slow on a loaded machine)
        # holds its conversation for 10 s, not the 120 s default, before the worker tries again. Without these the
        # first attempt after the cut could fall past the wait below.
        GENESYS_PUSH_RETRY_MAX="8",
        GENESYS_PUSH_MAX_ATTEMPTS="40",
        GENESYS_PUSH_LEASE="10",
    )
    with VerifyStack(sandbox_url=proxied, env=env, server="gunicorn") as stack:
        try:
            start_stack(stack)
            members = stack.members()
            pages = stack.member_pages(4)  # a token verifies one conversation
            alice = Visitor(stack.site_url)
            alice.sign_in("alice")
            tokens, conversations = {}, {}
            for name in ("alice", "bob", "carol"):
                for page in pages[name]:
                    conversation_id = new_conversation(drill_sandbox.url, page["memberToken"])
                    tokens[conversation_id], conversations[conversation_id] = page["memberToken"], name

            proxy.cut()
            cut_at = time.monotonic()
            answers = {}
            for conversation_id, name in conversations.items():
                started = time.monotonic()
                response = verify(stack.site_url, conversation_id, tokens[conversation_id])
                answers[conversation_id] = (response.status_code, response.json(), time.monotonic() - started)
                page = alice.get("/")
                assert page.status_code == 200 and "Hello, Alice" in page.text
            while time.monotonic() - cut_at < SANDBOX_DOWN_SECONDS:
                assert alice.get("/").status_code == 200
                time.sleep(1)
            kept = [push["state"] for push in stack.outbox()]
            proxy.restore()

            for conversation_id, name in conversations.items():
                status, body, seconds = answers[conversation_id]
                assert status == 200 and body["verified"] == "true", body
                assert body["membershipLevel"] == members[name]["membershipLevel"]
                assert seconds < 20  # inside the data action's timeout
            # Nothing could be delivered, nothing was given up: every push kept (one may be in a worker's hands).
            assert len(kept) == len(conversations) and set(kept) <= {"pending", "delivering"}, kept

            def all_delivered() -> bool:
                return all(
                    server_attributes(drill_sandbox, cid).get("memberId") == members[name]["memberId"]
                    for cid, name in conversations.items()
                )

            wait_until(all_delivered, 60, "every push delivered after Genesys came back")

            # The sandbox holds the attributes as soon as a PATCH lands; the worker records "delivered" only once
            # the answer is back (after a read timeout and a retry, if the cut lost it): wait for the outbox to
            # settle rather than read it at that moment.
            def settled_states() -> set[str] | None:
                states = {push["state"] for push in stack.outbox()}
                return None if states & {"pending", "delivering"} else states

            states = wait_until(settled_states, 60, "every push recorded as settled")
            assert states == {"delivered"}, states
        except BaseException:
            dump_logs(stack)
            raise
        finally:
            proxy.cut()
    assert alice.server_errors == []
