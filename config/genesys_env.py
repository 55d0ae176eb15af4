"""The GENESYS_* environment variables the settings read: only those that are set (and not empty), each cast to
the type of its default. The names and defaults are messaging/app_settings.py's (AppSettings.declared), so every
setting can be set from the environment and none is typed twice; each default and derived value lives there."""

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from messaging.app_settings import AppSettings
from messaging.regions import UnknownRegion, get_region

# The site's own, beyond the app's settings: the sandbox allowed with DEBUG off (config/production.py).
SITE_ONLY = {"GENESYS_SANDBOX_IN_PRODUCTION": False}


def variables() -> dict[str, type]:
    """{variable: the type its value is cast to} for every GENESYS_* variable the settings read."""
    return {name: type(default) for name, default in {**AppSettings.declared(), **SITE_ONLY}.items()}


def read_genesys_env(env: environ.Env) -> dict[str, Any]:
    """{name: typed value} for each GENESYS_* variable that is set and not empty (a dict or list default is read
    as JSON). An unknown region stops start-up with the list of valid ones."""
    casts = {bool: env.bool, int: env.int, float: env.float, dict: env.json, list: env.json}
    values = {
        name: casts.get(kind, env.str)(name) for name, kind in variables().items() if env.str(name, default="") != ""
    }
    if "GENESYS_REGION" in values:
        try:
            get_region(values["GENESYS_REGION"])
        except UnknownRegion as error:
            raise ImproperlyConfigured(str(error)) from None
    return values
