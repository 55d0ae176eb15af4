"""The site through a Redis outage: tokens fetched, page latency while Redis hangs, sign-in limit held.

    .venv/bin/python bench/redis_outage.py [--threads 16] [--pages 40] [--concurrency 4]

Two parts, each with its own processes on free ports:
  tokens  one process, `--threads` threads asking for the Genesys token at once with a cold cache, Redis refused
          (nothing listens on its port) and Redis hung (a listener that accepts and never answers). The sandbox
          counts the tokens it issues; the goal is 1 each.
  pages   gunicorn (1 worker x `--concurrency` threads, the production config) on a Redis of its own
          (redis-server on a free port), a signed-in member's home page: `--pages` requests with Redis up, then
          Redis stopped with SIGSTOP (hung: connections open, nothing answers): the first request and `--pages`
          more, `--concurrency` at a time; then 30 wrong sign-ins for one username (limit 5/m, all in one window)
          while it hangs; then SIGCONT and the pages once the circuit's probe has found Redis again.
Prints JSON and a one-line summary. Needs redis-server on PATH for the pages part.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._verify_stack import VerifyStack, free_port  # noqa: E402

PASSWORD = "bench-outage-pass"  # noqa: S105 (a throwaway member of a throwaway database)
FALLBACK_SECONDS = 2.0


# --- part 1: tokens in one process ---


def hung_listener() -> tuple[socket.socket, list[socket.socket]]:
    """Accepts and never answers (the connections are kept open, nothing is read or written)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def tokens_worker(threads: int) -> None:
    """Run inside a child whose REDIS_URL points at the outage: every thread asks for the token at once."""
    import django

    django.setup()
    from messaging.genesys.oauth import get_access_token

    barrier = threading.Barrier(threads)
    tokens: list[str] = []
    errors: list[str] = []

    def ask() -> None:
        barrier.wait()
        try:
            tokens.append(get_access_token())
        except Exception as error:  # noqa: BLE001 (counted and reported)
            errors.append(type(error).__name__)

    started = time.monotonic()
    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    print(json.dumps({"distinct_tokens": len(set(tokens)), "errors": errors, "seconds": time.monotonic() - started}))


