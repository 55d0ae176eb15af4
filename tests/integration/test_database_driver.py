"""The site's MySQL/MariaDB driver: a mysql:// DATABASE_URL runs on PyMySQL (requirements.txt) as Django's MySQLdb,
so a production MySQL site needs no C build; other databases never load it. Settings are read in a fresh process,
as a site starts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_READ_SETTINGS = """
import json, sys
import django
django.setup()
from django.db import connection
mysqldb = sys.modules.get("MySQLdb")
seen = {"vendor": connection.vendor, "MySQLdb": mysqldb and mysqldb.__name__, "pymysql": "pymysql" in sys.modules}
print(json.dumps(seen))
"""


def _settings_with(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=database_url)
    done = subprocess.run(
        [sys.executable, "-c", _READ_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_mysql_database_url_runs_on_pymysql():
    # Loading the backend imports MySQLdb: without the driver in place this process would fail to start.
    assert _settings_with("mysql://site@127.0.0.1:3306/members") == {
        "vendor": "mysql",
        "MySQLdb": "pymysql",
        "pymysql": True,
    }


@pytest.mark.parametrize("database_url", ["postgres://site@127.0.0.1:5432/members", "sqlite:////tmp/members.db"])
def test_other_databases_never_load_it(database_url):
    assert _settings_with(database_url)["pymysql"] is False
