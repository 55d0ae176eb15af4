"""Background delivery of attribute pushes (django-tasks, database backend, queue "genesys").

The only module that imports django-tasks: at AppConfig.ready it installs `TaskScheduler` as the outbox's
scheduler (outbox/schedule.py), so delivery never imports this module. Run by `manage.py deliver_pushes` (the
database worker plus the outbox sweep; `make run` starts it).
"""

import datetime
from collections.abc import Collection

from django.db.models import Min
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult, get_date_max

from .genesys.client import get_client, pacing_wait
from .outbox.delivery import deliver_from_task

QUEUE = "genesys"
# A worker can wait longer for API budget than the verify endpoint (which answers the flow within seconds).
WORKER_PACING_WAIT = 30.0


@task(queue_name=QUEUE)
def deliver_conversation_pushes(link_id: int) -> str:
    """Deliver what is due for one conversation. Safe to run twice or late: the conversation's lease and the
    push states decide what is sent, not the task."""
    with pacing_wait(WORKER_PACING_WAIT):
        return deliver_from_task(link_id=link_id, client=get_client()).value


class TaskScheduler:
    """The outbox's scheduler (outbox.schedule.Scheduler) on django-tasks. With the database backend an enqueued
    task commits (or not) with the caller's transaction."""

    def enqueue(self, link_id: int, run_after: datetime.datetime | None = None) -> None:
        runner = deliver_conversation_pushes
        (runner if run_after is None else runner.using(run_after=run_after)).enqueue(link_id)

    def queued(self, link_ids: Collection[int]) -> set[int]:
        """Conversations with a delivery task waiting (database backend only; with another backend nothing is
        known and the sweep enqueues anyway, which is harmless)."""
        if not link_ids or not isinstance(deliver_conversation_pushes.get_backend(), DatabaseBackend):
            return set()
        waiting = DBTaskResult.objects.filter(
            status="READY",
            task_path=deliver_conversation_pushes.module_path,
            args_kwargs__args__0__in=list(link_ids),
        ).values_list("args_kwargs", flat=True)
        return {args_kwargs["args"][0] for args_kwargs in waiting}

    def prune_finished(self, *, before: datetime.datetime, limit: int) -> int:
        """The app's finished rows (succeeded or failed; its queue, its tasks) older than `before`: at most
        `limit`. The host site's own task rows, on any queue, are the host's to keep or prune."""
        if not isinstance(deliver_conversation_pushes.get_backend(), DatabaseBackend):
            return 0
        ids = list(
            DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
                finished_at__lt=before,
                queue_name=QUEUE,
                task_path=deliver_conversation_pushes.module_path,
            ).values_list("pk", flat=True)[:limit]
        )
        return DBTaskResult.objects.filter(pk__in=ids).delete()[0] if ids else 0


def next_delivery_at(
    *, queue_names: list[str], backend_name: str, excluded_queue_names: list[str] | None = None
) -> datetime.datetime | None:
    """When the earliest task waiting in these queues (database backend; "*" is every queue but the excluded)
    may run: now or earlier when one is ready, None when none waits. `deliver_pushes --batch` waits for it
    within its deadline."""
    waiting = DBTaskResult.objects.filter(status="READY", backend_name=backend_name)
    if "*" not in queue_names:
        waiting = waiting.filter(queue_name__in=queue_names)
    if excluded_queue_names:
        waiting = waiting.exclude(queue_name__in=excluded_queue_names)
    # django-tasks stores "no run_after" as the largest date: such a task is ready at once.
    if waiting.filter(run_after=get_date_max()).exists():
        return timezone.now()
    return waiting.aggregate(earliest=Min("run_after"))["earliest"]
