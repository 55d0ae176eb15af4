"""The wall-clock limit of an inline delivery (the data action answers within seconds) and its thread pool."""

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ParamSpec, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from .. import processes

# Below this many seconds left, an inline delivery does not start another call.
MIN_STEP_SECONDS = 0.25
INLINE_THREADS = 16
T = TypeVar("T")
P = ParamSpec("P")


class NoTimeLeft(Exception):
    """No time left to start the next call; nothing is in flight."""


class InlineTimeout(Exception):
    """A call outlived the inline deadline and may still reach Genesys."""


_thread_connections_lock = threading.Lock()


def inline_executor() -> ThreadPoolExecutor:
    """The pool inline calls run in. Per process (messaging.processes): a forked web worker must not inherit the
    parent's threads."""
    return processes.per_process(
        "outbox.inline_executor",
        lambda: ThreadPoolExecutor(max_workers=INLINE_THREADS, thread_name_prefix="genesys-inline"),
    )


# The database connections pool threads opened (the token and pacing state live in the cache, which may be the
# database cache): kept across calls like a web thread's (CONN_MAX_AGE), closed by close_inline_connections().
_thread_connections: dict[int, list[BaseDatabaseWrapper]] = {}


def _in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        # Not close_all(): with PostgreSQL and the database cache that made two new connections per verify.
        # A connection is dropped only when broken or older than CONN_MAX_AGE (0: after every call, as SQLite's).
        opened = list(connections.all(initialized_only=True))
        for connection in opened:
            connection.close_if_unusable_or_obsolete()
        with _thread_connections_lock:
            _thread_connections[threading.get_ident()] = [c for c in opened if c.connection is not None]


def close_inline_connections() -> None:
    """Close the connections the pool threads keep (tests before dropping their database; an operator's shell).
    Call it while no inline call runs."""
    with _thread_connections_lock:
        kept = [connection for held in _thread_connections.values() for connection in held]
        _thread_connections.clear()
    for connection in kept:
        connection.inc_thread_sharing()  # closed from this thread, not the pool thread that opened it
        try:
            connection.close()
        finally:
            connection.dec_thread_sharing()


class Deadline:
    """Wall-clock limit of an inline delivery. Without one (the worker), calls run in the caller's thread and are
    bounded by the client's own timeouts and retries."""

    def __init__(self, seconds: float | None) -> None:
        self.ends_at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        return None if self.ends_at is None else max(self.ends_at - time.monotonic(), 0.0)

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """fn(*args) within the deadline. NoTimeLeft when too little is left to start it (nothing sent),
        InlineTimeout when it outlived the deadline (it may still land)."""
        if self.ends_at is None:
            return fn(*args, **kwargs)
        remaining = self.ends_at - time.monotonic()
        if remaining < MIN_STEP_SECONDS:
            raise NoTimeLeft
        # A thread, because the client's timeouts and retries are per call and could add up past the data
        # action's 20 s: the answer must not wait for them.
        future = inline_executor().submit(functools.partial(_in_thread, fn, *args, **kwargs))
        try:
            return future.result(timeout=remaining)
        except FutureTimeout:
            if future.cancel():
                raise NoTimeLeft from None
            raise InlineTimeout from None
