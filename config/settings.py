"""Settings for Member Messaging, read from the environment (django-environ, as cookiecutter-django does).

Every variable is explained in README.md and listed in .env.example. Defaults are the embedded development
set-up: SQLite, Django's database cache (shared by every local process), and the Genesys sandbox.
"""

from pathlib import Path

import environ
from csp.constants import NONCE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import production
from messaging.regions import UnknownRegion, get_region, websocket_origin
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
    "csp",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "messaging",
    "health",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.MemberPagesUncachedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
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

# --- Database: SQLite by default, anything django-environ understands with DATABASE_URL. ---
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several local processes (site, task worker) write to one file: wait for the lock instead of failing,
    # and take the write lock at the start of a transaction so two writers never deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
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
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
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

# --- Login rate limits (django-ratelimit, counted in the shared cache). Per username is the tighter one, so a
# guessed account locks without locking out everyone behind the same NAT. ---
RATELIMIT_VIEW = "accounts.views.ratelimited"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
LOGIN_RATE_PER_USERNAME = env.str("LOGIN_RATE_PER_USERNAME", default="5/m")
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
# Reset requests allowed per client address and per email address (accounts/reset_limits.py); beyond, 429.
PASSWORD_RESET_RATE_PER_IP = env.str("PASSWORD_RESET_RATE_PER_IP", default="10/h")
PASSWORD_RESET_RATE_PER_EMAIL = env.str("PASSWORD_RESET_RATE_PER_EMAIL", default="3/h")

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

# --- Genesys Cloud. Read here; defaults and derived values live in messaging/app_settings.py. ---
GENESYS_REGION = env.str("GENESYS_REGION", default="us-east-1")
GENESYS_ENVIRONMENT = env.str("GENESYS_ENVIRONMENT", default="")
GENESYS_DEPLOYMENT_ID = env.str("GENESYS_DEPLOYMENT_ID", default="")
GENESYS_CLIENT_ID = env.str("GENESYS_CLIENT_ID", default="")
GENESYS_CLIENT_SECRET = env.str("GENESYS_CLIENT_SECRET", default="")
GENESYS_DATA_ACTION_USERNAME = env.str("GENESYS_DATA_ACTION_USERNAME", default="")
GENESYS_DATA_ACTION_PASSWORD = env.str("GENESYS_DATA_ACTION_PASSWORD", default="")
# The sandbox is on by default only in development with no Genesys client configured. GENESYS_SANDBOX=true
# keeps it on regardless; with DEBUG off it also needs GENESYS_SANDBOX_IN_PRODUCTION=true and explicit credentials
# (the load test runs the production profile against it).
GENESYS_SANDBOX = env.bool("GENESYS_SANDBOX", default=DEBUG and not GENESYS_CLIENT_ID)
GENESYS_SANDBOX_IN_PRODUCTION = env.bool("GENESYS_SANDBOX_IN_PRODUCTION", default=False)
SANDBOX_PORT = env.int("SANDBOX_PORT", default=8100)
SANDBOX_URL = env.str("SANDBOX_URL", default=f"http://127.0.0.1:{SANDBOX_PORT}")
if not DEBUG:
    _CREDENTIALS = {
        "GENESYS_CLIENT_ID": GENESYS_CLIENT_ID,
        "GENESYS_CLIENT_SECRET": GENESYS_CLIENT_SECRET,
        "GENESYS_DATA_ACTION_USERNAME": GENESYS_DATA_ACTION_USERNAME,
        "GENESYS_DATA_ACTION_PASSWORD": GENESYS_DATA_ACTION_PASSWORD,
    }
    production.require_no_public_credentials(
        _CREDENTIALS,
        {
            "GENESYS_CLIENT_SECRET": sandbox_defaults.CLIENT_SECRET,
            "GENESYS_DATA_ACTION_PASSWORD": sandbox_defaults.DATA_ACTION_PASSWORD,
        },
    )
    if GENESYS_SANDBOX:
        production.require_sandbox_opt_in(opted_in=GENESYS_SANDBOX_IN_PRODUCTION, credentials=_CREDENTIALS)
if GENESYS_SANDBOX:
    # Development values the sandbox accepts (it is started with the same ones); a real org never sees them.
    # With DEBUG off the credentials are explicit (checked above), so only the public ids are filled in.
    GENESYS_CLIENT_ID = GENESYS_CLIENT_ID or sandbox_defaults.CLIENT_ID
    GENESYS_CLIENT_SECRET = GENESYS_CLIENT_SECRET or sandbox_defaults.CLIENT_SECRET
    GENESYS_DEPLOYMENT_ID = GENESYS_DEPLOYMENT_ID or sandbox_defaults.DEPLOYMENT_ID
    GENESYS_ENVIRONMENT = GENESYS_ENVIRONMENT or sandbox_defaults.ENVIRONMENT
    GENESYS_DATA_ACTION_USERNAME = GENESYS_DATA_ACTION_USERNAME or sandbox_defaults.DATA_ACTION_USERNAME
    GENESYS_DATA_ACTION_PASSWORD = GENESYS_DATA_ACTION_PASSWORD or sandbox_defaults.DATA_ACTION_PASSWORD
