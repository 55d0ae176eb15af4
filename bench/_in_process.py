"""The site inside the benchmark's own process, to measure what one verify costs the site itself.

`start_django(stack)` points Django at a VerifyStack's database, cache and sandbox and sets it up (once per
process). `VerifyMeter` then calls the data action one at a time through the whole middleware stack (Django's
test client) and splits each call's wall time:
  own time  = the request's wall time minus the time spent in HTTP to Genesys (requests' adapter send, in any
              thread: the inline calls run in a pool thread);
  SQL       = statements sent to the database by any thread (SELECT, INSERT, UPDATE, DELETE, SAVEPOINT, RELEASE),
              and COMMITs (Django's connection.commit, which does not go through execute).
"""

from __future__ import annotations

import base64
import os
import statistics
import threading
import time
from collections import Counter
from typing import Any

import requests

from bench._verify_stack import VERIFY_PATH, VerifyStack

_lock = threading.Lock()


def start_django(stack: VerifyStack, **extra_env: str) -> None:
    """Django in this process on the stack's database, cache and sandbox (the site's env, DEBUG off for speed of
    the ORM: no query log)."""
    os.environ.update(stack.env(**extra_env))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log kept in memory


class VerifyMeter:
    """Counts HTTP time to Genesys and SQL statements of every thread while a verify runs."""

    def __init__(self) -> None:
        self.http_seconds = 0.0
        self.statements: Counter[str] = Counter()
        self.started = 0.0
        self.log: list[str] = []  # the last verify's statements (BENCH_SQL_LOG=1 prints them)
        self._patch()

    def _patch(self) -> None:
        from django.db import connections
        from django.db.backends.base.base import BaseDatabaseWrapper
        from django.db.backends.signals import connection_created

        meter = self
        original_send = requests.adapters.HTTPAdapter.send

        def timed_send(adapter: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original_send(adapter, *args, **kwargs)
            finally:
                with _lock:
                    meter.http_seconds += time.perf_counter() - started

        requests.adapters.HTTPAdapter.send = timed_send

        def counting(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            kind = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                at = (started - meter.started) * 1000
                took = (time.perf_counter() - started) * 1000
                with _lock:
                    meter.statements[kind] += 1
                    meter.log.append(f"{at:7.2f} +{took:5.2f} ms  {sql[:110]}")

        def watch(connection: Any) -> None:
            if counting not in connection.execute_wrappers:
                connection.execute_wrappers.append(counting)

        connection_created.connect(lambda sender, connection, **kw: watch(connection), weak=False)
        for alias in connections:
            watch(connections[alias])
        original_commit = BaseDatabaseWrapper._commit

        def counted_commit(connection: Any) -> Any:
            with _lock:
                meter.statements["COMMIT"] += 1
                meter.log.append(f"{(time.perf_counter() - meter.started) * 1000:7.2f} COMMIT")
            return original_commit(connection)

        BaseDatabaseWrapper._commit = counted_commit
        self._watch = watch

    def verify(self, client: Any, conversation_id: str, token: str) -> dict[str, Any]:
        """One data action call: its JSON answer, wall ms, own ms and statements by kind."""
        from django.db import connections

        from sandbox import defaults

        for alias in connections:
            self._watch(connections[alias])
        credentials = base64.b64encode(
            f"{defaults.DATA_ACTION_USERNAME}:{defaults.DATA_ACTION_PASSWORD}".encode()
        ).decode()
        with _lock:
            self.http_seconds = 0.0
            self.statements = Counter()
            self.log = []
        started = self.started = time.perf_counter()
        response = client.post(
            VERIFY_PATH,
            data={"conversationId": conversation_id, "memberToken": token},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {credentials}",
        )
        wall = time.perf_counter() - started
        assert response.status_code == 200, response.content
        with _lock:
            http, statements = self.http_seconds, dict(self.statements)
            self.log.append(f"{wall * 1000:7.2f} end (HTTP to Genesys {http * 1000:.2f} ms)")
        return {
            "answer": response.json(),
            "wall_ms": wall * 1000,
            "own_ms": (wall - http) * 1000,
            "statements": statements,
        }


def summarise(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95 of own and wall time, and the median statement count (total and per kind)."""
    own = sorted(call["own_ms"] for call in calls)
    wall = sorted(call["wall_ms"] for call in calls)
    kinds = sorted({kind for call in calls for kind in call["statements"]})
    per_kind = {kind: statistics.median(call["statements"].get(kind, 0) for call in calls) for kind in kinds}
    totals = [sum(n for kind, n in call["statements"].items() if kind != "COMMIT") for call in calls]
    states = Counter(call["answer"].get("pushState") for call in calls)
    return {
        "verifies": len(calls),
        "own_ms": {"p50": round(statistics.median(own), 2), "p95": round(own[int(0.95 * (len(own) - 1))], 2)},
        "wall_ms": {"p50": round(statistics.median(wall), 2), "p95": round(wall[int(0.95 * (len(wall) - 1))], 2)},
        "sql_statements": statistics.median(totals),
        "sql_by_kind": per_kind,
        "push_states": dict(states),
    }


# Where a verify's time goes (`--phases`): wall time inside each of these per verify, in any thread. Nested: a phase
# includes the phases it calls (the view includes everything). Patched where the callers look them up.
PHASES = (
    ("messaging.views", "seconds_until_allowed"),
    ("messaging.verification", "check_member_token"),
    ("messaging.verification", "_token_on_conversation"),
    ("messaging.verification", "_spend_token"),
    ("messaging.outbox.records", "record_and_start"),
    ("messaging.outbox.delivery.Delivery", "run"),
    ("messaging.outbox.delivery", "_still_current"),
    ("messaging.outbox.records", "mark_delivered"),
    ("messaging.outbox.lease", "release_if_done"),
    ("messaging.outbox.deadline.Deadline", "call"),
    ("messaging.genesys.client.GenesysClient", "_call"),
    ("messaging.genesys.pool.TokenPool", "acquire"),
    ("messaging.genesys.oauth.TokenService", "get_token"),
    ("requests.Session", "prepare_request"),
    ("requests.adapters.HTTPAdapter", "send"),
    ("config.cache.ResilientRedisCache", "_call"),
)


class PhaseTimer:
    """Wraps PHASES with a timer; `take(verifies)` returns ms and calls per verify since the last take."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        for where, name in PHASES:
            owner = _resolve(where)
            setattr(owner, name, self._timed(f"{where.rsplit('.', 1)[-1]}.{name}", getattr(owner, name)))

    def _timed(self, label: str, function: Any) -> Any:
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with _lock:
                    timer.seconds[label] += time.perf_counter() - started
                    timer.calls[label] += 1

        return timed

    def take(self, verifies: int) -> dict[str, dict[str, float]]:
        with _lock:
            taken = {
                label: {"ms": round(seconds / verifies * 1000, 2), "calls": round(self.calls[label] / verifies, 1)}
                for label, seconds in self.seconds.most_common()
            }
            self.seconds.clear()
            self.calls.clear()
        return taken


def _resolve(dotted: str) -> Any:
    """A module, or a class inside one, by its dotted path."""
    import importlib

    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            found = getattr(found, part)
        return found
    raise ImportError(dotted)
