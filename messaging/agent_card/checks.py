"""Whether the member card can sign agents in, for genesys_check to report. Not a system check: the card is
optional (a site without the Interaction Widget needs no agent client), and `check --deploy` stays clean."""

from __future__ import annotations

from ..app_settings import app_settings


def agent_client_problem() -> str | None:
    """Why the card cannot sign agents in, or None when the agent OAuth client is configured."""
    if not app_settings.AGENT_CLIENT_ID:
        return (
            "GENESYS_AGENT_CLIENT_ID is not set: the member card cannot sign agents in (create the OAuth client, "
            "deploy/genesys/interaction-widget.md)"
        )
    return None
