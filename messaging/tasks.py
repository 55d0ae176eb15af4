"""Background delivery of attribute pushes (django-tasks, database backend, queue "genesys").

Run by `manage.py deliver_pushes` (the database worker plus the outbox sweep; `make run` starts it).
"""

from django_tasks import task

from . import services

QUEUE = "genesys"
# A worker can wait longer for API budget than the verify endpoint (which answers the flow within seconds).
WORKER_PACING_WAIT = 30.0


@task(queue_name=QUEUE)
def deliver_conversation_pushes(link_id: int) -> str:
    """Deliver what is due for one conversation. Safe to run twice or late: the conversation's lease and the
    push states decide what is sent, not the task."""
    from .client import get_client, pacing_wait

    with pacing_wait(WORKER_PACING_WAIT):
        return services.deliver_from_task(link_id=link_id, client=get_client())
