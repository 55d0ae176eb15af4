"""The whole verify path as separate processes, for the fault test and the benchmark: the sandbox, the site and
the push worker, on a database of their own (a SQLite file, or a fresh PostgreSQL database when DATABASE_URL
names PostgreSQL), migrated and seeded. Nothing here binds 8000/8100: every port is a free one.

    with VerifyStack() as stack:              # or VerifyStack(sandbox_url=...) to use a running sandbox
        stack.start_site()
        stack.start_worker()
        stack.members()                       # {"alice": {page attributes with a fresh memberToken}, ...}
        stack.outbox()                        # every AttributePush row, read straight from the database
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from sandbox import launcher

ROOT = Path(__file__).resolve().parents[1]
VERIFY_PATH = "/messaging/genesys/verify"


def pages_script(pages: int) -> str:
    """Prints {username: [page attributes] * pages}: what `pages` pages of one live session of each demo member set,
    each with its own memberToken (a token verifies one conversation), under a grant valid for two hours."""
    return (
        "import datetime, json; from django.utils import timezone; from accounts.models import MemberProfile; "
        "from messaging.attributes import page_attributes; "
        "from messaging.identity.adapter import get_member_adapter; "
        "from messaging.identity.grants import create_grant; "
        "from messaging.identity.member_token import make_member_token; "
        "pages = lambda m, g: [page_attributes(m, make_member_token(m.public_id, g.grant_id)) "
        f"for _ in range({pages:d})]; "
        "members = [get_member_adapter().member_for_user(p.user) "
        "for p in MemberProfile.objects.select_related('user', 'level')]; "
        "print(json.dumps({m.user.username: pages(m, create_grant(m, expires_at=timezone.now() "
        "+ datetime.timedelta(hours=2))) for m in members}))"
    )


MEMBERS_SCRIPT = pages_script(1)
# One Django start-up: the schema, the cache table, the demo levels and members (no passwords: nobody signs in,
# and hashing them is most of seed_demo's time).
SETUP_SCRIPT = (
    "from django.core.management import call_command; "
    "call_command('migrate', interactive=False, verbosity=0); call_command('createcachetable', verbosity=0); "
    "from django.contrib.auth import get_user_model; from accounts.models import MembershipLevel; "
    "levels = {n: MembershipLevel.objects.get_or_create(name=n, defaults={'rank': r})[0] "
    "for n, r in [('Bronze', 10), ('Silver', 20), ('Gold', 30), ('Platinum', 40)]}\n"
    "for name, first, last, level in [('alice', 'Alice', 'Anders', 'Gold'), ('bob', 'Bob', 'Berg', 'Silver'), "
    "('carol', 'Carol', 'Chen', 'Bronze')]:\n"
    "    user = get_user_model().objects.create_user(name, f'{name}@example.com', None, first_name=first, "
    "last_name=last)\n"
    "    profile = user.member_profile; profile.level = levels[level]; profile.save()\n" + MEMBERS_SCRIPT
)


def production_sandbox_credentials() -> dict[str, str]:
    """Fresh Genesys credentials for the production profile (DEBUG off) against a sandbox, with the opt-in it
    needs: production refuses the sandbox's published ones (config/production.py). A sandbox VerifyStack starts
    reads the same variables; a running one is told them with POST /_config."""
    return {
        "GENESYS_SANDBOX_IN_PRODUCTION": "true",
        "GENESYS_CLIENT_ID": f"production-profile-{secrets.token_hex(4)}",
        "GENESYS_CLIENT_SECRET": secrets.token_urlsafe(32),
        "GENESYS_DATA_ACTION_USERNAME": f"production-profile-{secrets.token_hex(4)}",
        "GENESYS_DATA_ACTION_PASSWORD": secrets.token_urlsafe(32),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout} s") from None
            time.sleep(0.1)


class VerifyStack:
    def __init__(
        self, *, sandbox_url: str | None = None, env: dict[str, str] | None = None, server: str = "runserver"
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="verify-stack-"))
        self.sandbox_url = sandbox_url
        self.extra_env = dict(env or {})
        self.server = server  # "runserver" or "gunicorn"
        self.processes: dict[str, subprocess.Popen] = {}
        self.sandbox: launcher.RunningSandbox | None = None  # when the stack started its own
        self.initial_members: dict[str, dict[str, str]] = {}
        self.site_url = ""
        self.pg_admin_url: str | None = None
        self.pg_database: str | None = None
        self.sqlite_path: Path | None = None
        self.database_url = self._database_url()

    # --- database ---
    def _database_url(self) -> str:
        outer = os.environ.get("DATABASE_URL", "")
        if outer.startswith(("postgres://", "postgresql://")):
            import psycopg

            parts = urlsplit(outer)
            self.pg_database = f"stack_{secrets.token_hex(6)}"
            # The maintenance database: the one DATABASE_URL names need not exist (pytest makes test_<name>).
            self.pg_admin_url = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(self.pg_admin_url, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{self.pg_database}"')
            return urlunsplit(parts._replace(path=f"/{self.pg_database}"))
        self.sqlite_path = self.workdir / "db.sqlite3"
        return f"sqlite:///{self.sqlite_path}"

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the stack's database directly (no Django in this process)."""
        if self.sqlite_path is not None:
            connection = sqlite3.connect(self.sqlite_path, timeout=20)
            try:
                return connection.execute(sql, params).fetchall()
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(self.database_url) as connection:
            return connection.execute(sql.replace("?", "%s"), params).fetchall()

    def outbox(self) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT l.conversation_id, p.version, p.state, p.attributes, p.attempts, p.last_error, p.verified "
            "FROM messaging_attributepush p JOIN messaging_conversationlink l ON l.id = p.conversation_id "
            "ORDER BY l.conversation_id, p.version"
        )
        return [
            {
                "conversation_id": str(uuid.UUID(str(cid))),
                "version": version,
                "state": state,
                "attributes": json.loads(attributes) if isinstance(attributes, str) else attributes,
                "attempts": attempts,
                "last_error": last_error,
                "verified": bool(verified),
            }
            for cid, version, state, attributes, attempts, last_error, verified in rows
        ]

    def running_tasks(self) -> int:
        """django-tasks rows left RUNNING (their worker died; django_tasks_db never runs them again)."""
        return self.query("SELECT COUNT(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'")[0][0]

    # --- processes ---
    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "SANDBOX_", "PYTEST"))}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "DEBUG": "true",
                "GENESYS_SANDBOX": "true",
                # Member tokens: the stack verifies the pages' tokens.
                "GENESYS_AUTHENTICATED_MESSAGING": "false",
                "SANDBOX_URL": self.sandbox_url or "",
                "GENESYS_API_BASE": self.sandbox_url or "",
                "GENESYS_LOGIN_BASE": self.sandbox_url or "",
                "GENESYS_APPS_BASE": self.sandbox_url or "",
                # Cache keys of their own, should REDIS_URL point at a Redis others use too.
                "CACHE_KEY_PREFIX": f"stack-{self.workdir.name}",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def _spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str, tail: int = 4000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def start_sandbox(self) -> str:
        """A sandbox of the stack's own, started by the one launcher of tests and benchmarks (sandbox/launcher.py),
        with the stack's Genesys and sandbox settings (production credentials, when given, are the sandbox's too)."""
        sandbox_env = {k: v for k, v in self.env().items() if k.startswith(("GENESYS_", "SANDBOX_")) and v}
        self.sandbox = launcher.start_sandbox(sandbox_env, timeout=20.0)
        self.sandbox_url = self.sandbox.url
        return self.sandbox_url

    def prepare(self) -> None:
        if not self.sandbox_url:
            self.start_sandbox()
        pages = json.loads(self.manage("shell", "-c", SETUP_SCRIPT).strip().splitlines()[-1])
        self.initial_members = {name: attributes[0] for name, attributes in pages.items()}

    def start_site(self, *, threads: int = 16, workers: int = 2, port: int | None = None) -> str:
        port = port or free_port()
        env = {"PORT": str(port)}
        if self.server == "gunicorn":
            # The production profile (config/gunicorn.py), on a free loopback port.
            argv = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
            env.update(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(threads))
        else:
            argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"]
        process = self._spawn("site", argv, **env)
        self.site_url = f"http://127.0.0.1:{port}"
        wait_http(f"{self.site_url}/healthz", process=process)
        return self.site_url

    def start_worker(self, *args: str, name: str = "worker", **env: str) -> subprocess.Popen:
        argv = [sys.executable, "manage.py", "deliver_pushes", "--no-startup-delay", "--skip-checks", *args]
        return self._spawn(name, argv, **env)

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no finally blocks, as a crash or an OOM kill."""
        process = self.processes.pop(name, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def members(self) -> dict[str, dict[str, str]]:
        """What a page of each demo member sets, a fresh memberToken included (made inside the stack, with its
        key, under a live grant): the token verifies one conversation."""
        return {name: pages[0] for name, pages in self.member_pages(1).items()}

    def member_pages(self, pages: int) -> dict[str, list[dict[str, str]]]:
        """`pages` page attribute sets per demo member, each with its own token (one per conversation)."""
        return json.loads(self.manage("shell", "-c", pages_script(pages)).strip().splitlines()[-1])

    def stop(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self.pg_database and self.pg_admin_url:
            import psycopg

            with psycopg.connect(self.pg_admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> VerifyStack:
        try:
            self.prepare()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
