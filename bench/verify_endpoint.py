"""Throughput and latency of the data-action endpoint against the sandbox, and what each verify costs in Genesys calls.

    .venv/bin/python bench/verify_endpoint.py [--conversations 200] [--concurrency 8] [--server gunicorn|runserver]

Separate processes (bench/_verify_stack.py): the sandbox, the site (gunicorn with config/gunicorn.py by default)
and a fresh database (SQLite file; a new PostgreSQL database when DATABASE_URL names PostgreSQL; Redis for the
cache when REDIS_URL is set). The sandbox's own flow is off: this script plays the data action, with Basic
credentials, `concurrency` calls at a time. Two rounds over the same conversations:
  new     the first verify of each conversation: target one GET (find the customer) and one PATCH;
  repeat  the same verify again (Genesys retrying the action): target one PATCH and no GET.
Prints JSON (calls per second, latency p50/p95/p99 in milliseconds, Genesys calls per verify) and a summary.

Own time (`--own 60`, 0 to skip; `--own-only` skips the concurrent rounds): the site in this process
(bench/_in_process.py), one verify at a time through the whole middleware stack, first then repeat, each split into
own time (wall time minus time in HTTP to Genesys) and SQL statements (every thread, COMMITs apart). `--phases`
adds the milliseconds per verify spent inside each step of bench/_in_process.PHASES (nested: a step includes the
steps it calls). BENCH_PROFILE=<file> saves a cProfile of the first verifies (main thread) there, for pstats.
`--metrics-cost` alternates verify by verify with metrics as they are and every metric a no-op.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._verify_stack import VERIFY_PATH, VerifyStack  # noqa: E402
from sandbox import defaults  # noqa: E402
from sandbox.launcher import GET_ROUTE, PATCH_ROUTE  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_conversations(
    sandbox_url: str, pages: dict[str, list[dict[str, str]]], count: int, prefix: str = "bench"
) -> list[tuple[str, str]]:
    """`count` conversations (a guest's first message each, POST /_conversations), each with a page's attributes
    of a member (a token of its own: a token verifies one conversation): (conversation id, token)."""
    http = requests.Session()
    names = sorted(pages)
    texts = {}
    for i in range(count):
        attributes = pages[names[i % len(names)]][i // len(names)]
        http.post(
            f"{sandbox_url}/_conversations", json={"attributes": attributes, "text": f"{prefix} {i}"}, timeout=10
        ).raise_for_status()
        texts[f"{prefix} {i}"] = attributes["memberToken"]
    conversations = http.get(f"{sandbox_url}/_conversations", timeout=30).json()["conversations"]
    return [(c["id"], texts[c["messages"][0]["text"]]) for c in conversations if c["messages"][0]["text"] in texts]


def sandbox_calls(sandbox_url: str) -> tuple[int, int]:
    counts = requests.get(f"{sandbox_url}/_stats", timeout=10).json()["requests"]
    return counts.get(GET_ROUTE, 0), counts.get(PATCH_ROUTE, 0)


def run_round(site_url: str, sandbox_url: str, work: list[tuple[str, str]], concurrency: int) -> dict:
    http = requests.Session()
    http.auth = (defaults.DATA_ACTION_USERNAME, defaults.DATA_ACTION_PASSWORD)
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency)
    http.mount("http://", adapter)
    url = f"{site_url}{VERIFY_PATH}"

    def one(item: tuple[str, str]) -> tuple[float, dict]:
        started = time.perf_counter()
        response = http.post(url, json={"conversationId": item[0], "memberToken": item[1]}, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return elapsed, response.json()

    gets_before, patches_before = sandbox_calls(sandbox_url)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, work))
    wall = time.perf_counter() - started
    gets_after, patches_after = sandbox_calls(sandbox_url)
    latencies = [elapsed for elapsed, _ in results]
    states: dict[str, int] = {}
    for _, body in results:
        states[body["pushState"]] = states.get(body["pushState"], 0) + 1
    verified = sum(body["verified"] == "true" for _, body in results)
    return {
        "verifies": len(work),
        "seconds": round(wall, 2),
        "verifies_per_second": round(len(work) / wall, 1),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies), 1),
        },
        "genesys_gets_per_verify": round((gets_after - gets_before) / len(work), 3),
        "genesys_patches_per_verify": round((patches_after - patches_before) / len(work), 3),
        "push_states": states,
        "verified": verified,
    }


def own_time(
    stack: VerifyStack,
    count: int,
    env: dict[str, str],
    compare: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
    with_phases: bool = False,
) -> dict:
    """First and repeat verifies, one at a time, in this process: own time and SQL statements per verify; with
    `with_phases`, where the time goes (bench/_in_process.PHASES)."""
    from bench._in_process import PhaseTimer, VerifyMeter, start_django, summarise

    assert stack.sandbox_url
    pages = stack.member_pages(count + 5)  # enough for any number of demo members
    work = start_conversations(stack.sandbox_url, pages, count + 5, prefix="own")
    start_django(stack, **env)
    from django.test import Client

    meter = VerifyMeter()
    client = Client()
    for conversation_id, token in work[:5]:  # warm-up: token, connections, pools
        meter.verify(client, conversation_id, token)
    work = work[5:]
    if compare is not None:
        return on_and_off(meter, client, work, compare)
    phases = PhaseTimer() if with_phases else None
    if phases is not None:
        phases.take(1)  # start counting here: the warm-up is not in the figures
    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    if profiler is not None:
        profiler.enable()
    first = [meter.verify(client, conversation_id, token) for conversation_id, token in work]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])
    first_phases = phases.take(len(work)) if phases is not None else None
    first_log = meter.log
    repeat = [meter.verify(client, conversation_id, token) for conversation_id, token in work]
    repeat_phases = phases.take(len(work)) if phases is not None else None
    if os.environ.get("BENCH_SQL_LOG"):
        print("\n".join(["-- first verify", *first_log, "-- repeat verify", *meter.log]), file=sys.stderr)
    result = {"first": summarise(first), "repeat": summarise(repeat)}
    if phases is not None:
        result["first"]["phases_ms"], result["repeat"]["phases_ms"] = first_phases, repeat_phases
    return result


RECORDING = ("verify_answered", "push_finished", "push_delivered", "push_latency", "genesys_call", "genesys_retry",
             "oauth_token_request", "pacing_wait", "pacing_fail_fast", "http_response")  # fmt: skip


@contextlib.contextmanager
def metrics_off() -> Iterator[None]:
    """Every recording function of messaging.metrics a no-op (call sites look them up on the module)."""
    from messaging import metrics

    saved = {name: getattr(metrics, name) for name in RECORDING}
    for name in RECORDING:
        setattr(metrics, name, lambda *args, **kwargs: None)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(metrics, name, function)


def on_and_off(
    meter, client, work: list[tuple[str, str]], off: Callable[[], contextlib.AbstractContextManager[None]]
) -> dict:
    """What one feature costs or saves a verify: alternate verify by verify, as is ("on") then inside `off()`,
    so the machine's drift hits both alike; first and repeat verifies of each."""
    from bench._in_process import summarise

    runs: dict[str, list[dict]] = {"first_on": [], "first_off": [], "repeat_on": [], "repeat_off": []}
    for round_name in ("first", "repeat"):
        for index, (conversation_id, token) in enumerate(work):
            if index % 2:
                with off():
                    runs[f"{round_name}_off"].append(meter.verify(client, conversation_id, token))
            else:
                runs[f"{round_name}_on"].append(meter.verify(client, conversation_id, token))
    return {name: summarise(calls) for name, calls in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    parser.add_argument("--own", type=int, default=60, help="verifies for the own-time rounds (0: skip them)")
    parser.add_argument("--own-only", action="store_true", help="only the own-time rounds")
    parser.add_argument(
        "--metrics-cost", action="store_true", help="own-time rounds alternate metrics on and off (issue 17)"
    )
    parser.add_argument(
        "--phases", action="store_true", help="own-time rounds: ms per verify inside each step (bench/_in_process.py)"
    )
    args = parser.parse_args()

    # Generous limits: the benchmark measures the endpoint, not its rate limiter or the sandbox's.
    env = {"GENESYS_VERIFY_RATE": "1000000/m", "LOG_LEVEL": "WARNING"}
    with VerifyStack(env=env, server=args.server) as stack:
        assert stack.sandbox_url
        requests.post(
            f"{stack.sandbox_url}/_config", json={"flow_enabled": False, "rate_per_minute": 1_000_000}, timeout=10
        ).raise_for_status()
        own = None
        if args.own:
            compare = metrics_off if args.metrics_cost else None
            own = own_time(stack, args.own, env, compare=compare, with_phases=args.phases)
        if args.own_only:
            report_own(own, stack)
            return 0
        stack.start_site(workers=args.workers, threads=args.threads)
        pages = stack.member_pages(args.conversations + 1)  # enough for any number of demo members
        work = start_conversations(stack.sandbox_url, pages, args.conversations)
        # One warm-up call (token fetch, connection pools) on a conversation of its own, outside the rounds.
        warm = start_conversations(stack.sandbox_url, {name: p[-1:] for name, p in pages.items()}, 1, prefix="warm-up")
        run_round(stack.site_url, stack.sandbox_url, warm, 1)
        report = {
            "server": args.server,
            "database": "postgresql" if stack.pg_database else "sqlite",
            "cache": "redis" if os.environ.get("REDIS_URL") else "database",
            "concurrency": args.concurrency,
            "new": run_round(stack.site_url, stack.sandbox_url, work, args.concurrency),
            "repeat": run_round(stack.site_url, stack.sandbox_url, work, args.concurrency),
        }
    if own is not None:
        report["own_time"] = own
    print(json.dumps(report, indent=2))
    print_own(own)
    for name in ("new", "repeat"):
        r = report[name]
        print(
            f"{name:6} {r['verifies_per_second']:7.1f} verifies/s  p50 {r['latency_ms']['p50']:6.1f} ms  "
            f"p95 {r['latency_ms']['p95']:6.1f} ms  p99 {r['latency_ms']['p99']:6.1f} ms  "
            f"Genesys per verify: {r['genesys_gets_per_verify']:.2f} GET + {r['genesys_patches_per_verify']:.2f} PATCH"
        )
    return 0


def report_own(own: dict | None, stack: VerifyStack) -> None:
    database = "postgresql" if stack.pg_database else "sqlite"
    cache = "redis" if os.environ.get("REDIS_URL") else "database"
    print(json.dumps({"database": database, "cache": cache, "own_time": own}, indent=2))
    print_own(own)


def print_own(own: dict | None) -> None:
    for name, r in (own or {}).items():
        kinds = " ".join(f"{kind} {n:g}" for kind, n in r["sql_by_kind"].items())
        print(
            f"own {name:6} own p50 {r['own_ms']['p50']:6.2f} ms  p95 {r['own_ms']['p95']:6.2f} ms  "
            f"wall p50 {r['wall_ms']['p50']:6.2f} ms  SQL {r['sql_statements']:g} ({kinds})"
        )
        if r.get("phases_ms"):
            print("  " + ", ".join(f"{label} {p['ms']:g}" for label, p in r["phases_ms"].items()) + " (ms/verify)")


if __name__ == "__main__":
    sys.exit(main())
