"""What an outsider can learn from the time of two answers (issue 21, findings 4 and 5), measured after the fix:

    .venv/bin/python bench/account_timing.py [--samples 40] [--warmup 5]

- password reset request: a known address vs an unknown one (the mail leaves from a task; its own cost is
  measured too, as the worker pays it);
- the token endpoint: a wrong secret for the registered client id vs an unknown client id, with the production
  password hasher (PBKDF2), then a burst of wrong secrets from one address with the limits on.

One process, a temporary SQLite database (migrated and seeded at start), Django's test Client through the whole
middleware stack; the two variants alternate request by request. Prints JSON (milliseconds, medians).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup(db_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - discarded output
    call_command("genesys_oidc_client", stdout=open(os.devnull, "w"))  # noqa: SIM115


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _alternate(variants: dict, samples: int, warmup: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(warmup + samples):
        for name, call in variants.items():
            elapsed = _timed(call)
            if index >= warmup:
                times[name].append(elapsed)
    return {name: round(statistics.median(values), 2) for name, values in times.items()}


def reset_timings(samples: int, warmup: int) -> dict:
    from django.conf import settings
    from django.test import Client
    from django_tasks_db.models import DBTaskResult

    from accounts.tasks import send_password_reset

    settings.RATELIMIT_ENABLE = False  # the per-address budget would answer 429 after 10
    client = Client()

    def ask(email: str):
        return lambda: client.post("/accounts/password/reset/", {"email": email})

    request = _alternate({"known": ask("alice@example.com"), "unknown": ask("nobody@example.com")}, samples, warmup)
    DBTaskResult.objects.all().delete()

    def work(email: str):
        return lambda: send_password_reset.call(email, "members.example.com", True)

    worker = _alternate({"known": work("alice@example.com"), "unknown": work("nobody@example.com")}, samples, warmup)
    return {"request_ms_median": request, "worker_task_ms_median": worker}


def token_timings(samples: int, warmup: int) -> dict:
    from django.conf import settings
    from django.test import Client

    client_id = settings.GENESYS_OIDC_CLIENT_ID

    def authenticate(who: str, client: Client):
        header = "Basic " + base64.b64encode(f"{who}:not-the-secret".encode()).decode()
        form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://127.0.0.1:8000/"}
        return lambda: client.post("/o/token/", form, HTTP_AUTHORIZATION=header)

    settings.RATELIMIT_ENABLE = False
    client = Client()
    costs = _alternate(
        {"wrong_secret": authenticate(client_id, client), "unknown_id": authenticate("no-such-client", client)},
        samples,
        warmup,
    )
    settings.RATELIMIT_ENABLE = True
    flood = Client(REMOTE_ADDR="198.51.100.66")
    statuses: list[int] = []
    elapsed = _timed(lambda: statuses.extend(authenticate(client_id, flood)().status_code for _ in range(50)))
    return {
        "hasher": settings.PASSWORD_HASHERS[0].rsplit(".", 1)[-1],
        "refusal_ms_median": costs,
        "burst_of_50_wrong_secrets_one_address": {
            "hashed_401": statuses.count(401),
            "refused_429_before_hashing": statuses.count(429),
            "total_ms": round(elapsed, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        _setup(Path(directory) / "bench.sqlite3")
        results = {
            "samples": args.samples,
            "password_reset": reset_timings(args.samples, args.warmup),
            "token_endpoint": token_timings(args.samples, args.warmup),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
