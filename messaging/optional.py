"""What a host site may leave out, each named by the distribution's extra that installs it.

`redis` (extra `redis`): pacing's one-script admission on a Redis cache; without it pacing takes the generic
path. `prometheus_client` (extra `metrics`): the metrics and the /metrics page; without it recording is a no-op
and mounting messaging.monitoring.urls fails with the extra's name. django-oauth-toolkit (extra `oidc`): the
optional messaging.oidc app.

Use: `except ModuleNotFoundError as error: raise missing_extra(error, "metrics", needed_for="...") from error`.
"""

from __future__ import annotations

DISTRIBUTION = "django-genesys-messaging"
PACKAGES = {"redis": "redis", "metrics": "prometheus_client", "oidc": "oauth2_provider"}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says which extra installs it."""


def missing_extra(error: ModuleNotFoundError, extra: str, *, needed_for: str) -> ImportError:
    """MissingExtra naming `pip install django-genesys-messaging[extra]` when `error` is the extra's package
    missing; else `error` itself (a module missing inside an installed package is a broken install, not an
    absent extra)."""
    if error.name != PACKAGES[extra]:
        return error
    return MissingExtra(
        f"{needed_for} needs the {error.name!r} package: pip install '{DISTRIBUTION}[{extra}]'", name=error.name
    )
