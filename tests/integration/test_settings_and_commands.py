import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.models import MembershipLevel
from config import settings as project_settings
from sandbox import defaults as sandbox_defaults

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value-0123456789",
    "ALLOWED_HOSTS": "members.example.com",
    "GENESYS_SANDBOX": "false",
    "GENESYS_DATA_ACTION_USERNAME": "genesys-data-action",
    "GENESYS_DATA_ACTION_PASSWORD": "Xq7-long-random-data-action-password-0123456789",
}
SANDBOX_CREDENTIALS = {
    "GENESYS_CLIENT_ID": "load-test-client",
    "GENESYS_CLIENT_SECRET": "a-client-secret-of-the-load-test-only-0123456789",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_under_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off():
    env = dict(PRODUCTION_ENV, SECRET_KEY="")
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"SECRET_KEY": project_settings._DEV_SECRET_KEY},
            "SECRET_KEY is the development key committed in config/settings.py",
            id="development-secret-key",
        ),
        pytest.param({"SECRET_KEY": "abcdefghi"}, "SECRET_KEY is too weak for production", id="short-secret-key"),
        pytest.param({"SECRET_KEY": "ab" * 40}, "SECRET_KEY is too weak for production", id="secret-key-2-distinct"),
        pytest.param(
            {"SECRET_KEY": "django-insecure-" + "k3y" * 20},
            "SECRET_KEY is too weak for production",
            id="django-insecure-secret-key",
        ),
        pytest.param(
            {"GENESYS_SANDBOX": "true"}, "set GENESYS_SANDBOX_IN_PRODUCTION=true", id="sandbox-without-opt-in"
        ),
        pytest.param(
            {"GENESYS_SANDBOX": "true", "GENESYS_SANDBOX_IN_PRODUCTION": "true"},
            "set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET",
            id="sandbox-opted-in-without-credentials",
        ),
        pytest.param(
            {"GENESYS_DATA_ACTION_PASSWORD": sandbox_defaults.DATA_ACTION_PASSWORD},
            "set GENESYS_DATA_ACTION_PASSWORD to a long random value",
            id="published-data-action-password",
        ),
        pytest.param(
            {**SANDBOX_CREDENTIALS, "GENESYS_CLIENT_SECRET": sandbox_defaults.CLIENT_SECRET},
            "set GENESYS_CLIENT_SECRET to a long random value",
            id="published-client-secret",
        ),
        pytest.param(
            {"GENESYS_OIDC_CLIENT_SECRET": sandbox_defaults.OIDC_CLIENT_SECRET},
            "set GENESYS_OIDC_CLIENT_SECRET to a long random value",
            id="published-oidc-client-secret",
        ),
        pytest.param(
            {"GENESYS_OIDC_CLIENT_SECRET": "hunter2-q"},
            "GENESYS_OIDC_CLIENT_SECRET is too short for production",
            id="trivial-oidc-client-secret",
        ),
        pytest.param(
            {"GENESYS_OIDC_CLIENT_SECRET": "ab" * 30},
            "GENESYS_OIDC_CLIENT_SECRET is too short for production",
            id="oidc-client-secret-2-distinct",
        ),
    ],
)
def test_production_refuses_to_start_with_an_unsafe_setting(overrides, message):
    result = _manage("check", "--deploy", env=dict(PRODUCTION_ENV, **overrides))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr, result.stderr[-2000:]
    for name, value in overrides.items():
        if "SECRET" in name or "PASSWORD" in name:
            assert value not in result.stderr  # the refused value itself is never printed


def test_production_profile_against_the_sandbox_starts_when_opted_in_with_credentials():
    env = dict(PRODUCTION_ENV, GENESYS_SANDBOX="true", GENESYS_SANDBOX_IN_PRODUCTION="true", **SANDBOX_CREDENTIALS)
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "check_id", "message"),
    [
        pytest.param(
            {"GENESYS_DATA_ACTION_USERNAME": "", "GENESYS_DATA_ACTION_PASSWORD": ""},
            "messaging.E002",
            "Set GENESYS_DATA_ACTION_USERNAME and GENESYS_DATA_ACTION_PASSWORD",
            id="no-data-action-credentials",
        ),
        pytest.param(
            {"GENESYS_DATA_ACTION_PASSWORD": ""},
            "messaging.E002",
            "Set GENESYS_DATA_ACTION_PASSWORD to the HTTP Basic credentials",
            id="no-data-action-password",
        ),
        pytest.param(
            {"GENESYS_DATA_ACTION_PASSWORD": "hunter2-x"},
            "messaging.E003",
            "Set GENESYS_DATA_ACTION_PASSWORD to a long random value",
            id="weak-data-action-password",
        ),
    ],
)
def test_check_deploy_refuses_unusable_data_action_credentials(overrides, check_id, message):
    result = _manage("check", "--deploy", env=dict(PRODUCTION_ENV, **overrides))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert check_id in output and message in output, output
    assert "hunter2-x" not in output


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_no_hash():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    User = get_user_model()
    assert [level.name for level in MembershipLevel.objects.all()] == ["Bronze", "Silver", "Gold", "Platinum"]
    assert {u.username: u.member_profile.level.name for u in User.objects.exclude(username="admin")} == {
        "alice": "Gold",
        "bob": "Silver",
        "carol": "Bronze",
    }
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    assert User.objects.count() == 4
    text = out.getvalue()
    assert text.count("created  member") == 3 and text.count("exists   member") == 3
    assert "pbkdf2" not in text


@pytest.mark.django_db
def test_seed_demo_takes_another_password():
    call_command("seed_demo", "--password", "other-pass-2026", stdout=io.StringIO())
    assert get_user_model().objects.get(username="bob").check_password("other-pass-2026")


# Only the checks read the overridden DATABASES here; no connection is made with it.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")
def test_check_deploy_recommends_redis_for_postgresql_with_the_database_cache(settings):
    from django.core.checks import run_checks

    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}}
    warnings = [m for m in run_checks(include_deployment_checks=True) if m.id == "messaging.W001"]
    assert len(warnings) == 1 and "REDIS_URL" in warnings[0].hint

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "r"}}
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id == "messaging.W001"]
