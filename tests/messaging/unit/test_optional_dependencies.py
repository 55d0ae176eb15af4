"""The distribution's extras (messaging/optional.py): without `redis` or `prometheus_client` installed the host
site starts and passes its checks, and whatever does need one fails with a message naming the extra."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.timeout(60)


def without(packages: str, *modules: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "DATABASE_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.hostsite.settings", HOSTSITE_DATABASE=str(tmp_path / "db.sqlite3"))
    result = subprocess.run(
        [sys.executable, "-m", "tests.hostsite.without", packages, *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_site_starts_without_redis_and_prometheus_client_and_names_the_extras(tmp_path):
    ran = without(
        "redis,prometheus_client",
        "messaging.genesys.pacing",
        "messaging.genesys.pacing_redis",
        "messaging.monitoring.urls",
        tmp_path=tmp_path,
    )

    assert ran["check"] == "ok"
    imports = ran["imports"]
    assert imports["messaging.genesys.pacing"] == "ok"  # no cache is Redis: pacing takes the generic path
    assert imports["messaging.genesys.pacing_redis"] == "ok"
    assert imports["messaging.monitoring.urls"].startswith("MissingExtra: ")
    assert "pip install 'django-genesys-messaging[metrics]'" in imports["messaging.monitoring.urls"]


def test_a_redis_cache_without_the_redis_package_names_the_extra(settings, monkeypatch):
    from messaging.genesys import pacing_redis
    from messaging.optional import MissingExtra

    settings.CACHES = {**settings.CACHES, "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    monkeypatch.setattr(pacing_redis, "redis", None)  # as the failed import leaves it
    with pytest.raises(MissingExtra, match=r"pip install 'django-genesys-messaging\[redis\]'"):
        pacing_redis.client_for_alias("shared")


def test_recording_without_prometheus_client_is_a_no_op():
    from messaging import no_metrics

    counter = no_metrics.Counter("x", "y", ["outcome"])
    counter.labels("a").inc()
    no_metrics.Histogram("h", "d").observe(1.5)  # accepted and dropped


def test_a_module_missing_inside_an_installed_package_is_not_mistaken_for_an_absent_extra():
    from messaging.optional import MissingExtra, missing_extra

    broken = ModuleNotFoundError("No module named 'redis.asyncio'", name="redis.asyncio")
    absent = ModuleNotFoundError("No module named 'redis'", name="redis")
    other = ModuleNotFoundError("No module named 'hiredis'", name="hiredis")
    assert isinstance(missing_extra(absent, "redis", needed_for="x"), MissingExtra)
    assert missing_extra(broken, "redis", needed_for="x") is broken
    assert missing_extra(other, "redis", needed_for="x") is other


def test_check_refuses_a_database_the_outbox_never_ran_on():
    """A third-party backend (here one that says it is "exotic") is refused by `check` before a push is lost to
    SQL it cannot run; the site's own databases and every supported vendor pass."""
    from django.db.utils import ConnectionHandler

    from messaging.database_checks import database_problems, supported_databases

    assert supported_databases() == []
    handler = ConnectionHandler(
        {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
            "legacy": {"ENGINE": "tests.fixtures.exotic_db", "NAME": ":memory:"},
        }
    )
    problems = database_problems(handler)
    assert [(p.id, p.level) for p in problems] == [("messaging.E010", checks.ERROR)]
    assert "'legacy' is 'exotic'" in problems[0].msg
