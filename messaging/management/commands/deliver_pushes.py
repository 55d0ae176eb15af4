"""The push worker: django-tasks' database worker on the "genesys" queue, plus the outbox sweep.

Why not plain `db_worker`: it never re-runs a task that was RUNNING when its worker died, and it has no
recurring tasks. The outbox is the truth, so this command sweeps it at start-up and every --sweep-interval
seconds (in a thread beside the worker loop), re-enqueueing what a dead process left behind. Every db_worker
option works here too (--queue-name, --interval, --batch, --max-tasks, --worker-id, --reload).

`deliver_pushes --batch`: recover, then run delivery tasks until none is ready and none comes due before
--batch-deadline seconds after the start; exit. A retry scheduled a few milliseconds ahead (a short backoff) is
therefore run, not left behind; a task due after the deadline (a long backoff, a lease still held) is left to the
next run. With --max-tasks, one pass only, as db_worker does.

`deliver_pushes --once`: no worker; recover, deliver every due push in this process, exit (cron, operations).
"""

import logging
import signal
import threading
import time
from argparse import ArgumentParser
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from messaging.genesys.client import get_client
from messaging.outbox.delivery import deliver_due
from messaging.outbox.retention import prune_expired
from messaging.outbox.sweep import sweep_outbox
from messaging.tasks import QUEUE, next_delivery_at

logger = logging.getLogger("messaging.outbox")


# Seconds between two retention runs (outbox/retention.py): old rows go in small batches, no hurry.
RETENTION_INTERVAL = 600.0


def _sweep_forever(interval: float, grace: float | None, stop: threading.Event) -> None:
    next_retention = time.monotonic()
    while not stop.is_set():
        try:
            close_old_connections()
            sweep_outbox(grace=grace)
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + RETENTION_INTERVAL
                prune_expired()
        except Exception:
            # A locked or unreachable database: try again next round rather than lose the sweeper.
            logger.exception("outbox sweep failed")
        finally:
            close_old_connections()
        stop.wait(interval)


def pause(seconds: float) -> None:
    """Wait for the next task of a batch to come due (tests replace it to move time on without waiting)."""
    time.sleep(seconds)


class Command(DbWorkerCommand):
    help = "Deliver attribute pushes: the django-tasks database worker on the genesys queue plus the outbox sweep."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        # The app's queue only: the host site's own queues are its workers' (its Procfile runs db_worker for
        # them). No reload unless asked.
        parser.set_defaults(queue_name=QUEUE, reload=False)
        parser.add_argument(
            "--sweep-interval",
            type=float,
            default=15.0,
            help="Seconds between outbox sweeps (default: %(default)s).",
        )
        parser.add_argument(
            "--sweep-grace",
            type=float,
            default=None,
            help="Seconds a pending push may be overdue before it is re-enqueued (default: GENESYS_PUSH_SWEEP_GRACE).",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Recover interrupted deliveries, deliver every due push in this process, and exit.",
        )
        parser.add_argument(
            "--batch-deadline",
            type=float,
            default=10.0,
            help="With --batch: seconds after the start until which the batch waits for a task to come due, "
            "such as a retry after a short backoff (default: %(default)s).",
        )

    def handle(  # type: ignore[override]  # adds its own options to db_worker's
        self,
        *args: Any,
        sweep_interval: float,
        sweep_grace: float | None,
        once: bool,
        batch_deadline: float,
        **options: Any,
    ) -> None:
        if once:
            started = time.monotonic()
            report = sweep_outbox(grace=0)
            outcomes = deliver_due(client=get_client())
            self.stdout.write(
                f"recovered {report.recovered}, delivered per outcome {outcomes} in {time.monotonic() - started:.1f}s"
            )
            return
        if options.get("batch"):
            self._batch(args, options, sweep_grace=sweep_grace, deadline=time.monotonic() + batch_deadline)
            return
        stop = threading.Event()
        sweeper = threading.Thread(
            target=_sweep_forever, args=(sweep_interval, sweep_grace, stop), name="outbox-sweep", daemon=True
        )
        sweeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()

    def _batch(self, args: tuple, options: dict[str, Any], *, sweep_grace: float | None, deadline: float) -> None:
        """Passes of recover-then-run-what-is-ready, until no task comes due before the deadline; no sweeper
        thread. The worker takes over SIGINT/SIGTERM; a caller that stays alive (call_command) gets its own back."""
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options.get("exclude_queues") else []
        while True:
            sweep_outbox(grace=sweep_grace)
            saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                super().handle(*args, **options)
            finally:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)
            if options.get("max_tasks") is not None:
                return
            # The worker only runs tasks whose run_after has passed: a retry due in a few milliseconds is not
            # ready yet when it looks, though it is work of this batch.
            due_at = next_delivery_at(
                queue_names=queue_names, backend_name=options["backend_name"], excluded_queue_names=excluded
            )
            if due_at is None:
                return
            wait = max((due_at - timezone.now()).total_seconds(), 0.0)
            if time.monotonic() + wait > deadline:
                return
            if wait:
                pause(wait)
