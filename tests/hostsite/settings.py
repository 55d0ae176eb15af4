"""A minimal host site: Django's contrib apps, django-csp, django-tasks and messaging, nothing else of this project
(no `accounts`, no `config`). Members are Django's plain User through messaging's default adapter. It proves the
app installs as messaging/README.md says.

Read from the environment (tests/messaging/integration/test_host_site.py sets them): HOSTSITE_DATABASE (a SQLite
file) and the GENESYS_* settings that point messaging at a sandbox. With GENESYS_AUTHENTICATED_MESSAGING=true the
site also installs the optional OpenID Connect provider (messaging.oidc, on django-oauth-toolkit) as the README
says.
"""

import os
from pathlib import Path

from csp.constants import NONCE, SELF

from messaging.oidc.signing_keys import active_key

SECRET_KEY = "host-site-test-key-not-secret-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "messaging",
]

MIDDLEWARE = [
    "messaging.monitoring.middleware.ResponseMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "messaging.middleware.MessengerCSPMiddleware",  # django-csp's, with Messenger's sources (README)
]

ROOT_URLCONF = "tests.hostsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ]
        },
    }
]
STATIC_URL = "/static/"

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HOSTSITE_DATABASE"]}}
# One process: its own memory is the shared cache (token, pacing, rate limits).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "genesys"]}}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE], "style-src": [SELF, NONCE]},
}

# messaging: only what differs from messaging/app_settings.py, every value from the environment when set.
# GENESYS_MEMBER_ADAPTER is left to its default (Django's User).
for _name, _value in os.environ.items():
    if _name.startswith("GENESYS_"):
        globals()[_name] = _value
GENESYS_SANDBOX = os.environ.get("GENESYS_SANDBOX", "") == "true"
GENESYS_AUTHENTICATED_MESSAGING = os.environ.get("GENESYS_AUTHENTICATED_MESSAGING", "") == "true"

if GENESYS_AUTHENTICATED_MESSAGING:
    INSTALLED_APPS += ["oauth2_provider", "messaging.oidc"]
    GENESYS_OIDC_REDIRECT_URIS = ["http://testserver/"]
    OAUTH2_PROVIDER = {
        "OIDC_ENABLED": True,
        # A development key beside the database file (production sets OIDC_RSA_PRIVATE_KEY).
        "OIDC_RSA_PRIVATE_KEY": active_key(
            os.environ.get("OIDC_RSA_PRIVATE_KEY", ""),
            required=False,
            development_path=Path(os.environ["HOSTSITE_DATABASE"]).with_suffix(".oidc-key.pem"),
        ),
        "OAUTH2_VALIDATOR_CLASS": "messaging.oidc.provider.MemberClaimsValidator",
        "SCOPES": {"openid": "Your identity", "email": "Your email address", "profile": "Your name"},
        "DEFAULT_SCOPES": ["openid", "email", "profile"],
        "PKCE_REQUIRED": True,
        "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    }
