"""System checks of the Genesys integration: the attribute configuration (mapping vs byte budget), the middleware
that gives Messenger its CSP sources, the caches messaging shares between processes, and (deploy) the data
action's credentials."""

from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.checks import CheckMessage, Error, Info, Tags, Warning, register

from .app_settings import app_settings
from .attributes import configuration_problems
from .cache_contract import cache_problem, per_process

DATA_ACTION_SETTINGS = ("GENESYS_DATA_ACTION_USERNAME", "GENESYS_DATA_ACTION_PASSWORD")
# A machine-to-machine secret typed once into Genesys' credential store: no reason for it to be short.
DATA_ACTION_PASSWORD_MIN_LENGTH = 32
DATA_ACTION_PASSWORD_MIN_UNIQUE_CHARACTERS = 5
_NEW_PASSWORD_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def attribute_configuration_problems() -> list[str]:
    """Problems of the configured GENESYS_ATTRIBUTE_MAPPING and GENESYS_MAX_CUSTOM_DATA_BYTES, in words."""
    from django.conf import settings

    # Raw settings, not app_settings: a malformed value must be reported, not raise while being read.
    mapping = getattr(settings, "GENESYS_ATTRIBUTE_MAPPING", None)
    if mapping is None:
        mapping = app_settings.ATTRIBUTE_MAPPING
    budget = getattr(settings, "GENESYS_MAX_CUSTOM_DATA_BYTES", None)
    if budget is None:
        budget = app_settings.MAX_CUSTOM_DATA_BYTES
    return configuration_problems(mapping, budget)


@register()
def check_attribute_budget(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(problem, hint="See README, Genesys settings.", id="messaging.E001")
        for problem in attribute_configuration_problems()
    ]


CSP_MIDDLEWARE = "csp.middleware.CSPMiddleware"
MESSENGER_CSP_MIDDLEWARE = "messaging.middleware.MessengerCSPMiddleware"


def messenger_csp_middleware_problem(middleware: list[str]) -> str | None:
    """Why Messenger's CSP sources would not reach the pages (MIDDLEWARE missing or misordered), or None."""
    if MESSENGER_CSP_MIDDLEWARE not in middleware:
        return f"MIDDLEWARE lacks {MESSENGER_CSP_MIDDLEWARE}: browsers will block the Messenger widget."
    if CSP_MIDDLEWARE in middleware:
        return (
            f"MIDDLEWARE lists {CSP_MIDDLEWARE} beside {MESSENGER_CSP_MIDDLEWARE}, which is django-csp's middleware "
            "already: the first to write the header wins, and may leave Messenger's sources out."
        )
    return None


