"""messaging's settings from environment variables, for a host's settings.py:

    globals().update(genesys_settings(os.environ))

Every GENESYS_* setting messaging reads (app_settings.AppSettings.declared() and the OpenID Connect provider's
GENESYS_OIDC_*), when its variable is set and not empty, cast to the type of its default: a bool from
true/false (1/0, yes/no, on/off), a number, a dict or list from JSON, else the string. Imports no app, so
settings can use it before Django starts.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .app_settings import AppSettings
from .oidc.conf import DEFAULTS as OIDC_DEFAULTS
from .regions import UnknownRegion, get_region

TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}


def defaults() -> dict[str, Any]:
    """{GENESYS_<NAME>: default} of every setting genesys_settings reads."""
    oidc = {name: default for name, default in OIDC_DEFAULTS.items() if name.startswith("GENESYS_")}
    return {**AppSettings.declared(), **oidc}


def cast(name: str, raw: str, default: Any) -> Any:
    """`raw` as the type of `default`; ImproperlyConfigured naming the variable when it is not one."""
    try:
        if isinstance(default, bool):
            if raw.strip().lower() not in TRUE | FALSE:
                raise ValueError("expected true or false")
            return raw.strip().lower() in TRUE
        if isinstance(default, int | float):
            return type(default)(raw)
        if isinstance(default, dict | list):
            value = json.loads(raw)
            if not isinstance(value, type(default)):
                raise ValueError(f"expected a JSON {type(default).__name__}")
            return value
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None
    return raw


def genesys_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """{GENESYS_<NAME>: typed value} for each of messaging's settings whose variable is set in `environ`. An
    unknown GENESYS_REGION stops start-up with the list of valid ones."""
    values = {
        name: cast(name, environ[name], default) for name, default in defaults().items() if environ.get(name, "") != ""
    }
    if "GENESYS_REGION" in values:
        try:
            get_region(values["GENESYS_REGION"])
        except UnknownRegion as error:
            raise ImproperlyConfigured(str(error)) from None
    return values
