"""When the next delivery task may run (what `deliver_pushes --batch` waits for): the earliest run_after of the
tasks still waiting in the worker's queues, "now" for a task enqueued without one, None for an empty queue."""

import datetime

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging.tasks import deliver_conversation_pushes, next_delivery_at

pytestmark = pytest.mark.django_db
QUEUES = ["genesys", "default"]


def test_nothing_waiting_means_no_next_delivery():
    assert next_delivery_at(queue_names=QUEUES, backend_name="default") is None


def test_the_earliest_run_after_of_the_waiting_tasks():
    soon = timezone.now() + datetime.timedelta(seconds=3)
    deliver_conversation_pushes.using(run_after=soon + datetime.timedelta(seconds=5)).enqueue(1)
    deliver_conversation_pushes.using(run_after=soon).enqueue(2)
    assert next_delivery_at(queue_names=QUEUES, backend_name="default") == soon


def test_a_task_without_run_after_is_due_now():
    before = timezone.now()
    deliver_conversation_pushes.using(run_after=before + datetime.timedelta(hours=1)).enqueue(1)
    deliver_conversation_pushes.enqueue(2)
    assert before <= next_delivery_at(queue_names=QUEUES, backend_name="default") <= timezone.now()


def test_tasks_of_other_queues_and_finished_tasks_are_not_waited_for():
    later = timezone.now() + datetime.timedelta(seconds=3)
    deliver_conversation_pushes.using(run_after=later, queue_name="default").enqueue(1)
    deliver_conversation_pushes.using(run_after=later - datetime.timedelta(seconds=1)).enqueue(2)
    DBTaskResult.objects.filter(queue_name="genesys").update(status="SUCCESSFUL")
    assert next_delivery_at(queue_names=["genesys"], backend_name="default") is None
    assert next_delivery_at(queue_names=["*"], backend_name="default") == later
    assert next_delivery_at(queue_names=["*"], backend_name="default", excluded_queue_names=["default"]) is None
