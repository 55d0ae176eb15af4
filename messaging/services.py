"""The public use cases other apps call (the data action's own is verification.py).

repush_member(user=...)   a member's level (or anything the attributes say) changed: re-push open
                          conversations, delivered by the worker
repush_members(user_ids=...)   the same for many members (a level renamed), in batches
retry_pushes(push_ids=...)   the admin's "Retry now"
"""

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .attributes import verified_attributes
from .identity.adapter import active_member_for_user_id
from .models import AttributePush, ConversationLink
from .outbox import records
from .outbox.schedule import schedule_delivery
from .outbox.selectors import open_links_for_members
from .outbox.states import PushState

logger = logging.getLogger("messaging.outbox")


def repush_member(*, user: Any) -> int:
    """A new version for each of the member's open conversations, read fresh from the database (call it after
    the change committed); delivered by the worker. Returns how many pushes were recorded."""
    return repush_members(user_ids=[user.pk])


def repush_members(*, user_ids: Iterable[int], batch_size: int = 200) -> int:
    """repush_member for many members (e.g. every member of a renamed level): `batch_size` members at a time,
    each batch one query for their open conversations, then one push per conversation through the outbox.
    Members without an open conversation cost nothing more. Returns how many pushes were recorded."""
    count = 0
    for batch in _batches(user_ids, batch_size):
        links_by_user: dict[int, list[ConversationLink]] = {}
        for link in open_links_for_members(batch):
            links_by_user.setdefault(link.user_id, []).append(link)
        for user_id, links in links_by_user.items():
            member = active_member_for_user_id(user_id)
            if member is None:
                continue
            for link in links:
                now = timezone.now()
                records.record_push(
                    conversation_id=link.conversation_id,
                    user_id=member.user_id,
                    attributes=verified_attributes(member, at=now),
                    verified=True,
                    cause=AttributePush.Cause.LEVEL_CHANGE,
                    enqueue=True,
                    now=now,
                )
            count += len(links)
            logger.info("re-push member=%s: %d conversation(s)", member.public_id, len(links))
    return count


def _batches(items: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def retry_pushes(*, push_ids: Iterable[int]) -> tuple[int, int]:
    """Admin "Retry now": failed (or waiting) pushes that are still their conversation's newest version get fresh
    attempts and a delivery task. Returns (queued, skipped)."""
    queued = skipped = 0
    for push_id in push_ids:
        with transaction.atomic():
            push = AttributePush.objects.filter(pk=push_id).first()
            if push is None:
                skipped += 1
                continue
            link = ConversationLink.objects.select_for_update().get(pk=push.conversation_id)
            newest = link.pushes.aggregate(v=Max("version"))["v"]
            if push.version != newest or push.state not in (PushState.FAILED, PushState.PENDING):
                skipped += 1
                continue
            records.reopen(push)
            schedule_delivery(link.pk)
            queued += 1
    return queued, skipped
