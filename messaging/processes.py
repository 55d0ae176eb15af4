"""One object per process: the registry every "one per process" thing of messaging goes through.

The Genesys client (its pooled Session), the token services and pool, the pacing limiter and the inline executor
each hold sockets, threads or locks that must not cross a fork (gunicorn --preload forks workers from a parent
that may have built them). `per_process(key, factory)` builds the object once per process, shared by its threads;
the fork check lives here only: a process that finds the registry filled by another pid drops every entry
(without closing it: the sockets are the parent's) and builds afresh.

Pure Python, no Django: anything may use it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# Reentrant: a factory may ask for another per-process object (the client asks for the token pool).
_lock = threading.RLock()
_objects: dict[Hashable, Any] = {}
_owner_pid = os.getpid()


def _reinit_after_fork() -> None:
    # A thread of the parent may have held the lock at the fork: the child starts with a fresh one.
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_reinit_after_fork)


def _forget_if_forked() -> None:
    global _owner_pid
    pid = os.getpid()
    if pid != _owner_pid:
        _objects.clear()  # the parent's objects: not closed here, their sockets and threads are the parent's
        _owner_pid = pid


def per_process(key: Hashable, factory: Callable[[], T]) -> T:
    """The object registered under `key` in this process, built by `factory` on first use (and again after a
    fork). Thread-safe: concurrent first callers get the same object, `factory` runs once."""
    with _lock:
        _forget_if_forked()
        try:
            return _objects[key]
        except KeyError:
            made = _objects[key] = factory()
            return made


def reset(*keys: Hashable) -> None:
    """For tests (and an operator's shell): forget the objects under `keys` (all of them when none is given)
    and close what they hold (`close()` or, for an executor, `shutdown(wait=False)`). The next `per_process`
    builds them afresh, reading the settings again."""
    with _lock:
        _forget_if_forked()
        chosen = list(_objects) if not keys else [key for key in keys if key in _objects]
        dropped = [_objects.pop(key) for key in chosen]
    for obj in dropped:
        _close(obj)


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()
        return
    shutdown = getattr(obj, "shutdown", None)
    if callable(shutdown):
        shutdown(wait=False)
