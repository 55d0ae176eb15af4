"""Cost of {% genesys_messenger %}: time to render the home page with the tag and with Messenger not configured.

    .venv/bin/python bench/page_render.py [--requests 300] [--warmup 30]

One process, a temporary SQLite database (migrated at start), Django's test Client through the whole middleware
stack. The two variants alternate request by request, so drift (CPU frequency, caches) hits both alike. Prints
JSON (milliseconds; ratio = with / without, p50) and a one-line summary.
"""

import argparse
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
    os.environ.pop("REDIS_URL", None)  # embedded defaults: the numbers compare the tag, not the services
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115 - discarded output


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(samples), 3),
        "p90": round(_percentile(samples, 0.9), 3),
        "mean": round(statistics.fmean(samples), 3),
    }


def run(requests: int, warmup: int) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from messaging.app_settings import app_settings

    deployment_id = app_settings.DEPLOYMENT_ID or "00000000-0000-4000-8000-000000000001"
    variants = {"with_tag": deployment_id, "without_tag": ""}
    alice = get_user_model().objects.get(username="alice")
    results: dict = {"requests_per_variant": requests}
    for who in ("anonymous", "member"):
        client = Client()
        if who == "member":
            client.force_login(alice)
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for index in range(warmup + requests):
            for name, value in variants.items():
                # Set directly, without override_settings' setting_changed: a deployed process never changes
                # its settings, and that signal would rebuild the tag's precomputed parts on every request.
                settings.GENESYS_DEPLOYMENT_ID = value
                start = time.perf_counter()
                response = client.get("/")
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200
                assert (b"genesys-messenger-data" in response.content) == bool(value), name
                if index >= warmup:
                    samples[name].append(elapsed)
        with_tag, without_tag = _summary(samples["with_tag"]), _summary(samples["without_tag"])
        results[who] = {
            "with_tag_ms": with_tag,
            "without_tag_ms": without_tag,
            "ratio_p50": round(with_tag["p50"] / without_tag["p50"], 3),
            "added_ms_p50": round(with_tag["p50"] - without_tag["p50"], 3),
        }
    # The headline figures: a signed-in member's page, the tag's most expensive case (profile read, token).
    results["with_tag_ms_p50"] = results["member"]["with_tag_ms"]["p50"]
    results["without_tag_ms_p50"] = results["member"]["without_tag_ms"]["p50"]
    results["ratio"] = results["member"]["ratio_p50"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per variant and visitor")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-page-render-") as tmp:
        _setup(Path(tmp) / "bench.sqlite3")
        results = run(args.requests, args.warmup)
    print(json.dumps(results, indent=2))
    anonymous, member = results["anonymous"], results["member"]
    print(
        f"home page p50: member {member['with_tag_ms']['p50']} ms with the tag vs "
        f"{member['without_tag_ms']['p50']} ms without (x{member['ratio_p50']}); anonymous "
        f"{anonymous['with_tag_ms']['p50']} vs {anonymous['without_tag_ms']['p50']} ms (x{anonymous['ratio_p50']})"
    )


if __name__ == "__main__":
    main()