try:
    _REGION = get_region(GENESYS_REGION)
except UnknownRegion as error:
    raise ImproperlyConfigured(str(error)) from None
GENESYS_API_BASE = env.str("GENESYS_API_BASE", default=SANDBOX_URL if GENESYS_SANDBOX else _REGION.api_base)
GENESYS_LOGIN_BASE = env.str("GENESYS_LOGIN_BASE", default=SANDBOX_URL if GENESYS_SANDBOX else _REGION.login_base)
GENESYS_APPS_BASE = env.str("GENESYS_APPS_BASE", default=SANDBOX_URL if GENESYS_SANDBOX else _REGION.apps_base)
GENESYS_MAX_CUSTOM_DATA_BYTES = env.int("GENESYS_MAX_CUSTOM_DATA_BYTES", default=2048)
GENESYS_MEMBER_TOKEN_MAX_AGE = env.int("GENESYS_MEMBER_TOKEN_MAX_AGE", default=30 * 60)
GENESYS_ATTRIBUTE_MAPPING = env.json(
    "GENESYS_ATTRIBUTE_MAPPING", default={"displayName": "get_full_name", "email": "email"}
)
# Platform API client: timeouts and the longest Retry-After waited inside one call.
GENESYS_CONNECT_TIMEOUT = env.float("GENESYS_CONNECT_TIMEOUT", default=3.05)
GENESYS_READ_TIMEOUT = env.float("GENESYS_READ_TIMEOUT", default=10.0)
GENESYS_MAX_RETRY_WAIT = env.float("GENESYS_MAX_RETRY_WAIT", default=10.0)
# API pacing and the token pool (messaging/genesys/pacing.py): each token's per-minute budget, shared by every process.
GENESYS_PACING = env.bool("GENESYS_PACING", default=True)
GENESYS_TOKEN_RATE_PER_MINUTE = env.int("GENESYS_TOKEN_RATE_PER_MINUTE", default=300)
GENESYS_TOKEN_RATE_HEADROOM = env.float("GENESYS_TOKEN_RATE_HEADROOM", default=0.1)
GENESYS_TOKEN_POOL_SIZE = env.int("GENESYS_TOKEN_POOL_SIZE", default=1)
GENESYS_PACING_MAX_WAIT = env.float("GENESYS_PACING_MAX_WAIT", default=2.0)
# Data-action endpoint and the attribute-push outbox (meaning and the other defaults: messaging/app_settings.py).
GENESYS_VERIFY_RATE = env.str("GENESYS_VERIFY_RATE", default="600/m")
GENESYS_VERIFY_FAILED_AUTH_RATE = env.str("GENESYS_VERIFY_FAILED_AUTH_RATE", default="30/m")
GENESYS_PUSH_MAX_ATTEMPTS = env.int("GENESYS_PUSH_MAX_ATTEMPTS", default=8)
GENESYS_PUSH_RETRY_BASE = env.float("GENESYS_PUSH_RETRY_BASE", default=2.0)
GENESYS_PUSH_LEASE = env.float("GENESYS_PUSH_LEASE", default=120.0)

# --- Content Security Policy (django-csp 4). Scripts: our own, the nonce'd inline snippet, and the Messenger
# (apps) host only. Messenger also talks to the API host and the guest WebSocket host of the region; in sandbox
# mode all of it is the sandbox's origin, its socket under ws:// (messaging.messenger.messenger_csp_sources). ---
_APPS_ORIGINS = [GENESYS_APPS_BASE] if GENESYS_DEPLOYMENT_ID else []
if not GENESYS_DEPLOYMENT_ID:
    _MESSENGER_CONNECT: list[str] = []
elif GENESYS_SANDBOX:
    _MESSENGER_CONNECT = [GENESYS_APPS_BASE, websocket_origin(GENESYS_APPS_BASE)]
else:
    _MESSENGER_CONNECT = [GENESYS_APPS_BASE, GENESYS_API_BASE, f"wss://{_REGION.webmessaging_host}"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE, *_APPS_ORIGINS],
        "style-src": [SELF, NONCE, *_APPS_ORIGINS],
        "img-src": [SELF, "data:", *_APPS_ORIGINS],
        "connect-src": [SELF, *dict.fromkeys(_MESSENGER_CONNECT)],
        "font-src": [SELF, *_APPS_ORIGINS],
        "frame-src": [SELF, *_APPS_ORIGINS],
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
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
