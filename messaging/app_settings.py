"""The Genesys integration's settings with their defaults, in one place (as django-allauth's app_settings).

Read lazily from django.conf.settings (`GENESYS_<NAME>`) on each access, so tests can override them with the
`settings` fixture. Every default and derived value is here and only here: config/settings.py sets a GENESYS_*
setting only when its environment variable is set (and, in sandbox mode, the sandbox's values), so a site that
adds this app sets only what differs.
"""

from typing import Any

from django.conf import settings

from .regions import Region, get_region


class AppSettings:
    def _get(self, name: str, default: Any) -> Any:
        return getattr(settings, f"GENESYS_{name}", default)

    @classmethod
    def declared(cls) -> dict[str, Any]:
        """{GENESYS_<NAME>: default} for every setting the properties read, found by reading each property once
        with every setting at its default (no Django settings needed), so a list of the settings (the
        environment's, config/genesys_env.py) is never typed by hand."""
        asked: dict[str, Any] = {}

        class Defaults(cls):  # type: ignore[valid-type, misc]
            def _get(self, name: str, default: Any) -> Any:
                asked.setdefault(f"GENESYS_{name}", default)
                return default

        defaults = Defaults()
        for name, attribute in vars(cls).items():
            if isinstance(attribute, property):
                getattr(defaults, name)
        return asked

    # --- Where Genesys is ---
    @property
    def REGION(self) -> Region:
        """The Genesys Cloud region (AWS region name, "us-east-1" by default): hosts and Messenger environment."""
        return get_region(self._get("REGION", "us-east-1"))

    @property
    def SANDBOX(self) -> bool:
        """Talking to the embedded sandbox instead of Genesys (its guest socket is ws:// on its own origin)."""
        return bool(self._get("SANDBOX", False))

    @property
    def API_BASE(self) -> str:
        """Platform API base URL: GENESYS_API_BASE, else https://api.<region's domain>."""
        return (self._get("API_BASE", "") or self.REGION.api_base).rstrip("/")

    @property
    def LOGIN_BASE(self) -> str:
        """OAuth base URL: GENESYS_LOGIN_BASE, else https://login.<region's domain>."""
        return (self._get("LOGIN_BASE", "") or self.REGION.login_base).rstrip("/")

    @property
    def APPS_BASE(self) -> str:
        """Messenger script host: GENESYS_APPS_BASE, else https://apps.<region's domain>."""
        return (self._get("APPS_BASE", "") or self.REGION.apps_base).rstrip("/")

    # --- Messenger (the browser widget) ---
    @property
    def DEPLOYMENT_ID(self) -> str:
        """Messenger deployment id; empty: no widget is rendered."""
        return self._get("DEPLOYMENT_ID", "")

    @property
    def GUEST_DEPLOYMENT_ID(self) -> str:
        """A second Messenger deployment, without authentication, for visitors (with authenticated messaging: an
        authenticated deployment lets anonymous sessions send only when it allows session upgrade). Empty:
        visitors use DEPLOYMENT_ID, whose launcher shows only if its settings allow session upgrade."""
        return self._get("GUEST_DEPLOYMENT_ID", "")

    @property
    def ENVIRONMENT(self) -> str:
        """From the deployment snippet when configured, else the region's usual value."""
        return self._get("ENVIRONMENT", "") or self.REGION.environment

    @property
    def MESSENGER_CONFIGURED(self) -> bool:
        """Pages render the widget (a deployment id is set)."""
        return bool(self.DEPLOYMENT_ID)

    @property
    def MESSENGER_SCRIPT_URL(self) -> str:
        """The bootstrap script of the deployment snippet, on the apps host."""
        return f"{self.APPS_BASE}/genesys-bootstrap/genesys.min.js"

    @property
    def AUTHENTICATED_MESSAGING(self) -> bool:
        """Genesys authenticates signed-in members itself (authenticated web messaging): the page registers the
        AuthProvider plugin and sets no member token; the flow passes the participant's `sub` to the data action.
        On by default while the sandbox is on, off for a real org until set (it needs the OpenID Connect Messenger
        Configuration integration and Authentication on in the Messenger configuration: deploy/genesys/)."""
        return bool(self._get("AUTHENTICATED_MESSAGING", self.SANDBOX))

    @property
    def AUTH_CODE_URL(self) -> str:
        """Where the page's AuthProvider asks the site for an authorization code (same origin, POST, CSRF): a URL
        name to reverse, or a path starting with "/"."""
        return self._get("AUTH_CODE_URL", "messenger_auth_code")

    @property
    def GUEST_TO_MEMBER(self) -> str:
        """What happens to a guest's conversation when the visitor signs in, with authenticated messaging on:
        "clear" (default; this browser forgets it, safest on a shared computer) or "upgrade" (Messenger upgrades
        the anonymous session to the member's; the deployment must allow session upgrade). Without authenticated
        messaging a guest's conversation is always cleared."""
        value = str(self._get("GUEST_TO_MEMBER", "clear")).lower()
        return value if value in {"clear", "upgrade"} else "clear"

    @property
    def MAX_CUSTOM_DATA_BYTES(self) -> int:
        """Budget for custom attributes, keys plus values in UTF-8 bytes (Genesys announces maxCustomDataBytes;
        2048 is the commonly quoted figure)."""
        return int(self._get("MAX_CUSTOM_DATA_BYTES", 2048))

    @property
    def MEMBER_TOKEN_MAX_AGE(self) -> int:
        """Seconds a signed member token stays valid."""
        return int(self._get("MEMBER_TOKEN_MAX_AGE", 30 * 60))

    @property
    def ATTRIBUTE_MAPPING(self) -> dict[str, str]:
        """Optional extra attributes: attribute name -> dotted path on the user (a callable is called), e.g.
        {"displayName": "get_full_name", "email": "email"}. Dropped longest first when over the budget."""
        return dict(self._get("ATTRIBUTE_MAPPING", {"displayName": "get_full_name", "email": "email"}))

    # --- Platform API client (server side) ---
    @property
    def CLIENT_ID(self) -> str:
        """OAuth client (client-credentials grant) of the Platform API."""
        return self._get("CLIENT_ID", "")

    @property
    def CLIENT_SECRET(self) -> str:
        """The OAuth client's secret; never logged, never shown."""
        return self._get("CLIENT_SECRET", "")

    @property
    def API_CONFIGURED(self) -> bool:
        """The API client can fetch a token (client id and secret both set)."""
        return bool(self.CLIENT_ID and self.CLIENT_SECRET)

    @property
    def CONNECT_TIMEOUT(self) -> float:
        """Seconds to open a connection to Genesys."""
        return float(self._get("CONNECT_TIMEOUT", 3.05))

    @property
    def READ_TIMEOUT(self) -> float:
        """Seconds to wait for Genesys' answer once connected."""
        return float(self._get("READ_TIMEOUT", 10.0))

    @property
    def RETRY_TOTAL(self) -> int:
        """Retries of one API call on 429/502/503/504 and connection errors."""
        return int(self._get("RETRY_TOTAL", 3))

    @property
    def RETRY_BACKOFF_FACTOR(self) -> float:
        """urllib3 backoff between retries without a Retry-After: factor * 2**(retries - 1) seconds."""
        return float(self._get("RETRY_BACKOFF_FACTOR", 0.25))

    @property
    def HTTP_POOL_MAXSIZE(self) -> int:
        """Connections kept per Genesys host by the process-wide Session (one per concurrent thread is ideal)."""
        return int(self._get("HTTP_POOL_MAXSIZE", 32))

    @property
    def MAX_RETRY_WAIT(self) -> float:
        """Longest Retry-After (seconds) we sleep for inside a call; beyond it the call fails fast."""
        return float(self._get("MAX_RETRY_WAIT", 10.0))

    @property
    def TOKEN_EXPIRY_MARGIN(self) -> int:
        """Seconds before Genesys' expiry at which a cached token is considered stale."""
        return int(self._get("TOKEN_EXPIRY_MARGIN", 60))

    @property
    def TOKEN_LOCK_TIMEOUT(self) -> float:
        """Longest wait (seconds) for another process's token fetch before failing with a typed error."""
        return float(self._get("TOKEN_LOCK_TIMEOUT", 10.0))

    @property
    def TOKEN_RATE_PER_MINUTE(self) -> int:
        """API requests Genesys allows per token per minute (300 published): the pacing budget. Genesys'
        inin-ratelimit-allowed header describes the bucket that applied to one answer, not the token, and never
        replaces this (messaging.genesys.pacing)."""
        return int(self._get("TOKEN_RATE_PER_MINUTE", 300))

    @property
    def TOKEN_POOL_SIZE(self) -> int:
        """Tokens (slots) the cluster spreads its API calls over, each with its own per-minute budget."""
        return max(1, int(self._get("TOKEN_POOL_SIZE", 1)))

    @property
    def TOKEN_RATE_HEADROOM(self) -> float:
        """Share of the per-token rate left unused (clock skew between hosts, late arrivals, the database cache's
        imprecise counting): 0.1 paces at 270 of 300."""
        return float(self._get("TOKEN_RATE_HEADROOM", 0.1))

    @property
    def PACING(self) -> bool:
        """Pace API calls in the shared cache so no token exceeds its budget (messaging.genesys.pacing)."""
        return bool(self._get("PACING", True))

    @property
    def PACING_MAX_WAIT(self) -> float:
        """Longest wait (seconds) of one API call for budget; beyond it the call fails fast with
        GenesysRateLimited and the push stays in the outbox. messaging.genesys.client.pacing_wait() lengthens it for a
        block (the worker can afford to wait longer than a web request)."""
        return float(self._get("PACING_MAX_WAIT", 2.0))

    # --- Data action (Genesys calls us) ---
    @property
    def DATA_ACTION_USERNAME(self) -> str:
        """HTTP Basic user the data action integration sends to the verify endpoint."""
        return self._get("DATA_ACTION_USERNAME", "")

    @property
    def DATA_ACTION_PASSWORD(self) -> str:
        """HTTP Basic password of the data action; never logged, never shown."""
        return self._get("DATA_ACTION_PASSWORD", "")

    @property
    def DATA_ACTION_CREDENTIALS(self) -> list[tuple[str, str]]:
        """Every (username, password) pair the verify endpoint accepts: GENESYS_DATA_ACTION_CREDENTIALS (a list of
        pairs; JSON in the environment, e.g. [["user", "new password"], ["user", "old password"]]) and then
        DATA_ACTION_USERNAME/PASSWORD when both are set. Several pairs rotate the credentials without downtime:
        add the new pair, change the Genesys integration, then remove the old pair. A pair with an empty part,
        or that is not a pair of strings, is never accepted."""
        pairs = [
            *(self._get("DATA_ACTION_CREDENTIALS", []) or []),
            (self.DATA_ACTION_USERNAME, self.DATA_ACTION_PASSWORD),
        ]
        return [
            (pair[0], pair[1])
            for pair in pairs
            if isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)
        ]

    @property
    def VERIFY_RATE(self) -> str:
        """django-ratelimit rate of authenticated verify calls per client address (Genesys calls from a few
        addresses); failed credentials count against VERIFY_FAILED_AUTH_RATE instead."""
        return str(self._get("VERIFY_RATE", "600/m"))

    @property
    def VERIFY_FAILED_AUTH_RATE(self) -> str:
        """django-ratelimit rate of failed credentials on the verify endpoint per client address, counted apart
        from VERIFY_RATE (429 once exceeded); Genesys itself never fails, so this only ever meets strangers."""
        return str(self._get("VERIFY_FAILED_AUTH_RATE", "30/m"))

    @property
    def VERIFY_MAX_BODY_BYTES(self) -> int:
        """Largest verify request body; the real one is about 150 bytes."""
        return int(self._get("VERIFY_MAX_BODY_BYTES", 8192))

    @property
    def VERIFY_INLINE_BUDGET(self) -> float:
        """Seconds the verify endpoint spends delivering the push itself before leaving it to the worker
        (the data action times out after 20 s)."""
        return float(self._get("VERIFY_INLINE_BUDGET", 5.0))

    @property
    def VERIFY_SUB_ON_FROM_ADDRESS(self) -> bool:
        """A `sub` verifies only when the customer participant's `fromAddress.addressDisplayable` is that sub (the
        identity Genesys authenticated). That Genesys fills it with the ID token's sub is inferred from Architect's
        `senderAddressInfo.addressDisplayable` (GENESYS.md, unverified): switch off only if a real org shows the
        field empty, and then any authenticated customer's sub is taken as the flow passes it."""
        return bool(self._get("VERIFY_SUB_ON_FROM_ADDRESS", True))

    # --- Attribute-push outbox (messaging.services) ---
    @property
    def PUSH_MAX_ATTEMPTS(self) -> int:
        """Delivery attempts of one push before it is left as failed (admin: "Retry now")."""
        return int(self._get("PUSH_MAX_ATTEMPTS", 8))

    @property
    def PUSH_RETRY_BASE(self) -> float:
        """First retry delay in seconds; doubled per attempt, with jitter."""
        return float(self._get("PUSH_RETRY_BASE", 2.0))

    @property
    def PUSH_RETRY_MAX(self) -> float:
        """Longest backoff between two attempts, seconds."""
        return float(self._get("PUSH_RETRY_MAX", 600.0))

    @property
    def PUSH_RETRY_AFTER_MAX(self) -> float:
        """Longest Retry-After honoured before the next attempt (daily limits answer hours), seconds."""
        return float(self._get("PUSH_RETRY_AFTER_MAX", 3600.0))

    @property
    def PUSH_LEASE(self) -> float:
        """Seconds a delivery holds its conversation; longer than the slowest GET plus PATCH with the client's
        retries, so an expired lease means the holder died."""
        return float(self._get("PUSH_LEASE", 120.0))

    @property
    def PUSH_SWEEP_GRACE(self) -> float:
        """Seconds a pending push may be overdue before the sweep re-enqueues it (its task was lost)."""
        return float(self._get("PUSH_SWEEP_GRACE", 30.0))

    @property
    def CONVERSATION_OPEN_HOURS(self) -> float:
        """A conversation verified this long ago no longer gets level-change pushes (Genesys tells us nothing
        when it ends)."""
        return float(self._get("CONVERSATION_OPEN_HOURS", 24.0))

    @property
    def RETENTION_DAYS(self) -> float:
        """Days kept of delivered and superseded pushes, ended conversation links, spent member-token uses,
        expired or revoked grants and finished task rows; the worker prunes older ones (failed pushes stay
        until an operator acts)."""
        return float(self._get("RETENTION_DAYS", 30.0))

    # --- Members ---
    # --- The agents' member card (agent_card/) ---
    @property
    def AGENT_CLIENT_ID(self) -> str:
        """The org's OAuth client for the card (grant type Code Authorization, PKCE; public, no secret). Empty:
        the card cannot sign agents in."""
        return str(self._get("AGENT_CLIENT_ID", ""))

    @property
    def AGENT_CARD_RATE(self) -> str:
        """Card requests per address (django-ratelimit rate): each asks Genesys twice."""
        return str(self._get("AGENT_CARD_RATE", "60/m"))

    @property
    def AGENT_CARD_FRAME_ANCESTORS(self) -> list[str]:
        """Who may frame the card: Genesys' apps origin (the agent desktop), the sandbox's in development."""
        return list(self._get("AGENT_CARD_FRAME_ANCESTORS", [self.APPS_BASE]))

    @property
    def MEMBER_ADAPTER(self) -> str:
        """Dotted path of the MemberAdapter that tells messaging who a member is (messaging/identity/adapter.py)."""
        return self._get("MEMBER_ADAPTER", "messaging.identity.adapter.DefaultMemberAdapter")


app_settings = AppSettings()
