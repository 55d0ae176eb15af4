"""The sandbox's configuration: environment first (the same names the site reads), then `POST /_config`.

`make run` passes nothing: every default matches what config/settings.py uses when the sandbox is on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from . import defaults

_TRUE = {"1", "true", "yes", "on"}
SECURE_ATTRIBUTES = "/api/v2/conversations/{conversationId}/secureattributes"
DEFAULT_ROUTE_RATE_LIMITS = {f"PUT {SECURE_ATTRIBUTES}": 180, f"PATCH {SECURE_ATTRIBUTES}": 180}


@dataclasses.dataclass(frozen=True)
class Deployment:
    """What differs between the org's two deployments; clearing, disconnect and domains are shared."""

    id: str
    auth_enabled: bool
    allow_session_upgrade: bool

    def anonymous_may_send(self) -> bool:
        """AuthenticationSettings.enabled: "webmessaging sessions can not send messages unless the end-user is
        authenticated", unless allowSessionUpgrade lets an anonymous session be upgraded later."""
        return not self.auth_enabled or self.allow_session_upgrade


@dataclasses.dataclass
class Config:
    client_id: str = defaults.CLIENT_ID
    client_secret: str = defaults.CLIENT_SECRET
    deployment_id: str = defaults.DEPLOYMENT_ID
    # The org's second deployment, for visitors: authentication always off (GENESYS.md, "Authentication on the
    # deployment and guests": a site needs session upgrade or a deployment without authentication for guests).
    guest_deployment_id: str = defaults.GUEST_DEPLOYMENT_ID
    data_action_url: str = "http://127.0.0.1:8000/messaging/genesys/verify"
    data_action_username: str = defaults.DATA_ACTION_USERNAME
    data_action_password: str = defaults.DATA_ACTION_PASSWORD
    # Genesys' OAuth client "Token Duration": 86400 s by default (300..172800 in a real org; any value here, so
    # tests can make tokens expire in a second).
    token_ttl: int = 86400
    # Genesys publishes 300 API requests per minute per client-credentials token.
    rate_per_minute: int = 300
    # Length of a rate window: a minute, shorter in benchmarks that scale time (bench/rate_limits.py).
    rate_window_seconds: float = 60.0
    # Routes with a bucket of their own ("METHOD /template": requests per window), counted per token besides the
    # token's bucket; their answers' inin-ratelimit-* headers describe this bucket. Which routes Genesys gives one,
    # and how big, is unverified: the default only shows that the headers describe the bucket that applied.
    route_rate_limits: dict[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_ROUTE_RATE_LIMITS))
    # Announced to the guest in SessionResponse.maxCustomDataBytes; 2048 is the commonly quoted figure.
    max_custom_data_bytes: int = 2048
    # Off: conversations are created but no data action is called (a test of the widget alone).
    flow_enabled: bool = True
    # Genesys' own Terraform example gives the data action 20 s.
    data_action_timeout: float = 20.0
    # Messages one guest session may send per rate window before the socket answers TooManyRequestsErrorMessage
    # (429, errorCode 4029). Genesys' own figure is unverified.
    guest_messages_per_minute: int = 60
    # The deployment's messenger.apps.conversations.conversationClear.enabled: off, a clear is refused.
    conversation_clear_enabled: bool = True
    # SessionResponse.durationSeconds (expirationDate follows from it); Genesys' own figure is unverified.
    session_duration_seconds: int = 259200
    # The deployment's messenger.apps.conversations.conversationDisconnect.enabled: off, an agent ending the
    # conversation sends the guest no Presence Disconnect and the session never turns read-only (GENESYS.md).
    conversation_disconnect_enabled: bool = True
    # The deployment's allowed domains (Terraform genesyscloud_webdeployments_deployment allowed_domains): empty
    # allows every domain; else Messenger's frame may only be embedded by these origins and the guest socket
    # refuses a browser Origin outside them (and the sandbox's own, where Messenger's frame runs).
    allowed_domains: list[str] = dataclasses.field(default_factory=list)
    # Authenticated messaging (GENESYS.md, Authenticated messaging): the deployment's auth.enabled, and the
    # OpenID Connect Messenger Configuration integration (the provider's discovery URI, client id and secret).
    auth_enabled: bool = True
    # auth.allowSessionUpgrade: an anonymous session may send on an authenticated deployment and is upgraded to
    # the member's when they sign in; off, anonymous sessions cannot send at all (AuthenticationSettings.enabled).
    allow_session_upgrade: bool = True
    oidc_discovery_url: str = "http://127.0.0.1:8000/o/.well-known/openid-configuration"
    oidc_client_id: str = defaults.OIDC_CLIENT_ID
    oidc_client_secret: str = defaults.OIDC_CLIENT_SECRET
    # Seconds the JWT of an authenticated session lives (Genesys' "about 15 minutes" is unverified).
    auth_jwt_ttl: int = 900
    # Seconds the exchange waits on each call to the provider.
    oidc_timeout: float = 10.0
    # The org's OAuth client for the member card (grant type Code Authorization with PKCE; public, no secret) and
    # its registered redirect URIs, space-separated (Genesys compares them exactly).
    agent_client_id: str = defaults.AGENT_CLIENT_ID
    agent_redirect_uris: str = "http://127.0.0.1:8000/messaging/agent/card/signed-in/"
    # The Interaction Widget integration's Application URL, its template variables filled in by the agent view
    # (GENESYS.md, Interaction widget). Empty: no widget beside the conversation.
    interaction_widget_url: str = (
        "http://127.0.0.1:8000/messaging/agent/card/?conversationId={{gcConversationId}}"
        "&gcHostOrigin={{gcHostOrigin}}&gcTargetEnv={{gcTargetEnv}}&langTag={{gcLangTag}}"
        "&usePopupAuth={{gcUsePopupAuth}}"
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        site_port = env.get("PORT") or "8000"

        def get(name: str, default: str) -> str:
            # An empty variable (as .env.example has them) means "use the default", as the site reads it.
            return env.get(name) or default

        return cls(
            client_id=get("GENESYS_CLIENT_ID", defaults.CLIENT_ID),
            client_secret=get("GENESYS_CLIENT_SECRET", defaults.CLIENT_SECRET),
            deployment_id=get("GENESYS_DEPLOYMENT_ID", defaults.DEPLOYMENT_ID),
            guest_deployment_id=get("GENESYS_GUEST_DEPLOYMENT_ID", defaults.GUEST_DEPLOYMENT_ID),
            data_action_url=get("SANDBOX_DATA_ACTION_URL", f"http://127.0.0.1:{site_port}/messaging/genesys/verify"),
            data_action_username=get("GENESYS_DATA_ACTION_USERNAME", defaults.DATA_ACTION_USERNAME),
            data_action_password=get("GENESYS_DATA_ACTION_PASSWORD", defaults.DATA_ACTION_PASSWORD),
            token_ttl=int(get("SANDBOX_TOKEN_TTL", "86400")),
            rate_per_minute=int(get("SANDBOX_RATE_PER_MINUTE", "300")),
            max_custom_data_bytes=int(get("SANDBOX_MAX_CUSTOM_DATA_BYTES", "2048")),
            flow_enabled=get("SANDBOX_FLOW_ENABLED", "true").lower() in _TRUE,
            data_action_timeout=float(get("SANDBOX_DATA_ACTION_TIMEOUT", "20")),
            rate_window_seconds=float(get("SANDBOX_RATE_WINDOW_SECONDS", "60")),
            guest_messages_per_minute=int(get("SANDBOX_GUEST_MESSAGES_PER_MINUTE", "60")),
            conversation_clear_enabled=get("SANDBOX_CONVERSATION_CLEAR_ENABLED", "true").lower() in _TRUE,
            auth_enabled=get("SANDBOX_AUTH_ENABLED", "true").lower() in _TRUE,
            allow_session_upgrade=get("SANDBOX_ALLOW_SESSION_UPGRADE", "true").lower() in _TRUE,
            conversation_disconnect_enabled=get("SANDBOX_CONVERSATION_DISCONNECT_ENABLED", "true").lower() in _TRUE,
            allowed_domains=[d for d in get("SANDBOX_ALLOWED_DOMAINS", "").split(",") if d.strip()],
            oidc_discovery_url=get(
                "SANDBOX_OIDC_DISCOVERY_URL", f"http://127.0.0.1:{site_port}/o/.well-known/openid-configuration"
            ),
            oidc_client_id=get("GENESYS_OIDC_CLIENT_ID", defaults.OIDC_CLIENT_ID),
            oidc_client_secret=get("GENESYS_OIDC_CLIENT_SECRET", defaults.OIDC_CLIENT_SECRET),
            auth_jwt_ttl=int(get("SANDBOX_AUTH_JWT_TTL", "900")),
            agent_client_id=get("GENESYS_AGENT_CLIENT_ID", defaults.AGENT_CLIENT_ID),
            agent_redirect_uris=get(
                "SANDBOX_AGENT_REDIRECT_URIS", f"http://127.0.0.1:{site_port}/messaging/agent/card/signed-in/"
            ),
            interaction_widget_url=get(
                "SANDBOX_INTERACTION_WIDGET_URL", cls.interaction_widget_url.replace(":8000/", f":{site_port}/")
            ),
        )

    def updated(self, changes: Mapping[str, Any]) -> Config:
        """A copy with `changes` applied, each checked against the field's type. Raises ValueError."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in fields:
                raise ValueError(f"unknown setting {name!r}; known: {', '.join(sorted(fields))}")
            kind = type(getattr(self, name))
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be a non-negative integer")
            elif kind is float:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                value = float(value)
            elif kind is dict:
                if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
                    for k, v in value.items()
                ):
                    raise ValueError(f"{name} must be an object of non-negative integers")
                value = dict(value)
            elif kind is list:
                if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                    raise ValueError(f"{name} must be a list of non-empty strings")
                value = list(value)
            elif not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            clean[name] = value
        return dataclasses.replace(self, **clean)

    def deployment(self, deployment_id: str) -> Deployment | None:
        """The settings of one of the org's deployments (the member one or the guest one), None for another id."""
        if deployment_id == self.deployment_id:
            return Deployment(deployment_id, self.auth_enabled, self.auth_enabled and self.allow_session_upgrade)
        if deployment_id == self.guest_deployment_id:
            return Deployment(deployment_id, auth_enabled=False, allow_session_upgrade=False)
        return None

    def public(self) -> dict[str, Any]:
        """For GET /_config: everything but the secrets' values."""
        data = dataclasses.asdict(self)
        for secret in ("client_secret", "data_action_password", "oidc_client_secret"):
            data[secret] = "***" if data[secret] else ""
        return data
