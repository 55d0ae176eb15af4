"""The GENESYS_* environment variables the settings read: only those that are set (and not empty), each with its
type. Every default and derived value (hosts from the region, the Messenger environment, timeouts, budgets)
lives in messaging/app_settings.py, so nothing here repeats one."""

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from messaging.regions import UnknownRegion, get_region

STRINGS = (
    "GENESYS_REGION",
    "GENESYS_ENVIRONMENT",
    "GENESYS_DEPLOYMENT_ID",
    "GENESYS_GUEST_DEPLOYMENT_ID",
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_DATA_ACTION_USERNAME",
    "GENESYS_DATA_ACTION_PASSWORD",
    "GENESYS_API_BASE",
    "GENESYS_LOGIN_BASE",
    "GENESYS_APPS_BASE",
    "GENESYS_VERIFY_RATE",
    "GENESYS_VERIFY_FAILED_AUTH_RATE",
    "GENESYS_GUEST_TO_MEMBER",
)
INTEGERS = (
    "GENESYS_MAX_CUSTOM_DATA_BYTES",
    "GENESYS_MEMBER_TOKEN_MAX_AGE",
    "GENESYS_TOKEN_RATE_PER_MINUTE",
    "GENESYS_TOKEN_POOL_SIZE",
    "GENESYS_PUSH_MAX_ATTEMPTS",
)
FLOATS = (
    "GENESYS_CONNECT_TIMEOUT",
    "GENESYS_READ_TIMEOUT",
    "GENESYS_MAX_RETRY_WAIT",
    "GENESYS_TOKEN_RATE_HEADROOM",
    "GENESYS_PACING_MAX_WAIT",
    "GENESYS_PUSH_RETRY_BASE",
    "GENESYS_PUSH_LEASE",
    "GENESYS_RETENTION_DAYS",
)
BOOLEANS = ("GENESYS_SANDBOX", "GENESYS_SANDBOX_IN_PRODUCTION", "GENESYS_PACING", "GENESYS_AUTHENTICATED_MESSAGING")
JSON = ("GENESYS_ATTRIBUTE_MAPPING",)


def read_genesys_env(env: environ.Env) -> dict[str, Any]:
    """{name: typed value} for each GENESYS_* variable that is set and not empty. An unknown region stops
    start-up with the list of valid ones."""
    casts = {
        **dict.fromkeys(STRINGS, env.str),
        **dict.fromkeys(INTEGERS, env.int),
        **dict.fromkeys(FLOATS, env.float),
        **dict.fromkeys(BOOLEANS, env.bool),
        **dict.fromkeys(JSON, env.json),
    }
    values = {name: read(name) for name, read in casts.items() if env.str(name, default="") != ""}
    if "GENESYS_REGION" in values:
        try:
            get_region(values["GENESYS_REGION"])
        except UnknownRegion as error:
            raise ImproperlyConfigured(str(error)) from None
    return values