def measure_tokens(threads: int) -> dict[str, Any]:
    from bench._sandbox import running_sandbox

    results: dict[str, Any] = {}
    with running_sandbox() as sandbox:
        sandbox.post("/_config", rate_per_minute=10**9)
        for outage in ("refused", "hung"):
            sandbox.post("/_reset")
            sandbox.post("/_config", rate_per_minute=10**9)
            sandbox.post("/_faults", route="token", latency_ms=300)  # a slow login host widens the race
            listener, held = hung_listener()
            port = free_port() if outage == "refused" else listener.getsockname()[1]
            if outage == "refused":
                listener.close()
            env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "SANDBOX_", "DJANGO_"))}
            env.update(
                DJANGO_SETTINGS_MODULE="config.settings",
                REDIS_URL=f"redis://127.0.0.1:{port}/0",
                GENESYS_SANDBOX="true",
                GENESYS_API_BASE=sandbox.url,
                GENESYS_LOGIN_BASE=sandbox.url,
                GENESYS_APPS_BASE=sandbox.url,
                LOG_LEVEL="ERROR",
            )
            child = subprocess.run(
                [sys.executable, __file__, "--tokens-worker", "--threads", str(threads)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            listener.close()
            for conn in held:
                conn.close()
            outcome = json.loads(child.stdout.strip().splitlines()[-1])
            results[outage] = {"threads": threads, "tokens_issued": sandbox.stats()["tokens_issued"], **outcome}
    return results


# --- part 2: pages while Redis hangs ---


def start_redis(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process, port
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)


def sign_in(http: Any, site: str, username: str, password: str) -> int:
    page = http.get(f"{site}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    response = http.post(
        f"{site}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{site}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def username_far_from_its_window_edge() -> str:
    """A username whose rate-limit window (django-ratelimit: fixed minutes, offset by crc32 of the key) does not
    roll over in the next 20 s, so the 30 attempts below are counted in one window."""
    now = int(time.time()) % 60
    for i in range(1000):
        name = f"nobody-{i}"
        if (zlib.crc32(name.encode()) % 60 - now) % 60 > 20:
            return name
    raise RuntimeError("no username found")


def timed_pages(http: Any, url: str, count: int, concurrency: int) -> list[float]:
    def one(_: int) -> float:
        started = time.perf_counter()
        response = http.get(url, timeout=30, allow_redirects=False)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or "Alice" not in response.text:
            raise RuntimeError(f"page answered {response.status_code} (signed in: {'Alice' in response.text})")
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
    }


def measure_pages(pages: int, concurrency: int) -> dict[str, Any]:
    import requests

    workdir = Path(tempfile.mkdtemp(prefix="redis-outage-"))
    redis, port = start_redis(workdir)
    stopped = False
    try:
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "REDIS_FALLBACK_SECONDS": str(FALLBACK_SECONDS),
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        }
        with VerifyStack(env=env, server="gunicorn") as stack:
            stack.manage(
                "shell",
                "-c",
                f"from django.contrib.auth import get_user_model; u = get_user_model().objects.get(username='alice');"
                f" u.set_password({PASSWORD!r}); u.save()",
            )
            site = stack.start_site(workers=1, threads=concurrency)
            http = requests.Session()
            http.trust_env = False
            assert sign_in(http, site, "alice", PASSWORD) == 302, "alice could not sign in"
            up = timed_pages(http, f"{site}/", pages, concurrency)

            os.kill(redis.pid, signal.SIGSTOP)
            stopped = True
            first = timed_pages(http, f"{site}/", 1, 1)
            hung = timed_pages(http, f"{site}/", pages, concurrency)
            username = username_far_from_its_window_edge()

            def guess(_: int) -> int:
                stranger = requests.Session()  # a session (and CSRF cookie) of its own per attempt
                stranger.trust_env = False
                return sign_in(stranger, site, username, "wrong-guess")

            with ThreadPoolExecutor(concurrency) as pool:
                statuses = list(pool.map(guess, range(30)))

            os.kill(redis.pid, signal.SIGCONT)
            stopped = False
            time.sleep(FALLBACK_SECONDS + 0.2)  # benchmark pacing, not a test: let the open period run out
            back = timed_pages(http, f"{site}/", pages, concurrency)
            log = stack.log("site", tail=20000)
        return {
            "server": f"gunicorn 1 worker x {concurrency} threads",
            "redis_up": summary(up),
            "redis_hung_first_request_ms": round(first[0], 1),
            "redis_hung": summary(hung),
            "redis_back": summary(back),
            "sign_in_attempts_while_hung": len(statuses),
            "sign_in_attempts_admitted": sum(1 for s in statuses if s in (200, 302)),  # the form checked the password
            "sign_in_statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
            "sign_in_limit": "5/m per username",
            "switches_logged": {
                "unreachable": log.count("redis cache unreachable"),
                "reachable_again": log.count("redis cache reachable again"),
            },
        }
    finally:
        if stopped:
            os.kill(redis.pid, signal.SIGCONT)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--tokens-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tokens_worker:
        tokens_worker(args.threads)
        return
    result: dict[str, Any] = {"tokens": measure_tokens(args.threads)}
    if shutil.which("redis-server"):
        result["pages"] = measure_pages(args.pages, args.concurrency)
    print(json.dumps(result, indent=2))
    tokens = result["tokens"]
    line = (
        f"tokens with {args.threads} threads: refused {tokens['refused']['tokens_issued']}, "
        f"hung {tokens['hung']['tokens_issued']}"
    )
    if "pages" in result:
        pages = result["pages"]
        line += (
            f"; pages while Redis hangs: first {pages['redis_hung_first_request_ms']} ms, then p50 "
            f"{pages['redis_hung']['p50_ms']} ms p95 {pages['redis_hung']['p95_ms']} ms (Redis up: p50 "
            f"{pages['redis_up']['p50_ms']} ms); sign-ins admitted while hung {pages['sign_in_attempts_admitted']}"
            f"/{pages['sign_in_attempts_while_hung']} (limit 5/m)"
        )
    print(line)


if __name__ == "__main__":
    main()
