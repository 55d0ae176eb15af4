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
    """The page loads Messenger from the apps host: the CSP must allow what Messenger needs, directive by directive."""
    from django.conf import settings

    from .selectors import messenger_csp_sources

    policy = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    missing = []
    for directive, sources in messenger_csp_sources().items():
        allowed = {str(source).rstrip("/") for source in policy.get(directive) or []}
        missing += [f"{directive} {source}" for source in sources if source not in allowed]
    if missing:
        return [
            Warning(
                f"CONTENT_SECURITY_POLICY does not allow what Messenger needs: {'; '.join(missing)}. "
                "Browsers will block the widget.",
                id="messaging.W001",
            )
        ]
    return []
