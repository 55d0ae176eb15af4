import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import MembershipLevel

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value-0123456789",
    "ALLOWED_HOSTS": "members.example.com",
    "GENESYS_SANDBOX": "false",
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
    assert admin.is_superuser and admin.check_password("demo-pass-2026")
    assert User.objects.count() == 4
    text = out.getvalue()
    assert text.count("created  member") == 3 and text.count("exists   member") == 3
    assert "pbkdf2" not in text


@pytest.mark.django_db
def test_seed_demo_takes_another_password():
    call_command("seed_demo", "--password", "other-pass-2026", stdout=io.StringIO())
    assert get_user_model().objects.get(username="bob").check_password("other-pass-2026")
