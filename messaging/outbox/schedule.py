"""The hook through which the outbox schedules deliveries without importing the task backend.

messaging/tasks.py installs a Scheduler at AppConfig.ready (`set_scheduler`). Delivery asks it to run a
delivery for a conversation (now or later) and the sweep asks which conversations already have one queued.
With the database task backend an enqueued delivery commits (or not) with the caller's transaction, so a task
and the state it acts on cannot part.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class Scheduler(Protocol):
    """What the outbox needs from a task queue."""

    def enqueue(self, link_id: int, run_after: datetime.datetime | None = None) -> None:
        """Queue a delivery of the conversation `link_id`, at once or not before `run_after`."""

    def queued(self, link_ids: Collection[int]) -> set[int]:
        """Which of these conversations already have a delivery waiting in the queue (an empty set when the
        backend cannot tell: the sweep then enqueues anyway, which is harmless)."""

    def prune_finished(self, *, before: datetime.datetime, limit: int) -> int:
        """Delete at most `limit` task rows that finished (succeeded or failed) before `before`; how many (0 when
        the backend keeps no rows)."""


class _Unset:
    def enqueue(self, link_id: int, run_after: datetime.datetime | None = None) -> None:
        raise ImproperlyConfigured(
            "No outbox scheduler: add 'messaging' to INSTALLED_APPS (its AppConfig.ready installs the task queue)."
        )

    def queued(self, link_ids: Collection[int]) -> set[int]:
        return set()

    def prune_finished(self, *, before: datetime.datetime, limit: int) -> int:
        return 0


_scheduler: Scheduler = _Unset()


def set_scheduler(scheduler: Scheduler) -> None:
    """Install the scheduler (messaging/tasks.py does, at start-up)."""
    global _scheduler
    _scheduler = scheduler


def schedule_delivery(link_id: int, *, run_after: datetime.datetime | None = None) -> None:
    """A delivery for the conversation, now or not before `run_after`."""
    _scheduler.enqueue(link_id, run_after)


def conversations_with_queued_delivery(link_ids: Collection[int]) -> set[int]:
    """Which of these conversations already have a delivery task waiting."""
    if not link_ids:
        return set()
    return _scheduler.queued(link_ids)


def prune_finished_tasks(*, before: datetime.datetime, limit: int) -> int:
    """Finished task rows older than `before`, at most `limit` of them, deleted (retention.py)."""
    return _scheduler.prune_finished(before=before, limit=limit)
