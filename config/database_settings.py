"""The site's DATABASES["default"]: SQLite by default, anything django-environ understands with DATABASE_URL, with
what each vendor needs here."""

from pathlib import Path
from typing import Any

import django
import environ


def default_database(env: environ.Env, *, base_dir: Path) -> dict[str, Any]:
    """The default database from DATABASE_URL (SQLite `base_dir/db.sqlite3` when unset), with CONN_MAX_AGE and
    DATABASE_PREPARED_STATEMENTS applied. A MySQL/MariaDB URL installs PyMySQL as Django's MySQLdb first."""
    database: dict[str, Any] = env.db("DATABASE_URL", default=f"sqlite:///{base_dir / 'db.sqlite3'}")
    engine = database["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # Several local processes (site, task worker) write to one file: wait for the lock instead of failing,
        # and take the write lock at the start of a transaction so two writers never deadlock.
        database.setdefault("OPTIONS", {})["timeout"] = 20
        if django.VERSION >= (5, 1):
            # Options of Django 5.1's SQLite backend, which 4.2 passes to sqlite3 and fails on. 4.2 runs the app's
            # tests only (`make test-django42`), on SQLite's defaults (deferred transactions, rollback journal).
            database["OPTIONS"].update({"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"})
        return database
    if engine == "django.db.backends.mysql":
        # MySQL/MariaDB through PyMySQL (requirements.txt), standing in for mysqlclient as Django's MySQLdb. Imported
        # only here: PostgreSQL and SQLite sites never load it.
        import pymysql

        pymysql.install_as_MySQLdb()
    database.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    database.setdefault("CONN_HEALTH_CHECKS", True)
    if engine == "django.db.backends.postgresql" and env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        # Server-side binding and psycopg's prepared statements: a query run 5 times on a connection is planned
        # once, not on every call (the verify's statements repeat on every call). Django leaves them off for poolers
        # that cannot keep prepared statements (PgBouncer in transaction mode before 1.21): set it false there.
        database.setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
    return database
