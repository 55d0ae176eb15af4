"""A Messenger deployment's public settings, as Messenger itself reads them, and where they disagree with the
site's settings (genesys_check, `check --deploy`).

`GET https://api-cdn.<domain>/webdeployments/v1/deployments/{id}/config.json` needs no credentials (transport SDK
Urls.kt; fields as DeploymentConfig.kt): `auth.enabled`, `auth.allowSessionUpgrade`,
`messenger.apps.conversations.conversationClear.enabled`. The sandbox serves the same path on its own origin and
adds `allowedDomains` (where a real org publishes the deployment's allowed domains is unverified: absent, it is
not checked).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import requests

from .app_settings import app_settings


class DeploymentUnreadable(Exception):
    """config.json could not be read or did not have the expected shape (the message says why, in words)."""


@dataclasses.dataclass(frozen=True)
class DeploymentSettings:
    deployment_id: str
    auth_enabled: bool
    allow_session_upgrade: bool
    clear_enabled: bool
    # None: the document does not publish them.
    allowed_domains: tuple[str, ...] | None


def config_url(deployment_id: str) -> str:
    """config.json of a deployment: on api-cdn.<domain> for a real org, on the sandbox's origin in development."""
    base = app_settings.API_BASE if app_settings.SANDBOX else f"https://api-cdn.{app_settings.REGION.domain}"
    return f"{base}/webdeployments/v1/deployments/{deployment_id}/config.json"


def read_deployment(deployment_id: str) -> DeploymentSettings:
    """The deployment's public settings. Raises DeploymentUnreadable (network, status, shape)."""
    url = config_url(deployment_id)
    try:
        response = requests.get(url, timeout=(app_settings.CONNECT_TIMEOUT, app_settings.READ_TIMEOUT))
    except requests.RequestException as error:
        raise DeploymentUnreadable(f"{url} could not be read ({type(error).__name__})") from None
    if response.status_code != 200:
        raise DeploymentUnreadable(f"{url} answered HTTP {response.status_code}")
    try:
        return parse_deployment(deployment_id, response.json())
    except (ValueError, TypeError, AttributeError):
        raise DeploymentUnreadable(f"{url} is not a deployment configuration") from None


def parse_deployment(deployment_id: str, document: dict[str, Any]) -> DeploymentSettings:
    """config.json's fields; a missing boolean reads as off. Raises ValueError, TypeError or AttributeError."""
    auth = document.get("auth") or {}
    conversations = ((document.get("messenger") or {}).get("apps") or {}).get("conversations") or {}
    domains = document.get("allowedDomains")
    return DeploymentSettings(
        deployment_id=deployment_id,
        auth_enabled=bool(auth.get("enabled")),
        allow_session_upgrade=bool(auth.get("allowSessionUpgrade")),
        clear_enabled=bool((conversations.get("conversationClear") or {}).get("enabled")),
        allowed_domains=tuple(str(d) for d in domains) if isinstance(domains, list) else None,
    )


def mismatches(
    member: DeploymentSettings, guest: DeploymentSettings | None, site_hosts: Iterable[str]
) -> list[tuple[str, str]]:
    """Where the deployments disagree with the site's settings: (id, sentence) pairs, an empty list when they
    agree. `guest` is GENESYS_GUEST_DEPLOYMENT_ID's settings (None when it is not set)."""
    found: list[tuple[str, str]] = []
    authenticated = app_settings.AUTHENTICATED_MESSAGING
    if authenticated and not member.auth_enabled:
        found.append(
            (
                "auth-off",
                "GENESYS_AUTHENTICATED_MESSAGING is on but the deployment has authentication off: "
                "Genesys will not authenticate members, and no member is verified.",
            )
        )
    if not authenticated and member.auth_enabled and not member.allow_session_upgrade:
        found.append(
            (
                "auth-on",
                "GENESYS_AUTHENTICATED_MESSAGING is off but the deployment has authentication on "
                "without session upgrade: Genesys refuses every message, as no session is authenticated.",
            )
        )
    if authenticated and app_settings.GUEST_TO_MEMBER == "upgrade" and not member.allow_session_upgrade:
        found.append(
            (
                "no-upgrade",
                'GENESYS_GUEST_TO_MEMBER is "upgrade" but the deployment does not allow session '
                "upgrade: a guest who signs in starts a new conversation.",
            )
        )
    if authenticated and guest is None and member.auth_enabled and not member.allow_session_upgrade:
        found.append(
            (
                "no-visitors",
                "Authentication is on without session upgrade and GENESYS_GUEST_DEPLOYMENT_ID "
                "is not set: visitors get no widget.",
            )
        )
    if guest is not None and guest.auth_enabled:
        found.append(("guest-auth", "GENESYS_GUEST_DEPLOYMENT_ID has authentication on: visitors cannot send."))
    for deployment in filter(None, (member, guest)):
        if not deployment.clear_enabled:
            found.append(
                (
                    "no-clear",
                    f"Deployment {deployment.deployment_id} refuses to clear conversations "
                    "(conversationClear off): after a refused clear the site stops showing Messenger in "
                    "that browser, so the next person there sees nothing of the last one.",
                )
            )
        outside = _hosts_outside(deployment.allowed_domains, site_hosts)
        if outside:
            found.append(
                (
                    "domains",
                    f"Deployment {deployment.deployment_id}'s allowed domains do not include "
                    f"{', '.join(outside)}: Messenger will not load there.",
                )
            )
    return found


def _hosts_outside(allowed: tuple[str, ...] | None, hosts: Iterable[str]) -> list[str]:
    if not allowed:
        return []  # not published, or every domain allowed
    names = {entry.split("://")[-1].split(":")[0].lower() for entry in allowed}
    concrete = [h for h in hosts if h and h != "*" and not h.startswith(".") and h not in {"testserver"}]
    return [host for host in concrete if host.split(":")[0].lower() not in names]


def check_deployments() -> list[tuple[str, str]]:
    """Read the configured deployments and answer mismatches(); raises DeploymentUnreadable."""
    from django.conf import settings

    member = read_deployment(app_settings.DEPLOYMENT_ID)
    guest_id = app_settings.GUEST_DEPLOYMENT_ID
    guest = read_deployment(guest_id) if guest_id else None
    return mismatches(member, guest, settings.ALLOWED_HOSTS)
