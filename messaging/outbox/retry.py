"""Which delivery errors are worth another attempt, how they are written down, and when to try again.

Whoever changes the backoff reads only this module.
"""

import random

from ..app_settings import app_settings
from ..genesys.errors import GenesysAuthError, GenesysError, GenesysRateLimited, GenesysTokenError


def classify_error(error: BaseException) -> tuple[bool, float | None]:
    """(retryable, Retry-After seconds). 5xx, 429 and network errors are retryable; token and auth errors too,
    since an operator may fix the credentials or roles within the attempts; unknown errors as well (bounded by
    the attempts). Not found, bad request and invalid attributes are final."""
    retry_after = getattr(error, "retry_after", None) if isinstance(error, GenesysRateLimited) else None
    if isinstance(error, GenesysError):
        return bool(error.retryable or isinstance(error, GenesysTokenError | GenesysAuthError)), retry_after
    return True, None


def describe_error(error: BaseException) -> str:
    """For last_error and logs: our typed errors carry no secret by contract; anything else is named by class
    only, since its message is not ours to vouch for."""
    if isinstance(error, GenesysError):
        return f"{type(error).__name__}: {error}"[:500]
    return f"{type(error).__name__} (unexpected; see the worker log)"


def retry_delay(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter: base * 2**(attempts-1), capped, then between half and all of it; never
    sooner than Genesys' Retry-After (itself capped, since daily limits answer hours)."""
    ceiling = min(app_settings.PUSH_RETRY_MAX, app_settings.PUSH_RETRY_BASE * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after:
        delay = max(delay, min(float(retry_after), app_settings.PUSH_RETRY_AFTER_MAX))
    return delay
