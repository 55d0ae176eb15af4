"""Retention (messaging/outbox/retention.py): what the worker prunes after GENESYS_RETENTION_DAYS, what it keeps.
The clock is injected (`now`); rows are aged by writing their timestamps."""

import datetime
import threading
import uuid

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from messaging.management.commands import deliver_pushes
from messaging.models import AttributePush, ConversationLink, MemberTokenGrant, MemberTokenUse
from messaging.outbox.retention import prune_expired
from messaging.tasks import deliver_conversation_pushes

pytestmark = pytest.mark.django_db
State = AttributePush.State
NOW = timezone.now()
OLD = NOW - datetime.timedelta(days=31)
RECENT = NOW - datetime.timedelta(days=29)


def link_with(*states, at=OLD, verified_at=OLD, **fields):
    """A conversation link with one push per state (versions 1, 2, ...), every row last changed `at`."""
    link = ConversationLink.objects.create(conversation_id=uuid.uuid4(), **fields)
    for version, state in enumerate(states, start=1):
        AttributePush.objects.create(conversation=link, version=version, state=state, attributes={"a": "b"})
    AttributePush.objects.filter(conversation=link).update(updated_at=at)
    ConversationLink.objects.filter(pk=link.pk).update(updated_at=at, last_verified_at=verified_at)
    return link


def versions(link):
    return sorted(AttributePush.objects.filter(conversation=link).values_list("version", flat=True))


def test_old_delivered_and_superseded_pushes_go_but_a_conversations_newest_stays(settings):
    settings.GENESYS_RETENTION_DAYS = 30
    # Still verified recently: the link stays, its old finished pushes go but the newest.
    link = link_with(State.SUPERSEDED, State.DELIVERED, State.DELIVERED, verified_at=RECENT)
    report = prune_expired(now=NOW)
    assert versions(link) == [3]
    assert report.pushes == 2 and report.links == 0


def test_recent_pushes_stay():
    link = link_with(State.SUPERSEDED, State.DELIVERED, at=RECENT, verified_at=RECENT)
    prune_expired(now=NOW, days=30)
    assert versions(link) == [1, 2]


def test_an_ended_conversation_goes_with_its_pushes():
    link = link_with(State.SUPERSEDED, State.DELIVERED)
    closed = link_with(State.DELIVERED, state=ConversationLink.State.CLOSED)
    report = prune_expired(now=NOW, days=30)
    assert not ConversationLink.objects.filter(pk__in=[link.pk, closed.pk]).exists()
    assert not AttributePush.objects.exists()
    assert report.links == 2


@pytest.mark.parametrize("state", [State.FAILED, State.PENDING, State.DELIVERING])
def test_failed_and_open_pushes_stay_with_their_conversation(state):
    link = link_with(State.SUPERSEDED, state)
    prune_expired(now=NOW, days=30)
    assert ConversationLink.objects.filter(pk=link.pk).exists()
    assert versions(link) == [2]  # the old superseded one goes all the same


def test_a_conversation_recently_verified_pushed_or_leased_stays():
    verified = link_with(State.DELIVERED, verified_at=RECENT)
    pushed = link_with(State.DELIVERED)
    AttributePush.objects.filter(conversation=pushed).update(updated_at=RECENT)
    leased = link_with(State.DELIVERED, lease_until=NOW + datetime.timedelta(seconds=60), lease_owner="t")
    prune_expired(now=NOW, days=30)
    assert ConversationLink.objects.filter(pk__in=[verified.pk, pushed.pk, leased.pk]).count() == 3


def test_spent_token_uses_and_dead_grants_go(make_member):
    user = make_member("erin")
    MemberTokenUse.objects.create(token_digest="a" * 64, conversation_id=uuid.uuid4(), used_at=OLD)
    fresh_use = MemberTokenUse.objects.create(token_digest="b" * 64, conversation_id=uuid.uuid4(), used_at=RECENT)
    grant = {"user": user, "auth_digest": "x"}
    MemberTokenGrant.objects.create(grant_id="expired", expires_at=OLD, **grant)
    MemberTokenGrant.objects.create(
        grant_id="revoked", expires_at=NOW + datetime.timedelta(days=1), revoked_at=OLD, **grant
    )
    live = MemberTokenGrant.objects.create(grant_id="live", expires_at=NOW + datetime.timedelta(days=1), **grant)
    recently_revoked = MemberTokenGrant.objects.create(
        grant_id="just-revoked", expires_at=NOW + datetime.timedelta(days=1), revoked_at=RECENT, **grant
    )
    report = prune_expired(now=NOW, days=30)
    assert list(MemberTokenUse.objects.all()) == [fresh_use]
    assert set(MemberTokenGrant.objects.values_list("pk", flat=True)) == {live.pk, recently_revoked.pk}
    assert (report.token_uses, report.grants) == (1, 2)


def test_finished_task_rows_go_and_waiting_ones_stay():
    for _ in range(3):
        deliver_conversation_pushes.enqueue(1)
    rows = list(DBTaskResult.objects.order_by("pk"))
    DBTaskResult.objects.filter(pk=rows[0].pk).update(status="SUCCESSFUL", finished_at=OLD)
    DBTaskResult.objects.filter(pk=rows[1].pk).update(status="FAILED", finished_at=OLD)
    recent = DBTaskResult.objects.filter(pk=rows[2].pk)
    report = prune_expired(now=NOW, days=30)
    assert report.tasks == 2
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [rows[2].pk]
    recent.update(status="SUCCESSFUL", finished_at=RECENT)
    assert prune_expired(now=NOW, days=30).tasks == 0


def test_the_host_sites_own_finished_task_rows_stay():
    """Installing the app must not prune the host's tasks: rows of its queues, or of its own tasks on any queue."""
    for _ in range(3):
        deliver_conversation_pushes.enqueue(1)
    ours, host_queue, host_task = DBTaskResult.objects.order_by("pk")
    DBTaskResult.objects.update(status="SUCCESSFUL", finished_at=OLD)
    DBTaskResult.objects.filter(pk=host_queue.pk).update(queue_name="default")
    DBTaskResult.objects.filter(pk=host_task.pk).update(task_path="shop.tasks.send_receipt")

    assert prune_expired(now=NOW, days=30).tasks == 1
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {host_queue.pk, host_task.pk}


def test_the_worker_serves_only_the_apps_queue():
    parser = deliver_pushes.Command().create_parser("manage.py", "deliver_pushes")
    assert parser.parse_args([]).queue_name == "genesys"


def test_small_batches_and_a_bound_per_run():
    for _ in range(7):
        link_with(State.DELIVERED)
    first = prune_expired(now=NOW, days=30, batch=2, limit=5)
    assert first.links == 5 and ConversationLink.objects.count() == 2
    assert prune_expired(now=NOW, days=30, batch=2, limit=5).links == 2


def test_the_workers_sweep_runs_retention(monkeypatch):
    stop = threading.Event()
    calls = []
    monkeypatch.setattr(deliver_pushes, "sweep_outbox", lambda grace: calls.append("sweep"))
    monkeypatch.setattr(deliver_pushes, "prune_expired", lambda: (calls.append("retention"), stop.set()))
    # On its own thread, as the worker runs it: its close_old_connections must not close the test's connection
    # (inside the test's transaction, on a database with CONN_MAX_AGE, that breaks the transaction).
    sweeper = threading.Thread(target=deliver_pushes._sweep_forever, args=(0.0, None, stop))
    sweeper.start()
    sweeper.join(timeout=30)
    assert not sweeper.is_alive()
    assert calls == ["sweep", "retention"]
