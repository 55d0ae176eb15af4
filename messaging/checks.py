"""Start-up checks of the Messenger attribute configuration (mapping vs byte budget)."""

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from .app_settings import app_settings
from .attributes import configuration_problems


def attribute_configuration_problems() -> list[str]:
    """Problems of the configured GENESYS_ATTRIBUTE_MAPPING and GENESYS_MAX_CUSTOM_DATA_BYTES, in words."""
    from django.conf import settings

    # Raw settings, not app_settings: a malformed value must be reported, not raise while being read.
    mapping = getattr(settings, "GENESYS_ATTRIBUTE_MAPPING", None)
    if mapping is None:
        mapping = app_settings.ATTRIBUTE_MAPPING
    budget = getattr(settings, "GENESYS_MAX_CUSTOM_DATA_BYTES", 2048)
    return configuration_problems(mapping, budget)


@register()
def check_attribute_budget(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(problem, hint="See README, Genesys settings.", id="messaging.E001")
        for problem in attribute_configuration_problems()
    ]


@register("security")
def check_messenger_csp(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The page loads Messenger from the apps host: the CSP must allow exactly that origin for scripts."""
    from django.conf import settings

    if not app_settings.MESSENGER_CONFIGURED:
        return []
    policy = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    script_src = [str(source).rstrip("/") for source in policy.get("script-src") or []]
    if app_settings.APPS_BASE not in script_src:
        return [
            Warning(
                f"CONTENT_SECURITY_POLICY script-src does not allow {app_settings.APPS_BASE}: "
                "browsers will block the Messenger script.",
                id="messaging.W001",
            )
        ]
    return []
