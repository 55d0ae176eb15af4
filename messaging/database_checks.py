"""System check: the outbox runs on PostgreSQL, SQLite and MySQL/MariaDB (Django's own backends and their
vendors); on any other database (Oracle, third-party backends) it was never run, so `check` refuses it."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import connections
from django.db.utils import ConnectionHandler

SUPPORTED_VENDORS = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL/MariaDB"}


@checks.register(checks.Tags.compatibility)
def supported_databases(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The check of the site's DATABASES (database_problems)."""
    return database_problems(connections)


def database_problems(handler: ConnectionHandler) -> list[checks.CheckMessage]:
    """messaging.E010 for every database of `handler` whose vendor the outbox does not run on (read from the
    backend class, without connecting)."""
    problems: list[checks.CheckMessage] = []
    for alias in handler:
        vendor = handler[alias].vendor
        if vendor not in SUPPORTED_VENDORS:
            problems.append(
                checks.Error(
                    f"Database {alias!r} is {vendor!r}: messaging's outbox runs on "
                    f"{', '.join(SUPPORTED_VENDORS.values())} only.",
                    hint="Use one of these for the database messaging's tables live in.",
                    id="messaging.E010",
                )
            )
    return problems
