"""Background delivery of attribute pushes (django-tasks, database backend, queue "genesys").

Run by `manage.py deliver_pushes` (the database worker plus the outbox sweep; `make run` starts it).
"""

import datetime

from django.db.models import Min
from django.utils import timezone
from django_tasks import task

from . import services

QUEUE = "genesys"
# A worker can wait longer for API budget than the verify endpoint (which answers the flow within seconds).
WORKER_PACING_WAIT = 30.0


@task(queue_name=QUEUE)
def deliver_conversation_pushes(link_id: int) -> str:
    """Deliver what is due for one conversation. Safe to run twice or late: the conversation's lease and the
    push states decide what is sent, not the task."""
    from .genesys.client import get_client, pacing_wait

    with pacing_wait(WORKER_PACING_WAIT):
        return services.deliver_from_task(link_id=link_id, client=get_client())


def next_delivery_at(
    *, queue_names: list[str], backend_name: str, excluded_queue_names: list[str] | None = None
) -> datetime.datetime | None:
    """When the earliest task waiting in these queues (database backend; "*" is every queue but the excluded)
    may run: now or earlier when one is ready, None when none waits. `deliver_pushes --batch` waits for it
    within its deadline."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    waiting = DBTaskResult.objects.filter(status="READY", backend_name=backend_name)
    if "*" not in queue_names:
        waiting = waiting.filter(queue_name__in=queue_names)
    if excluded_queue_names:
        waiting = waiting.exclude(queue_name__in=excluded_queue_names)
    # django-tasks stores "no run_after" as the largest date: such a task is ready at once.
    if waiting.filter(run_after=get_date_max()).exists():
        return timezone.now()
    return waiting.aggregate(earliest=Min("run_after"))["earliest"]
