"""What production (DEBUG off) refuses at start-up: each rule raises ImproperlyConfigured naming what to set.

These are start-up errors, not `check --deploy` findings, because gunicorn and the worker never run the deploy
checks: a site signing sessions and member tokens with a published key, or talking to a stand-in Genesys with
public credentials, must not serve a single request. Messages give lengths and names, never a secret's value.
"""

from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

# Django's own rule for a strong key (django.core.checks.security.base, W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
SECRET_KEY_INSECURE_PREFIX = "django-insecure-"
_NEW_KEY_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
SANDBOX_OPT_IN = "GENESYS_SANDBOX_IN_PRODUCTION"
# A shared secret the site chooses (the OpenID Connect client's): as long as messaging's data-action password rule.
CLIENT_SECRET_MIN_LENGTH = 32
CLIENT_SECRET_MIN_UNIQUE_CHARACTERS = 5


def require_strong_secret_key(secret_key: str, *, development_key: str) -> None:
    """Raise ImproperlyConfigured unless `secret_key` is set, is not the committed development key and passes
    Django's W009 rule (50+ characters, 5+ distinct, no 'django-insecure-' prefix)."""
    if not secret_key:
        raise ImproperlyConfigured(
            f"SECRET_KEY is required when DEBUG is off: set SECRET_KEY in the environment to a long random value "
            f"({_NEW_KEY_HINT})."
        )
    if secret_key == development_key:
        raise ImproperlyConfigured(
            "SECRET_KEY is the development key committed in config/settings.py, which anyone can read: set "
            f"SECRET_KEY to a long random value of your own ({_NEW_KEY_HINT})."
        )
    if (
        len(secret_key) < SECRET_KEY_MIN_LENGTH
        or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or secret_key.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak for production ({len(secret_key)} characters, {len(set(secret_key))} distinct; "
            f"at least {SECRET_KEY_MIN_LENGTH} characters, {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct and no "
            f"'{SECRET_KEY_INSECURE_PREFIX}' prefix are needed): set SECRET_KEY to a long random value "
            f"({_NEW_KEY_HINT})."
        )


def require_no_public_credentials(credentials: Mapping[str, str], public: Mapping[str, str]) -> None:
    """Raise ImproperlyConfigured when a setting in `credentials` (name -> value) holds the value the repository
    publishes for it in `public` (the sandbox's development credentials)."""
    published = sorted(name for name, value in credentials.items() if value and value == public.get(name))
    if published:
        names = ", ".join(published)
        raise ImproperlyConfigured(
            f"{names}: the sandbox's development value, published in sandbox/defaults.py, is refused when DEBUG is "
            f"off; set {names} to a long random value of your own."
        )


def require_sandbox_opt_in(*, opted_in: bool, credentials: Mapping[str, str]) -> None:
    """The sandbox with DEBUG off: refused unless SANDBOX_OPT_IN is true and every credential in `credentials`
    (name -> value) is set explicitly, since production never falls back to the sandbox's published ones."""
    if not opted_in:
        raise ImproperlyConfigured(
            "GENESYS_SANDBOX is on with DEBUG off: the embedded sandbox is a development stand-in for Genesys. "
            "For a real org unset GENESYS_SANDBOX and set the GENESYS_* values of the org; to run the production "
            f"profile against a sandbox on purpose (a load test), set {SANDBOX_OPT_IN}=true and the credentials "
            f"{', '.join(credentials)} explicitly."
        )
    missing = [name for name, value in credentials.items() if not value]
    if missing:
        raise ImproperlyConfigured(
            f"{SANDBOX_OPT_IN} is on but {', '.join(missing)} are not set: production never uses the sandbox's "
            f"published credentials; set {', '.join(missing)} (the sandbox process reads the same variables)."
        )


def require_strong_client_secret(name: str, value: str, *, published: str) -> None:
    """Raise ImproperlyConfigured when the secret setting `name` is set to `published` (the sandbox's value in
    sandbox/defaults.py) or to something trivially guessable (under CLIENT_SECRET_MIN_LENGTH characters or
    CLIENT_SECRET_MIN_UNIQUE_CHARACTERS distinct). Unset passes: the feature that needs it says so itself."""
    if not value:
        return
    hint = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if value == published:
        raise ImproperlyConfigured(
            f"{name}: the sandbox's development value, published in sandbox/defaults.py, is refused when DEBUG is "
            f"off; set {name} to a long random value of your own ({hint}), then run `manage.py "
            "genesys_oidc_client` and give Genesys' integration the same value."
        )
    if len(value) < CLIENT_SECRET_MIN_LENGTH or len(set(value)) < CLIENT_SECRET_MIN_UNIQUE_CHARACTERS:
        raise ImproperlyConfigured(
            f"{name} is too short for production ({len(value)} characters, {len(set(value))} distinct; at least "
            f"{CLIENT_SECRET_MIN_LENGTH} characters and {CLIENT_SECRET_MIN_UNIQUE_CHARACTERS} distinct are "
            f"needed): set {name} to a long random value ({hint})."
        )
