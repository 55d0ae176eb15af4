"""The GENESYS_* environment variables the site's settings read: messaging's own, through messaging.environment
(names, defaults and types from the app's settings, so none is typed twice here), plus the site's sandbox opt-in."""

import os
from collections.abc import Mapping
from typing import Any

from messaging.environment import cast, defaults, genesys_settings

# The site's own, beyond the app's settings: the sandbox allowed with DEBUG off (config/production.py).
SITE_ONLY = {"GENESYS_SANDBOX_IN_PRODUCTION": False}


def variables() -> dict[str, type]:
    """{variable: the type its value is cast to} for every GENESYS_* variable the settings read."""
    return {name: type(default) for name, default in {**defaults(), **SITE_ONLY}.items()}


def read_genesys_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """{name: typed value} for each GENESYS_* variable that is set and not empty (a dict or list default is read
    as JSON; a wrongly typed value or an unknown region stops start-up naming the variable)."""
    site = {name: cast(name, environ[name], default) for name, default in SITE_ONLY.items() if environ.get(name)}
    return {**genesys_settings(environ), **site}
