"""Pushes with a past, for the tests of the health page and the backlog gauges (a plain module: the unit and the
browser tests both seed the same history; timestamps are set by UPDATE since created_at/updated_at are automatic).
"""

from __future__ import annotations

import datetime
import uuid

from messaging.models import AttributePush, ConversationLink

State = AttributePush.State


def add_push(
    *,
    state: str,
    created: datetime.datetime,
    delivered: datetime.datetime | None = None,
    updated: datetime.datetime | None = None,
    last_error: str = "",
    failed: datetime.datetime | None = None,
) -> AttributePush:
    """One push of a conversation of its own, with the given state and times; a failed one failed when it was last
    updated unless `failed` says when (a push delivered after a retry may have failed before)."""
    if failed is None and state == State.FAILED:
        failed = updated or created
    link = ConversationLink.objects.create(conversation_id=uuid.uuid4())
    push = AttributePush.objects.create(conversation=link, version=1, state=state, last_error=last_error)
    AttributePush.objects.filter(pk=push.pk).update(
        created_at=created, delivered_at=delivered, updated_at=updated or delivered or created, failed_at=failed
    )
    push.refresh_from_db()
    return push


def seed_history(now: datetime.datetime) -> dict[str, int]:
    """A day of traffic: deliveries in several hours (latency 1..10 s), a few failures, a backlog (one push
    pending for 20 minutes), and deliveries on earlier days. Returns what was seeded, for the assertions."""
    hour = datetime.timedelta(hours=1)
    delivered_24h = 0
    for hours_ago, count in [(0, 3), (2, 5), (5, 2), (11, 4), (22, 1)]:
        for index in range(count):
            created = now - hours_ago * hour - datetime.timedelta(minutes=index + 1)
            add_push(state=State.DELIVERED, created=created, delivered=created + datetime.timedelta(seconds=index + 1))
            delivered_24h += 1
    for days_ago in (2, 4, 6):
        created = now - datetime.timedelta(days=days_ago)
        add_push(state=State.DELIVERED, created=created, delivered=created + datetime.timedelta(seconds=2))
    failed = 0
    for hours_ago in (1, 5):
        moment = now - hours_ago * hour
        add_push(state=State.FAILED, created=moment, updated=moment, last_error="GenesysBadRequest: HTTP 400 bad")
        failed += 1
    add_push(
        state=State.FAILED,
        created=now - datetime.timedelta(minutes=3),
        updated=now - datetime.timedelta(minutes=3),
        last_error="GenesysUnavailable: HTTP 503 upstream down",
    )
    failed += 1
    add_push(state=State.PENDING, created=now - datetime.timedelta(minutes=20))
    add_push(state=State.PENDING, created=now - datetime.timedelta(minutes=2))
    return {"delivered_24h": delivered_24h, "delivered_7d": delivered_24h + 3, "failed": failed, "pending": 2}