@register("security")
def check_messenger_csp(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Messenger's CSP sources are added per response by MessengerCSPMiddleware, django-csp's own subclassed."""
    from django.conf import settings

    if not app_settings.MESSENGER_CONFIGURED:
        return []
    problem = messenger_csp_middleware_problem(list(getattr(settings, "MIDDLEWARE", [])))
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint=f'List "{MESSENGER_CSP_MIDDLEWARE}" in MIDDLEWARE in place of "{CSP_MIDDLEWARE}".',
            id="messaging.E004",
        )
    ]


def missing_data_action_settings() -> list[str]:
    """Names of the data action's credential settings that are empty (the verify endpoint then refuses every
    call, so no conversation is ever verified)."""
    if app_settings.DATA_ACTION_CREDENTIALS:
        return []
    return [name for name in DATA_ACTION_SETTINGS if not getattr(app_settings, name.removeprefix("GENESYS_"))]


def weak_data_action_password_problem() -> str | None:
    """Why a configured data action password is too weak for production, in words (never the value), or None."""
    weak = [
        password
        for _, password in app_settings.DATA_ACTION_CREDENTIALS
        if len(password) < DATA_ACTION_PASSWORD_MIN_LENGTH
        or len(set(password)) < DATA_ACTION_PASSWORD_MIN_UNIQUE_CHARACTERS
    ]
    if not weak:
        return None
    password = weak[0]
    return (
        f"GENESYS_DATA_ACTION_PASSWORD is too weak for production ({len(password)} characters, "
        f"{len(set(password))} distinct; at least {DATA_ACTION_PASSWORD_MIN_LENGTH} characters and "
        f"{DATA_ACTION_PASSWORD_MIN_UNIQUE_CHARACTERS} distinct are needed)."
    )


@register(Tags.security, deploy=True)
def check_data_action_credentials(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """`check --deploy`: the data action Genesys calls must have credentials, and a password worth the name."""
    problems: list[CheckMessage] = []
    missing = missing_data_action_settings()
    if missing:
        problems.append(
            Error(
                f"{' and '.join(missing)} not set: the data action endpoint refuses every call, so no conversation "
                "is verified.",
                hint=f"Set {' and '.join(missing)} to the HTTP Basic credentials of the Genesys data action "
                "integration (deploy/genesys/README.md).",
                id="messaging.E002",
            )
        )
    weak = weak_data_action_password_problem()
    if weak:
        problems.append(
            Error(
                weak,
                hint=f"Set GENESYS_DATA_ACTION_PASSWORD to a long random value ({_NEW_PASSWORD_HINT}), here and in "
                "the data action integration's credentials.",
                id="messaging.E003",
            )
        )
    return problems


@register()
def check_guest_to_member(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """GENESYS_GUEST_TO_MEMBER takes "clear" or "upgrade"; anything else would silently clear."""
    value = getattr(settings, "GENESYS_GUEST_TO_MEMBER", "clear")
    if str(value).lower() in {"clear", "upgrade"}:
        return []
    return [
        Error(
            f"GENESYS_GUEST_TO_MEMBER is {value!r}.",
            hint='Set it to "clear" (the default) or "upgrade".',
            id="messaging.E005",
        )
    ]


DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"


def database_cache_on_postgresql(databases: dict[str, dict], caches: dict[str, dict]) -> str | None:
    """Why the default cache should be Redis (PostgreSQL behind Django's database cache), or None."""
    engine = databases.get("default", {}).get("ENGINE", "")
    backend = caches.get("default", {}).get("BACKEND", "")
    if "postgresql" not in engine or backend != DATABASE_CACHE:
        return None
    return (
        "The default cache is Django's database cache on PostgreSQL: every verify reads and writes its token "
        "and pacing state through the database (about twice the data action's own time), and every cache "
        "write counts the cache table to cull it."
    )


@register(Tags.caches, deploy=True)
def check_cache_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = database_cache_on_postgresql(settings.DATABASES, settings.CACHES)
    if problem is None:
        return []
    return [Warning(problem, hint="Set REDIS_URL (see README, Settings).", id="messaging.W001")]


def messaging_cache_aliases() -> list[str]:
    """The caches messaging uses: the default (tokens, pacing, spent codes) and django-ratelimit's."""
    aliases = [DEFAULT_CACHE_ALIAS, getattr(settings, "RATELIMIT_USE_CACHE", DEFAULT_CACHE_ALIAS)]
    return [alias for alias in dict.fromkeys(aliases) if alias in settings.CACHES]


@register(Tags.caches)
def check_cache_contract(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Each cache messaging uses can do what messaging.cache_contract.SharedCache says."""
    return [
        Error(
            f"CACHES[{alias!r}]: {problem}",
            hint="Use Django's Redis cache (or its database cache): see messaging/README.md, Settings.",
            id="messaging.E006",
        )
        for alias in messaging_cache_aliases()
        if (problem := cache_problem(caches[alias])) is not None
    ]


@register(Tags.caches, deploy=True)
def check_cache_shared_by_processes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """`check --deploy`: production runs several processes (web workers, the push worker), which must share the
    cache, or each fetches its own Genesys token and spends the token's API budget and the rate limits alone."""
    return [
        Warning(
            f"CACHES[{alias!r}] is process memory ({type(caches[alias]).__name__}): with several processes each "
            "fetches its own Genesys token, paces its API calls as if alone (Genesys answers 429 once together "
            "they pass the per-token budget) and counts its own rate limits.",
            hint="Use Django's Redis cache (or its database cache): see messaging/README.md, Settings.",
            id="messaging.W009",
        )
        for alias in messaging_cache_aliases()
        if per_process(caches[alias])
    ]


# One warning id per disagreement between the site's settings and its Messenger deployments (messaging.deployment).
DEPLOYMENT_WARNINGS = {
    "auth-off": "messaging.W002",
    "auth-on": "messaging.W003",
    "no-upgrade": "messaging.W004",
    "no-visitors": "messaging.W005",
    "guest-auth": "messaging.W006",
    "no-clear": "messaging.W007",
    "domains": "messaging.W008",
}


@register(deploy=True)
def check_messenger_deployments(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """`check --deploy`: the deployments' public settings (config.json) agree with GENESYS_AUTHENTICATED_MESSAGING,
    GENESYS_GUEST_TO_MEMBER, GENESYS_GUEST_DEPLOYMENT_ID and ALLOWED_HOSTS. Reads the network."""
    from .deployment import DeploymentUnreadable, check_deployments

    if not app_settings.MESSENGER_CONFIGURED:
        return []
    hint = "See deploy/genesys/README.md, Messenger deployments; `manage.py genesys_check` shows each setting."
    try:
        found = check_deployments()
    except DeploymentUnreadable as error:
        # Not a warning: a deploy check run where Genesys (or the sandbox) is out of reach says nothing about it.
        return [
            Info(f"The Messenger deployment's settings could not be read: {error}.", hint=hint, id="messaging.I001")
        ]
    return [Warning(sentence, hint=hint, id=DEPLOYMENT_WARNINGS[key]) for key, sentence in found]
