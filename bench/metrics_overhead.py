"""What a metric costs: nanoseconds per call of each recording function of messaging/metrics.py.

    .venv/bin/python bench/metrics_overhead.py [--calls 200000] [--repeats 5] [--multiproc]

Each function is called `--calls` times in a tight loop, `--repeats` times; the best repeat counts (the least
disturbed by the machine). An empty function call is timed the same way as the floor. `--multiproc` runs in
prometheus-client's multiprocess mode (a temporary PROMETHEUS_MULTIPROC_DIR, values in mmapped files: what
production's gunicorn workers and push worker pay). Prints JSON and a one-line summary. A verify records one
verify_answered; the wiring's effect on a whole verify is measured by bench/verify_endpoint.py before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_ns_per_call(function: Callable[[], None], calls: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter_ns()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter_ns() - started) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--multiproc", action="store_true")
    args = parser.parse_args()
    if args.multiproc:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-bench-")
    from messaging import metrics  # after the environment is set: prometheus-client picks its mode at import

    route = "/api/v2/conversations/messages/{conversationId}/participants/{participantId}"
    cases: dict[str, Callable[[], None]] = {
        "empty_call": lambda: None,
        "verify_answered": lambda: metrics.verify_answered(metrics.VerifyOutcome.VERIFIED, 0.012),
        "push_finished": lambda: metrics.push_finished(metrics.PushEnd.DELIVERED),
        "push_latency": lambda: metrics.push_latency(0.8),
        "genesys_call": lambda: metrics.genesys_call(route, 202, 0.2),
        "genesys_call_retried": lambda: metrics.genesys_call(route, 202, 0.2, retried_statuses=(429,)),
        "oauth_token_request": lambda: metrics.oauth_token_request(metrics.TokenOutcome.ISSUED),
        "pacing_wait": lambda: metrics.pacing_wait(0.01),
        "pacing_fail_fast": metrics.pacing_fail_fast,
    }
    results = {name: round(best_ns_per_call(case, args.calls, args.repeats), 1) for name, case in cases.items()}
    report = {
        "mode": "multiprocess" if args.multiproc else "single-process",
        "calls": args.calls,
        "repeats": args.repeats,
        "ns_per_call": results,
    }
    print(json.dumps(report, indent=2))
    slowest = max((name for name in results if name != "empty_call"), key=results.__getitem__)
    print(
        f"metrics ({report['mode']}): verify_answered {results['verify_answered'] / 1000:.2f} µs, "
        f"genesys_call {results['genesys_call'] / 1000:.2f} µs, slowest {slowest} {results[slowest] / 1000:.2f} µs "
        f"per call (empty call {results['empty_call']:.0f} ns)"
    )


if __name__ == "__main__":
    main()
