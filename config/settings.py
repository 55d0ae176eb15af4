"""Settings for Member Messaging, read from the environment (django-environ, as cookiecutter-django does).

Every variable is explained in README.md and listed in .env.example. Defaults are the embedded development
set-up: SQLite, Django's database cache (shared by every local process), and the Genesys sandbox.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import production
from config.database_settings import default_database
from config.genesys_env import read_genesys_env
from config.log_settings import logging_settings
from messaging.oidc.signing_keys import SigningKeyMissing, active_key, split_pems
from sandbox import defaults as sandbox_defaults

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (never committed) may hold development values; the real environment wins.
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-development-only-key-not-for-production-use-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not DEBUG:
    # Missing, the development key above, or weak: refused at start-up (config/production.py says why).
    production.require_strong_secret_key(SECRET_KEY, development_key=_DEV_SECRET_KEY)
elif not SECRET_KEY:
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's widget templates, for the TemplatesSetting form renderer below.
    "django.forms",
    "csp",
    "django_tasks",
    "django_tasks_db",
    # Before accounts: accounts/admin.py takes the token tables out of the admin (no token is ever shown).
    "oauth2_provider",
    "accounts",
    "messaging",
    "messaging.oidc",  # the OpenID Connect provider for authenticated messaging
    "health",
]

MIDDLEWARE = [
    "messaging.monitoring.middleware.ResponseMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language from the browser's Accept-Language, among LANGUAGES (after sessions, before common).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.MemberPagesUncachedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's CSPMiddleware, adding Messenger's sources to pages that render the widget.
    "messaging.middleware.MessengerCSPMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
# `{{ form }}` renders through templates/forms/ (config/forms.py): one look for every form of ours.
FORM_RENDERER = "config.forms.SiteFormRenderer"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Database: SQLite by default, anything django-environ understands with DATABASE_URL (config/database_settings.py).
DATABASES = {"default": default_database(env, base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every process. Redis with REDIS_URL, else Django's database cache (not locmem: the
# Genesys token lock and the rate limits must be seen by all processes). ---
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis backend, falling back to process memory while Redis is unreachable (config/cache.py).
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mm"),
            # A hung Redis costs one request one timeout, then the process stays on its own memory for
            # REDIS_FALLBACK_SECONDS before one request probes Redis again.
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.1),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.1),
                "fallback_seconds": env.float("REDIS_FALLBACK_SECONDS", default=5.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mm"),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        }
    }

SESSION_ENGINE = env.str(
    "SESSION_ENGINE",
    default="django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db",
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: revokes the member's OpenID Connect tokens whenever a new password is saved (its module says why).
    {"NAME": "accounts.password_changes.EndAuthenticatedMessagingOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Every page of ours is written with gettext ({% translate %} in templates): a second language is a .po file in
# locale/<code>/LC_MESSAGES/ (`manage.py makemessages -l <code>`, then `compilemessages`) and an entry here.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Login rate limits (django-ratelimit, counted in the shared cache; accounts/ratelimits.py). Per username at one
# address is the tightest, so a guessed account locks for the guesser without locking out everyone behind the same
# NAT, nor the member elsewhere; the global per-username budget stops guessing spread over many addresses. ---
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
LOGIN_RATE_PER_USERNAME = env.str("LOGIN_RATE_PER_USERNAME", default="5/m")
LOGIN_RATE_PER_USERNAME_GLOBAL = env.str("LOGIN_RATE_PER_USERNAME_GLOBAL", default="30/m")
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="30/m")
# Behind a proxy, the client's address comes from this header (set by the proxy, never by the client).
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")

# --- Mail (password reset). EMAIL_URL in django-environ's form (smtp+tls://user:password@host:587, ...). In
# development the default prints each mail in the terminal of `make run` (console backend): no mail server. ---
# An empty EMAIL_URL (as in .env.example) means the default too.
_EMAIL = env.email_url_config(
    env.str("EMAIL_URL", default="") or ("consolemail://" if DEBUG else "smtp://localhost:25")
)
# Only what the URL names (host, port, user, password, TLS/SSL, file path); Django's defaults for the rest.
vars().update({name: value for name, value in _EMAIL.items() if value not in (None, "")})
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Member Messaging <no-reply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# A reset link works once (its token covers the password hash) and for this many seconds.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Reset requests allowed per client address, per email address at one client address, and per email address from
# every client address (accounts/reset_limits.py); beyond any, 429.
PASSWORD_RESET_RATE_PER_IP = env.str("PASSWORD_RESET_RATE_PER_IP", default="10/h")
PASSWORD_RESET_RATE_PER_EMAIL = env.str("PASSWORD_RESET_RATE_PER_EMAIL", default="3/h")
PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL = env.str("PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL", default="10/h")

SILENCED_SYSTEM_CHECKS = [
    # Django's own Redis backend increments atomically; django-ratelimit only lists django-redis by name.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # The embedded database cache increments with a read and a write; under a burst of parallel attempts a
    # limit may admit a few extra. Production sets REDIS_URL (README, "Production").
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# --- Background tasks: attribute pushes are delivered by the database-backed worker (manage.py db_worker). ---
TASKS = {
    "default": {
        "BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "genesys"],
    }
}

# --- Security. Production (DEBUG off) is strict by default; each toggle can be relaxed for a local proxy. ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- Genesys Cloud. Only the variables that are set (and not empty) are read here; every default and derived value
# (hosts from the region, the Messenger environment, timeouts, budgets) lives in messaging/app_settings.py. ---
_GENESYS = read_genesys_env()
vars().update(_GENESYS)

# The sandbox is on by default only in development with no Genesys client configured. GENESYS_SANDBOX=true
# keeps it on regardless; with DEBUG off it also needs GENESYS_SANDBOX_IN_PRODUCTION=true and explicit credentials
# (the load test runs the production profile against it).
GENESYS_SANDBOX = _GENESYS.get("GENESYS_SANDBOX", DEBUG and not _GENESYS.get("GENESYS_CLIENT_ID"))
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8100)
SANDBOX_URL = env.str("SANDBOX_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}")
_CREDENTIALS = {
    name: _GENESYS.get(name, "")
    for name in (
        "GENESYS_CLIENT_ID",
        "GENESYS_CLIENT_SECRET",
        "GENESYS_DATA_ACTION_USERNAME",
        "GENESYS_DATA_ACTION_PASSWORD",
    )
}
if not DEBUG:
    production.require_no_public_credentials(
        _CREDENTIALS,
        {
            "GENESYS_CLIENT_SECRET": sandbox_defaults.CLIENT_SECRET,
            "GENESYS_DATA_ACTION_PASSWORD": sandbox_defaults.DATA_ACTION_PASSWORD,
        },
    )
    if GENESYS_SANDBOX:
        production.require_sandbox_opt_in(
            opted_in=_GENESYS.get("GENESYS_SANDBOX_IN_PRODUCTION", False), credentials=_CREDENTIALS
        )
if GENESYS_SANDBOX:
    # Development values the sandbox accepts (it is started with the same ones) and its URL for every host; a real
    # org never sees them. With DEBUG off the credentials are explicit (checked above): only the rest is filled in.
    _SANDBOX_VALUES = {
        "GENESYS_CLIENT_ID": sandbox_defaults.CLIENT_ID,
        "GENESYS_CLIENT_SECRET": sandbox_defaults.CLIENT_SECRET,
        "GENESYS_DEPLOYMENT_ID": sandbox_defaults.DEPLOYMENT_ID,
        "GENESYS_ENVIRONMENT": sandbox_defaults.ENVIRONMENT,
        "GENESYS_DATA_ACTION_USERNAME": sandbox_defaults.DATA_ACTION_USERNAME,
        "GENESYS_DATA_ACTION_PASSWORD": sandbox_defaults.DATA_ACTION_PASSWORD,
        "GENESYS_API_BASE": SANDBOX_URL,
        "GENESYS_LOGIN_BASE": SANDBOX_URL,
        "GENESYS_APPS_BASE": SANDBOX_URL,
        "GENESYS_AGENT_CLIENT_ID": sandbox_defaults.AGENT_CLIENT_ID,
    }
    vars().update({name: value for name, value in _SANDBOX_VALUES.items() if name not in _GENESYS})

# Who a member is, for messaging: the membership profile and its level (accounts/adapter.py).
GENESYS_MEMBER_ADAPTER = "accounts.adapter.MembershipMemberAdapter"

# --- The site as OpenID Connect provider for Genesys' authenticated web messaging (django-oauth-toolkit; README,
# "Authenticated messaging"). Genesys exchanges a code the page obtained (POST /o/messenger/auth-code) at
# /o/token/ with the client below and checks the ID token against /o/.well-known/jwks.json. ---
# Read here as well as in messaging (its default is there too): production must refuse to start without a key.
_AUTHENTICATED_MESSAGING = _GENESYS.get("GENESYS_AUTHENTICATED_MESSAGING", GENESYS_SANDBOX)
GENESYS_OIDC_CLIENT_ID = env.str("GENESYS_OIDC_CLIENT_ID", default="")
GENESYS_OIDC_CLIENT_SECRET = env.str("GENESYS_OIDC_CLIENT_SECRET", default="")
if not DEBUG:
    production.require_strong_client_secret(
        "GENESYS_OIDC_CLIENT_SECRET", GENESYS_OIDC_CLIENT_SECRET, published=sandbox_defaults.OIDC_CLIENT_SECRET
    )
if GENESYS_SANDBOX:
    GENESYS_OIDC_CLIENT_ID = GENESYS_OIDC_CLIENT_ID or sandbox_defaults.OIDC_CLIENT_ID
    # With DEBUG off never the published secret: production registers no client until one of its own is set.
    GENESYS_OIDC_CLIENT_SECRET = GENESYS_OIDC_CLIENT_SECRET or (sandbox_defaults.OIDC_CLIENT_SECRET if DEBUG else "")
# Redirect URIs registered for the Genesys client; the first is the one the page's codes carry by default. The
# code comes back to the page as JSON, so nothing is ever served at it: it only has to match at the exchange.
GENESYS_OIDC_REDIRECT_URIS = env.list(
    "GENESYS_OIDC_REDIRECT_URIS",
    default=[
        f"http://127.0.0.1:{env.int('PORT', default=8000)}/",
        f"http://localhost:{env.int('PORT', default=8000)}/",
    ],
)
# Failed client authentications at /o/token/ allowed per client address and per client id named; beyond either, 429
# before any secret is hashed (messaging/oidc/token_endpoint.py). Successful exchanges and refreshes never count.
OIDC_TOKEN_AUTH_FAILURES_PER_IP = env.str("OIDC_TOKEN_AUTH_FAILURES_PER_IP", default="10/m")
OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT = env.str("OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT", default="60/m")
# Codes for the page's getAuthCode allowed per member (a page asks once per session and on reAuthenticate).
OIDC_AUTH_CODE_RATE = env.str("OIDC_AUTH_CODE_RATE", default="30/m")
try:
    _OIDC_KEY = active_key(
        env.str("OIDC_RSA_PRIVATE_KEY", default=""),
        # The sandbox is never production: with it on (the load test runs DEBUG off against it) a development
        # key will do.
        required=_AUTHENTICATED_MESSAGING and not DEBUG and not GENESYS_SANDBOX,
        development_path=BASE_DIR / "var" / "oidc-dev-key.pem",
    )
except SigningKeyMissing as error:
    raise ImproperlyConfigured(str(error)) from None
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _OIDC_KEY,
    # Retired keys stay in JWKS until every ID token they signed has expired (README, key rotation).
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": split_pems(env.str("OIDC_RSA_PRIVATE_KEYS_INACTIVE", default="")),
    # Empty: derived from the request (https behind the proxy's X-Forwarded-Proto).
    "OIDC_ISS_ENDPOINT": env.str("OIDC_ISSUER", default=""),
    "OAUTH2_VALIDATOR_CLASS": "messaging.oidc.provider.MemberClaimsValidator",
    "SCOPES": {"openid": "Your identity", "email": "Your email address", "profile": "Your name"},
    "DEFAULT_SCOPES": ["openid", "email", "profile"],
    # Authorization code with PKCE, S256 only; the code is short-lived and works once.
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # RFC 9700 as django-oauth-toolkit 4.0 will default: tokens only in headers, stored hashed, `iss` in the
    # authorization response, a replayed refresh token revokes its family.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ID_TOKEN_EXPIRE_SECONDS": 300,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 300,
    # Genesys refreshes with the provider while the member chats; a refresh token dies this long after its access
    # token expired (django-oauth-toolkit enforces it at the refresh), and on sign-out or a password change.
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("REFRESH_TOKEN_EXPIRE_SECONDS", default=24 * 60 * 60),
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
}

# --- Content Security Policy (django-csp 4). Scripts: our own and the nonce'd inline snippet. Pages that render
# Messenger get its hosts added to their own response (messaging.middleware.MessengerCSPMiddleware, from the
# Genesys settings above), so no Genesys host is named here. ---
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": ["'none'"],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": ["'none'"],
    }
}

# --- Prometheus: /metrics wants `Authorization: Bearer <METRICS_TOKEN>`; unset, only loopback may scrape. ---
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Logging: one line per event, never a secret. LOG_FORMAT=json gives one JSON object per line (production). ---
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = logging_settings(level=LOG_LEVEL, log_format=LOG_FORMAT)
