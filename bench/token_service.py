"""Token service under load: the shared-cache TokenService against a naive per-process token cache, same run.

    .venv/bin/python bench/token_service.py [--processes 4] [--threads 4] [--calls 40] [--token-latency-ms 100]

Starts its own sandbox on a free port. For each mode, N worker processes with M threads each start with a cold
cache, are released together, and make K `get_message_conversation` calls per thread through the same
GenesysClient; only the token source differs:
  shared  messaging.genesys.oauth.TokenService: the token in Django's cache (Redis when REDIS_URL is set, else the
          database cache in a temporary SQLite file), one fetch under a cache lock across all processes;
  naive   what tutorials do: a per-process variable, checked and filled without a lock.
Prints JSON (tokens issued by the sandbox, calls per second, call latency) and a one-line summary.
The sandbox's per-token rate limit is lifted so the figures measure the client, not the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ("shared", "naive")


# --- worker process ---


class NaiveTokens:
    """The tutorial way: one token per process in a plain attribute, no lock. Every thread that finds it empty
    or expired fetches its own; nothing is shared between processes."""

    def __init__(self) -> None:
        import requests

        self.requests = requests
        self.token: str | None = None
        self.expires_at = 0.0

    def get_token(self, force_refresh: bool = False) -> str:
        from messaging.app_settings import app_settings

        if force_refresh or self.token is None or time.time() >= self.expires_at:
            response = self.requests.post(
                f"{app_settings.LOGIN_BASE}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(app_settings.CLIENT_ID, app_settings.CLIENT_SECRET),
                timeout=10,
            )
            response.raise_for_status()
            body = response.json()
            self.token = body["access_token"]
            self.expires_at = time.time() + body["expires_in"] - 60
        return self.token

    def invalidate(self, token: str | None = None) -> None:
        self.token = None


def worker(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from messaging.genesys.client import GenesysClient, get_client
    from messaging.genesys.errors import GenesysError
    from messaging.genesys.pool import SingleToken

    client = get_client() if args.worker == "shared" else GenesysClient(tokens=SingleToken(NaiveTokens()))
    Path(args.ready).touch()
    go = Path(args.go)
    deadline = time.monotonic() + 120
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit(3)
        time.sleep(0.002)

    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def run() -> None:
        mine: list[float] = []
        for _ in range(args.calls):
            started = time.perf_counter()
            try:
                client.get_message_conversation(args.conversation)
                mine.append((time.perf_counter() - started) * 1000)
            except (GenesysError, Exception) as error:  # noqa: BLE001 - counted, the run goes on
                with lock:
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
        with lock:
            latencies.extend(mine)

    started = time.time()
    threads = [threading.Thread(target=run) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"start": started, "end": time.time(), "latencies_ms": latencies, "errors": errors}))


# --- the parent ---


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def _run_mode(mode: str, args: argparse.Namespace, env: dict[str, str], sandbox: Any, conversation: str) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-tokens-{mode}-"))
    go = workdir / "go"
    ready = [workdir / f"ready-{i}" for i in range(args.processes)]
    command = [sys.executable, __file__, "--worker", mode, "--go", str(go), "--conversation", conversation]
    command += ["--threads", str(args.threads), "--calls", str(args.calls)]
    children = [
        subprocess.Popen([*command, "--ready", str(flag)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            if any(c.poll() is not None for c in children) or time.monotonic() > deadline:
                raise RuntimeError(f"{mode}: a worker failed to start")
            time.sleep(0.01)
        before = sandbox.stats()["tokens_issued"]
        go.touch()
        reports = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            if child.returncode != 0:
                raise RuntimeError(f"{mode}: a worker exited with {child.returncode}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    tokens = sandbox.stats()["tokens_issued"] - before
    latencies = [ms for r in reports for ms in r["latencies_ms"]]
    errors: dict[str, int] = {}
    for report in reports:
        for name, count in report["errors"].items():
            errors[name] = errors.get(name, 0) + count
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return {
        "tokens_issued": tokens,
        "calls": len(latencies),
        "errors": errors,
        "wall_s": round(wall, 3),
        "calls_per_s": round(len(latencies) / wall, 1) if wall > 0 else None,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(_percentile(latencies, 0.95), 2),
            "max": round(max(latencies), 2) if latencies else None,
        },
    }


def _shared_cache_env(workdir: Path) -> tuple[dict[str, str], str]:
    """Environment for the workers: the sandbox's credentials and a cold shared cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_"))}
    # Pacing off: this bench compares token caching alone (bench/rate_limits.py measures pacing).
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="WARNING", GENESYS_SANDBOX="true", GENESYS_PACING="false"
    )
    env["CACHE_KEY_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"  # cold: nothing cached under this prefix
    if os.environ.get("REDIS_URL"):
        # Redis needs no database: point at a file that cannot open, so a stray query would fail loudly.
        env["DATABASE_URL"] = "sqlite:////nonexistent-dir/bench.sqlite3"
        return env, "redis"
    env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env, "database cache (SQLite file)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--calls", type=int, default=40, help="API calls per thread")
    parser.add_argument(
        "--token-latency-ms", type=int, default=100, help="login host latency (a real one answers in ~100 ms)"
    )
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    parser.add_argument("--go", help=argparse.SUPPRESS)
    parser.add_argument("--conversation", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    from bench._sandbox import running_sandbox
    from sandbox import defaults

    workdir = Path(tempfile.mkdtemp(prefix="bench-tokens-"))
    results: dict[str, Any] = {
        "processes": args.processes,
        "threads_per_process": args.threads,
        "calls_per_thread": args.calls,
        "token_latency_ms": args.token_latency_ms,
    }
    with running_sandbox() as sandbox:
        env, cache_kind = _shared_cache_env(workdir)
        env.update(GENESYS_API_BASE=sandbox.url, GENESYS_LOGIN_BASE=sandbox.url, GENESYS_APPS_BASE=sandbox.url)
        results["shared_cache"] = cache_kind
        sandbox.post("/_config", rate_per_minute=10**9)
        if args.token_latency_ms:
            sandbox.post("/_faults", route="token", latency_ms=args.token_latency_ms)
        conversation = sandbox.start_conversation(defaults.DEPLOYMENT_ID)
        for mode in MODES:
            results[mode] = _run_mode(mode, args, env, sandbox, conversation)
    print(json.dumps(results, indent=2))

    def part(name: str, data: dict) -> str:
        p50 = data["latency_ms"]["p50"]
        return f"{name} {data['tokens_issued']} token(s), {data['calls_per_s']} calls/s, p50 {p50} ms"

    print(
        f"token service ({args.processes} processes x {args.threads} threads, {cache_kind}): "
        f"{part('shared', results['shared'])} | {part('naive per-process', results['naive'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
