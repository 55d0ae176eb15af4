"""The provider's settings, each with its default (a host site sets only what differs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, object] = {
    # The OAuth client Genesys' OpenID Connect Messenger Configuration uses (genesys_oidc_client creates it).
    "GENESYS_OIDC_CLIENT_ID": "",
    "GENESYS_OIDC_CLIENT_SECRET": "",
    "GENESYS_OIDC_REDIRECT_URIS": [],
    # Failed client authentications at the token and revocation endpoints per client address and per client id.
    "OIDC_TOKEN_AUTH_FAILURES_PER_IP": "10/m",
    "OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT": "60/m",
    # Codes the page's getAuthCode may ask for per member (or address).
    "OIDC_AUTH_CODE_RATE": "30/m",
}


def setting(name: str) -> Any:
    """The host's value of `name`, else its default above (KeyError for a name not listed)."""
    return getattr(settings, name, DEFAULTS[name])
