"""Genesys' per-token rate limit under a burst of verifies: no pacing (before), paced with one token, paced with a pool.

    .venv/bin/python bench/rate_limits.py [--rate 120] [--offered 240] [--minutes 4] [--pool 4] [--time-scale 10]

One process, three modes in turn, each against a fresh sandbox (its own port, tokens and counters) whose per-token
limit is `--rate` requests a minute. Verifies arrive at `--offered` a minute for `--minutes`, several times what
one token allows (a verify costs a GET of the conversation and a PATCH of the customer's attributes), and
`--threads` threads work them through messaging.genesys.client.GenesysClient as the verify endpoint and the outbox
do: the first attempt waits for budget at most GENESYS_PACING_MAX_WAIT, a retryable error (GenesysRateLimited, whether
Genesys' 429 or our pacing's fail-fast, or GenesysUnavailable) sends the push back to the outbox for
messaging.outbox.retry.retry_delay (backoff, never sooner than retry_after), and a conversation whose customer was
found is not looked up again. What is not pushed when the run ends is reported as left in the outbox.
  unpaced   GENESYS_PACING off, one token: what the site did before pacing;
  paced-1   the shared-cache limiter, one token;
  paced-N   the limiter over a pool of N tokens.

Time is scaled so that the three runs fit in two minutes: with --time-scale 10, one Genesys minute lasts 6 s, both
in the sandbox (its rate window, SANDBOX_RATE_WINDOW_SECONDS) and in our limiter, and every wait is scaled with it
(GENESYS_PACING_MAX_WAIT 2 s -> 0.2 s, MAX_RETRY_WAIT, the outbox's backoff). Figures per minute are per Genesys
minute; times to push are given as measured and at full scale (measured x scale, which also multiplies HTTP round
trips of a few milliseconds). The p95 is over the pushes that landed: when a mode cannot keep up, most pushes are
still in the outbox and its p95 says more about the order they were served in than about speed (`--offered 180`
lets a pool of 4 keep up).

The cache is Redis when REDIS_URL is set, else Django's database cache in a temporary SQLite file (what local
processes share). Prints JSON and a one-line summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._sandbox import Sandbox, start_sandbox  # noqa: E402
from sandbox.launcher import GET_ROUTE, PATCH_ROUTE  # noqa: E402


def start_scaled_sandbox(window: float, timeout: float = 15.0) -> Sandbox:
    """A sandbox whose rate windows last `window` seconds instead of a minute (SANDBOX_RATE_WINDOW_SECONDS)."""
    return start_sandbox(timeout, extra_env={"SANDBOX_RATE_WINDOW_SECONDS": str(window)})


@dataclasses.dataclass(order=True)
class Item:
    due: float
    index: int
    arrived: float = dataclasses.field(compare=False)
    conversation: str = dataclasses.field(compare=False)
    participant: str | None = dataclasses.field(default=None, compare=False)
    attempts: int = dataclasses.field(default=0, compare=False)


class Outbox:
    """What is due, earliest first; worker threads take from it until the run ends."""

    def __init__(self, items: list[Item], stop_at: float) -> None:
        self.heap = list(items)
        heapq.heapify(self.heap)
        self.stop_at = stop_at
        self.changed = threading.Condition()

    def take(self) -> Item | None:
        with self.changed:
            while True:
                now = time.monotonic()
                if now >= self.stop_at:
                    return None
                if self.heap and self.heap[0].due <= now:
                    return heapq.heappop(self.heap)
                wake = min(self.stop_at, self.heap[0].due if self.heap else self.stop_at)
                self.changed.wait(max(0.0, wake - now))

    def put(self, item: Item) -> None:
        with self.changed:
            heapq.heappush(self.heap, item)
            self.changed.notify()


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_mode(name: str, *, pool: int, paced: bool, args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connections

    from messaging.app_settings import app_settings
    from messaging.genesys.client import GenesysClient, pacing_wait
    from messaging.genesys.errors import GenesysError
    from messaging.genesys.pacing import RateLimiter
    from messaging.genesys.pool import TokenPool
    from messaging.outbox.retry import classify_error, retry_delay

    minute = 60.0 / args.time_scale
    sandbox = start_scaled_sandbox(minute)
    try:
        sandbox.post("/_config", rate_per_minute=args.rate, flow_enabled=False)
        settings.GENESYS_API_BASE = settings.GENESYS_LOGIN_BASE = settings.GENESYS_APPS_BASE = sandbox.url
        count = round(args.offered * args.minutes)
        with ThreadPoolExecutor(8) as executor:
            created = list(
                executor.map(
                    lambda i: sandbox.post("/_conversations", attributes={}, text=f"{name} {i}")["id"], range(count)
                )
            )
        tokens = TokenPool(size=pool, paced=paced, limiter=RateLimiter(window=minute))
        client = GenesysClient(tokens=tokens)
        start = time.monotonic() + 0.2
        spacing = minute / args.offered
        items = [Item(start + i * spacing, i, start + i * spacing, cid) for i, cid in enumerate(created)]
        outbox = Outbox(items, stop_at=start + args.minutes * minute)
        pushed: list[float] = []
        tally: dict[str, int] = {}
        attempts: list[int] = []
        worker_wait = (args.worker_wait if args.worker_wait is not None else 2.0) / args.time_scale
        lock = threading.Lock()
        attributes = {"verified": "true", "memberId": "bench", "membershipLevel": "Gold"}

        def work() -> None:
            try:
                while (item := outbox.take()) is not None:
                    item.attempts += 1
                    # The first attempt is the verify endpoint's (the web bound); retries are the worker's.
                    wait = app_settings.PACING_MAX_WAIT if item.attempts == 1 else worker_wait
                    try:
                        with pacing_wait(wait):
                            if item.participant is None:
                                conversation = client.get_message_conversation(item.conversation)
                                item.participant = str(client.customer_participant(conversation)["id"])
                            client.patch_participant_attributes(item.conversation, item.participant, attributes)
                    except GenesysError as error:
                        kind = f"{type(error).__name__}({error.code or error.status})"
                        retryable, retry_after = classify_error(error)
                        with lock:
                            tally[kind] = tally.get(kind, 0) + 1
                        if retryable:
                            item.due = time.monotonic() + retry_delay(item.attempts, retry_after)
                            outbox.put(item)
                        continue
                    with lock:
                        pushed.append(time.monotonic() - item.arrived)
                        attempts.append(item.attempts)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work, name=f"bench-{i}") for i in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended = time.monotonic()
        stats = sandbox.stats()
        tokens.close()
        client.close()
    finally:
        sandbox.stop()
    elapsed_minutes = (ended - start) / minute
    p50, p95 = percentile(pushed, 0.5), percentile(pushed, 0.95)
    return {
        "mode": name,
        "pool": pool,
        "paced": paced,
        "offered": count,
        "verified": len(pushed),
        "verified_per_minute": round(len(pushed) / elapsed_minutes, 1),
        "responses_429": stats["responses_429"],
        "tokens_issued": stats["tokens_issued"],
        "genesys_calls": stats["requests"].get(GET_ROUTE, 0) + stats["requests"].get(PATCH_ROUTE, 0),
        "p50_time_to_push_s": round(p50, 3) if p50 is not None else None,
        "p95_time_to_push_s": round(p95, 3) if p95 is not None else None,
        "p95_time_to_push_full_scale_s": round(p95 * args.time_scale, 1) if p95 is not None else None,
        "left_in_outbox": count - len(pushed),
        # The outbox gives a push up after GENESYS_PUSH_MAX_ATTEMPTS attempts; the benchmark keeps trying, and
        # counts the pushes that needed more (they would have been left failed, for "Retry now").
        "pushed_after_more_than_max_attempts": sum(1 for n in attempts if n > app_settings.PUSH_MAX_ATTEMPTS),
        "max_attempts_of_a_push": max(attempts, default=0),
        "failed_attempts": dict(sorted(tally.items())),
    }


def configure_django(args: argparse.Namespace, workdir: Path) -> str:
    """Settings for the run, before Django starts: the sandbox's credentials, a cold cache, every wait scaled."""
    for name in [k for k in os.environ if k.startswith(("GENESYS_", "SANDBOX_"))]:
        del os.environ[name]
    scale = args.time_scale
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        GENESYS_SANDBOX="true",
        LOG_LEVEL="ERROR",  # every fail-fast and every 429 logs a warning: thousands in the unpaced run
        CACHE_KEY_PREFIX=f"bench-rate-{uuid.uuid4().hex[:8]}",
        GENESYS_TOKEN_RATE_PER_MINUTE=str(args.rate),
        GENESYS_PACING_MAX_WAIT=str(2.0 / scale),
        GENESYS_MAX_RETRY_WAIT=str(10.0 / scale),
        GENESYS_PUSH_RETRY_BASE=str(2.0 / scale),
    )
    if os.environ.get("REDIS_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'unused.sqlite3'}"
        kind = "redis"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
        kind = "database cache (SQLite file)"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.GENESYS_RETRY_BACKOFF_FACTOR = 0.25 / scale
    settings.GENESYS_PUSH_RETRY_MAX = 600.0 / scale
    settings.GENESYS_PUSH_RETRY_AFTER_MAX = 3600.0 / scale
    if kind != "redis":
        call_command("createcachetable")
    return kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=120, help="the sandbox's limit per token per minute")
    parser.add_argument("--offered", type=float, default=240.0, help="verifies arriving per minute")
    parser.add_argument("--minutes", type=float, default=4.0, help="Genesys minutes per mode")
    parser.add_argument("--pool", type=int, default=4, help="tokens in the pool of the last mode")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--time-scale", type=float, default=10.0, help="Genesys minutes per 60 s of the run")
    parser.add_argument(
        "--worker-wait",
        type=float,
        help="seconds (full scale) a retry waits for budget, as if the worker ran in pacing_wait(); "
        "default: the web bound, GENESYS_PACING_MAX_WAIT (2 s), which is what the worker uses today",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bench-rate-"))
    cache = configure_django(args, workdir)
    modes = [("unpaced", 1, False), ("paced-1", 1, True), (f"paced-{args.pool}", args.pool, True)]
    results = [run_mode(name, pool=pool, paced=paced, args=args) for name, pool, paced in modes]
    report = {
        "time_scale": args.time_scale,
        "genesys_minute_s": round(60.0 / args.time_scale, 3),
        "rate_per_token_per_minute": args.rate,
        "offered_verifies_per_minute": args.offered,
        "minutes_per_mode": args.minutes,
        "threads": args.threads,
        "worker_wait_s": args.worker_wait if args.worker_wait is not None else 2.0,
        "cache": cache,
        "modes": results,
    }
    print(json.dumps(report, indent=2))

    def part(r: dict[str, Any]) -> str:
        return (
            f"{r['mode']}: {r['verified_per_minute']:g} verified/min, {r['responses_429']} x 429, "
            f"{r['tokens_issued']} token(s), p95 push {r['p95_time_to_push_full_scale_s']} s"
        )

    print(
        f"rate limits ({args.rate}/min per token, {args.offered:g} verifies/min offered, {args.minutes:g} min each, "
        f"time x{args.time_scale:g}, {cache}): " + " | ".join(part(r) for r in results)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
