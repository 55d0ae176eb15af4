"""`make loadtest`: the production profile on loopback against the sandbox, driven by locust from a second process.

Starts the sandbox, gunicorn (DEBUG off, several workers, whitenoise, Redis cache and sessions, PostgreSQL) and the
push worker, creates members, then runs locust headless for a bounded time (bench/locustfile.py): members signing
in and loading pages, and the flow calling verify. Afterwards it waits for the outbox to drain and prints requests
per second, p50/p95/p99 and errors per request kind, the sandbox's tokens_issued (target: 1 for the whole run), 5xx
answers and lost pushes, as JSON and a one-line summary.

    .venv/bin/python bench/loadtest.py [--users 40] [--spawn-rate 10] [--duration 60] [--workers 3] [--members 200]

DATABASE_URL must name PostgreSQL and REDIS_URL a Redis (defaults: CI's, 127.0.0.1). The run gets a database and a
cache key prefix of its own, removed afterwards.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._verify_stack import VerifyStack, production_sandbox_credentials  # noqa: E402
from sandbox.launcher import PATCH_ROUTE  # noqa: E402

PASSWORD = "load-pass-2026"
# Members with one shared password hash (hashing 200 passwords would be most of the set-up), alice/bob/carol
# included; prints {username: memberToken}.
MEMBERS_SCRIPT = """
import datetime, json, os
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from accounts.models import MemberProfile, MembershipLevel
from django.utils import timezone
from messaging.identity.adapter import get_member_adapter
from messaging.identity.grants import create_grant
from messaging.identity.member_token import make_member_token
User = get_user_model()
hashed = make_password(os.environ["LOADTEST_PASSWORD"])
levels = list(MembershipLevel.objects.order_by("rank"))
count = int(os.environ["LOADTEST_MEMBER_COUNT"])
users = User.objects.bulk_create(
    [User(username=f"member{i:04d}", email=f"member{i:04d}@example.com", first_name="Member", last_name=str(i),
          password=hashed) for i in range(count)]
)
MemberProfile.objects.bulk_create([MemberProfile(user=u, level=levels[i % len(levels)]) for i, u in enumerate(users)])
User.objects.filter(username__in=["alice", "bob", "carol"]).update(password=hashed)
# One token per member under a grant of its own (a live session): it verifies the member's first conversation;
# the member's later ones answer verified "false" (already_used), which costs the endpoint the same work.
until = timezone.now() + datetime.timedelta(hours=2)
members = [get_member_adapter().member_for_user(p.user) for p in MemberProfile.objects.select_related("user", "level")]
tokens = {m.user.username: make_member_token(m.public_id, create_grant(m, expires_at=until).grant_id) for m in members}
print(json.dumps(tokens))
"""


METRICS_TOKEN = secrets.token_urlsafe(32)


def scrape_metrics(site_url: str) -> dict[str, float]:
    """The site's /metrics at the end of the run (every gunicorn worker and the push worker, summed by
    prometheus-client's multiprocess mode), as {"name{labels}": value}."""
    from prometheus_client.parser import text_string_to_metric_families

    response = requests.get(f"{site_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    response.raise_for_status()
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def metrics_agreement(samples: dict[str, float], *, delivered_patches: int, tokens: int, errors_5xx: int) -> dict:
    """What the metrics say beside what the run counted itself (the sandbox's PATCHes answered 200, its tokens
    issued, locust's 5xx)."""
    patch = "/api/v2/conversations/messages/{id}/participants/{id}/attributes"
    said = {
        "pushes_delivered": samples.get('messaging_pushes_finished_total{state="delivered"}', 0.0),
        "patch_200": samples.get(f'messaging_genesys_requests_total{{route="{patch}",status="200"}}', 0.0),
        "tokens_issued": samples.get('messaging_oauth_token_requests_total{outcome="issued"}', 0.0),
        "responses_5xx": samples.get('messaging_http_responses_total{status_class="5xx"}', 0.0),
    }
    counted = {"pushes_delivered": delivered_patches, "patch_200": delivered_patches, "tokens_issued": tokens,
               "responses_5xx": errors_5xx}  # fmt: skip
    return {"metrics": said, "run": counted, "agree": all(said[key] == counted[key] for key in said)}


def patches_delivered(sandbox_stats: dict) -> int:
    """PATCHes of participant attributes the sandbox received: this run injects no faults and lifts the rate
    limit, so each was answered 200."""
    return int(sandbox_stats.get("requests", {}).get(PATCH_ROUTE, 0))


def production_env(redis_url: str) -> dict[str, str]:
    """The production profile on plain-HTTP loopback: DEBUG off and everything that implies, except TLS."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "REDIS_URL": redis_url,
        "GENESYS_SANDBOX": "true",
        # The load test drives the member-token mode (members' pages carry the token it replays).
        "GENESYS_AUTHENTICATED_MESSAGING": "false",
        # The sandbox with DEBUG off: opted in, with credentials of the run's own (the sandbox gets the same).
        **production_sandbox_credentials(),
        # Loopback has no TLS; every other production default stays on.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        # Every simulated member, and the simulated flow, comes from 127.0.0.1: per-address limits would measure
        # themselves.
        "LOGIN_RATE_PER_IP": "100000/m",
        "GENESYS_VERIFY_RATE": "100000/m",
        # Genesys' per-token limit is lifted here (and in the sandbox): this measures the site; pacing against the
        # limit is bench/rate_limits.py's subject.
        "GENESYS_TOKEN_RATE_PER_MINUTE": "1000000",
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": METRICS_TOKEN,
    }


def read_stats(prefix: Path) -> dict[str, dict]:
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["Name"] if row["Type"] else "all"
            count = int(row["Request Count"])
            rows[name] = {
                "requests": count,
                "failures": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
            }
    return rows


def read_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [
            {"name": row["Name"], "error": row["Error"][:200], "count": int(row["Occurrences"])}
            for row in csv.DictReader(handle)
        ]


def wait_for_outbox(stack: VerifyStack, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        states: dict[str, int] = {}
        for push in stack.outbox():
            states[push["state"]] = states.get(push["state"], 0) + 1
        if not {"pending", "delivering"} & set(states) or time.monotonic() > deadline:
            return states
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        print("loadtest: DATABASE_URL must name PostgreSQL (the production profile)", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="loadtest-"))
    env = production_env(redis_url)
    # Metrics of every process (gunicorn's workers and the push worker) in one directory, summed at scrape time.
    (workdir / "metrics").mkdir()
    env["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "metrics")
    with VerifyStack(server="gunicorn", env=env) as stack:
        stack.manage("collectstatic", "--noinput", "-v0")
        members_file = workdir / "members.json"
        env_members = {"LOADTEST_PASSWORD": PASSWORD, "LOADTEST_MEMBER_COUNT": str(args.members)}
        os.environ.update(env_members)
        stack.extra_env.update(env_members)
        members_file.write_text(stack.manage("shell", "-c", MEMBERS_SCRIPT).strip().splitlines()[-1])
        # The flow is played by locust (it calls verify itself), so the sandbox's own flow stays off.
        requests.post(f"{stack.sandbox_url}/_reset", timeout=5).raise_for_status()
        requests.post(
            f"{stack.sandbox_url}/_config", json={"flow_enabled": False, "rate_per_minute": 1_000_000}, timeout=5
        ).raise_for_status()
        stack.start_site(workers=args.workers, threads=args.threads)
        stack.start_worker()

        prefix = workdir / "locust"
        locust_env = dict(
            os.environ,
            LOADTEST_MEMBERS=str(members_file),
            LOADTEST_SANDBOX_URL=stack.sandbox_url,
            LOADTEST_DATA_ACTION_USERNAME=stack.extra_env["GENESYS_DATA_ACTION_USERNAME"],
            LOADTEST_DATA_ACTION_PASSWORD=stack.extra_env["GENESYS_DATA_ACTION_PASSWORD"],
        )
        started = time.monotonic()
        subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f", str(ROOT / "bench" / "locustfile.py"),
                "--headless", "--only-summary",
                "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s",
                "--host", stack.site_url, "--csv", str(prefix), "--stop-timeout", "10",
            ],
            env=locust_env, cwd=ROOT, check=True, timeout=args.duration + 120,
            stdout=subprocess.DEVNULL, stderr=(workdir / "locust.log").open("w"),
        )  # fmt: skip
        elapsed = time.monotonic() - started
        outbox = wait_for_outbox(stack, timeout=120)
        sandbox_stats = requests.get(f"{stack.sandbox_url}/_stats", timeout=5).json()
        samples = scrape_metrics(stack.site_url)
        site_log = stack.log("site", tail=200_000)

    stats = read_stats(prefix)
    failures = read_failures(prefix)
    server_errors = sum(f["count"] for f in failures if " 50" in f["error"] or "500" in f["error"])
    # After the drain, a push that is not delivered (or replaced by a newer version) is lost to the member.
    lost = sum(count for state, count in outbox.items() if state not in {"delivered", "superseded"})
    figures = {
        "benchmark": "loadtest",
        "profile": {"server": "gunicorn", "workers": args.workers, "threads": args.threads, "debug": False,
                    "database": "postgresql", "cache": "redis"},
        "load": {"users": args.users, "spawn_rate": args.spawn_rate, "duration_s": args.duration,
                 "elapsed_s": round(elapsed, 1), "members": args.members},
        "requests": stats,
        "failures": failures,
        "server_errors_5xx": server_errors,
        "tracebacks_in_site_log": site_log.count("Traceback"),
        "sandbox": {"tokens_issued": sandbox_stats.get("tokens_issued"),
                    "responses_429": sandbox_stats.get("responses_429"), "requests": sandbox_stats.get("requests")},
        "outbox": outbox,
        "lost_pushes": lost,
        "metrics_agreement": metrics_agreement(
            samples,
            delivered_patches=patches_delivered(sandbox_stats),
            tokens=sandbox_stats.get("tokens_issued") or 0,
            errors_5xx=server_errors,
        ),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
    }  # fmt: skip
    print(json.dumps(figures, indent=2))
    total = stats.get("all", {})
    print(
        f"loadtest: {total.get('requests', 0)} requests in {args.duration}s, {total.get('rps', 0)} req/s, "
        f"p50 {total.get('p50_ms')} ms, p95 {total.get('p95_ms')} ms, p99 {total.get('p99_ms')} ms, "
        f"{total.get('failures', 0)} failures, {server_errors} 5xx, tokens issued "
        f"{sandbox_stats.get('tokens_issued')}, lost pushes {lost}"
    )
    agreement = figures["metrics_agreement"]
    print(f"loadtest metrics: {agreement['metrics']} (run: {agreement['run']}), agree: {agreement['agree']}")
    return 0 if server_errors == 0 and lost == 0 and sandbox_stats.get("tokens_issued") == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
