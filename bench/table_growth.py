"""Do the data action and the admin lists stay flat as the outbox grows? Measured nearly empty, then with the tables
filled (100,000 pushes on 50,000 conversations by default).

    .venv/bin/python bench/table_growth.py [--pushes 100000] [--verifies 40] [--requests 20]

One VerifyStack (bench/_verify_stack.py: the sandbox, a fresh database: PostgreSQL when DATABASE_URL names it,
Redis when REDIS_URL is set) and the site in this process (bench/_in_process.py). Each phase measures:
  verify       own time of a first verify (wall time minus HTTP to Genesys), one at a time, p50;
  admin lists  the push list (default sort, and filtered on state), the conversation list: a superuser's GET, p50;
  outbox_counts.
"Empty" already holds a page of rows (the verifies' pushes and a few hundred more), so both phases render a full
admin page. Prints JSON and a one-line summary (full / empty per figure).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._in_process import VerifyMeter, start_django, summarise  # noqa: E402
from bench._verify_stack import VerifyStack  # noqa: E402
from bench.verify_endpoint import start_conversations  # noqa: E402

ADMIN_PAGES = {
    "push_list": "/admin/messaging/attributepush/",
    "push_list_failed": "/admin/messaging/attributepush/?state__exact=failed",
    "link_list": "/admin/messaging/conversationlink/",
}


def fill(pushes: int, *, batch: int = 5000) -> None:
    """`pushes` old pushes, two per conversation (v1 superseded, v2 delivered; 1 in 50 failed), spread over 60 days."""
    from django.db import connection
    from django.utils import timezone

    from messaging.models import AttributePush, ConversationLink

    now = timezone.now()
    links = pushes // 2
    for start in range(0, links, batch):
        made = ConversationLink.objects.bulk_create(
            [ConversationLink(conversation_id=uuid.uuid4(), verified=True) for _ in range(min(batch, links - start))]
        )
        rows = []
        for i, link in enumerate(made, start=start):
            at = now - datetime.timedelta(minutes=i % 86400)
            rows.append(AttributePush(conversation=link, version=1, state="superseded", created_at=at, updated_at=at))
            state = "failed" if i % 50 == 0 else "delivered"
            rows.append(AttributePush(conversation=link, version=2, state=state, created_at=at, updated_at=at))
        AttributePush.objects.bulk_create(rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def timed(fn, count: int) -> float:
    """p50 wall ms of fn() over `count` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def measure(stack: VerifyStack, work: list[tuple[str, str]], requests_per_page: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from messaging.models import AttributePush
    from messaging.outbox.selectors import outbox_counts

    meter = VerifyMeter()
    client = Client()
    verifies = summarise([meter.verify(client, conversation_id, token) for conversation_id, token in work])
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="bench-admin"))

    def page(path: str) -> None:
        response = admin.get(path)
        assert response.status_code == 200, response.status_code

    return {
        "pushes": AttributePush.objects.count(),
        "verify_own_ms_p50": verifies["own_ms"]["p50"],
        "verify_sql_statements": verifies["sql_statements"],
        **{f"{name}_ms_p50": timed(lambda p=path: page(p), requests_per_page) for name, path in ADMIN_PAGES.items()},
        "outbox_counts_ms_p50": timed(outbox_counts, requests_per_page),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=100_000)
    parser.add_argument("--verifies", type=int, default=40, help="first verifies measured per phase")
    parser.add_argument("--requests", type=int, default=20, help="requests per admin list per phase")
    args = parser.parse_args()
    env = {"GENESYS_VERIFY_RATE": "1000000/m", "LOG_LEVEL": "WARNING"}
    with VerifyStack(env=env) as stack:
        assert stack.sandbox_url
        requests.post(
            f"{stack.sandbox_url}/_config", json={"flow_enabled": False, "rate_per_minute": 1_000_000}, timeout=10
        ).raise_for_status()
        pages = stack.member_pages((2 * args.verifies + 5) // 3 + 2)
        work = start_conversations(stack.sandbox_url, pages, 2 * args.verifies + 5, prefix="growth")
        start_django(stack, **env)
        from django.contrib.auth import get_user_model
        from django.test import Client

        get_user_model().objects.create_superuser("bench-admin", "admin@example.com", "bench-admin-password")
        meter = VerifyMeter()
        for conversation_id, token in work[:5]:  # warm-up: token, connections, pools
            meter.verify(Client(), conversation_id, token)
        fill(400)  # a full admin page and more, even "empty"
        empty = measure(stack, work[5 : 5 + args.verifies], args.requests)
        started = time.perf_counter()
        fill(args.pushes)
        fill_seconds = round(time.perf_counter() - started, 1)
        full = measure(stack, work[5 + args.verifies :], args.requests)
        report = {
            "database": "postgresql" if stack.pg_database else "sqlite",
            "cache": "redis" if "REDIS_URL" in stack.env() and stack.env()["REDIS_URL"] else "database",
            "fill_seconds": fill_seconds,
            "empty": empty,
            "full": full,
            "ratio": {key: round(full[key] / empty[key], 2) for key in empty if key.endswith("_ms_p50") and empty[key]},
        }
    print(json.dumps(report, indent=2))
    ratios = "  ".join(f"{key.removesuffix('_ms_p50')} x{value:.2f}" for key, value in report["ratio"].items())
    print(f"{empty['pushes']} -> {full['pushes']} pushes: {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
