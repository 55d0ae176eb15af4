"""Whether the member card can sign agents in: `agent_client_problem()` for genesys_check, and a system check."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from ..app_settings import app_settings


def agent_client_problem() -> str | None:
    """Why the card cannot sign agents in, or None when the agent OAuth client is configured."""
    if not app_settings.AGENT_CLIENT_ID:
        return (
            "GENESYS_AGENT_CLIENT_ID is not set: the member card cannot sign agents in (create the OAuth client, "
            "deploy/genesys/interaction-widget.md)"
        )
    return None


@register()
def check_agent_client(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = agent_client_problem()
    hint = "See deploy/genesys/interaction-widget.md."
    return [Warning(problem, hint=hint, id="messaging.W101")] if problem else []
