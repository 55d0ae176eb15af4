"""Recovery: find what a dead process left behind and schedule its delivery again.

django-tasks' database worker never re-runs a task that was RUNNING when its worker died, so the outbox is swept
instead (`deliver_pushes` runs this at start-up and every --sweep-interval seconds).
"""

import dataclasses
import datetime
import logging

from django.db import transaction
from django.utils import timezone

from ..app_settings import app_settings
from . import records
from .schedule import conversations_with_queued_delivery, schedule_delivery
from .selectors import overdue_conversation_ids, stale_deliveries

logger = logging.getLogger("messaging.outbox")


@dataclasses.dataclass(frozen=True)
class SweepReport:
    recovered: int  # deliveries interrupted by a dead process, back to pending
    enqueued: int  # conversations given a new delivery task


def sweep_outbox(*, grace: float | None = None) -> SweepReport:
    """Pushes delivering under an expired lease go back to pending, and pending pushes overdue by more than
    `grace` seconds with no task waiting for them (it was lost, or ran while the lease was taken) get a new task.
    A duplicate task is harmless: deliveries are serialised by the lease and idempotent per version.
    """
    grace = app_settings.PUSH_SWEEP_GRACE if grace is None else grace
    now = timezone.now()
    stale_ids = list(stale_deliveries(now=now).order_by().values_list("id", "conversation_id"))
    before = now - datetime.timedelta(seconds=grace)
    overdue = overdue_conversation_ids(before=before)
    # An overdue push whose task still waits in the queue is late, not lost: a long queue after an outage must
    # not be multiplied by the sweep.
    overdue = list(set(overdue) - conversations_with_queued_delivery(overdue))
    link_ids = {link_id for _, link_id in stale_ids} | set(overdue)
    if not link_ids:
        return SweepReport(0, 0)
    with transaction.atomic():
        recovered = records.recover_interrupted([push_id for push_id, _ in stale_ids], now=now)
        records.postpone_overdue(overdue, before=before, now=now)
        for link_id in sorted(link_ids):
            schedule_delivery(link_id)
    logger.info("outbox sweep: %d interrupted delivery(ies) recovered, %d task(s) enqueued", recovered, len(link_ids))
    return SweepReport(recovered, len(link_ids))
