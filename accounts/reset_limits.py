"""Budgets for password-reset requests: per client address and per email address asked for.

Each POST to the reset request form counts once against the address's budget (`PASSWORD_RESET_RATE_PER_IP`), once
against the email's at that address (`PASSWORD_RESET_RATE_PER_EMAIL`) and once against the email's from every
address together (`PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL`, larger: it bounds the mails one inbox can be sent), before
the form runs; beyond any, 429 with the real Retry-After. So a stranger who spends bob's budget closes bob's resets
to the stranger's address only. Counted whether or not an account has that email, so the answer tells nothing
about accounts. The link's own form (choosing the new password) checks the token, a secret: it shares the
password-attempt budgets of accounts.ratelimits instead.
"""

import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from .ratelimits import Budget, View, at_each_address, count_against, too_many_attempts

ADDRESS_GROUP = "password-reset-ip"
EMAIL_GROUP = "password-reset-email-at-ip"
EMAIL_GLOBAL_GROUP = "password-reset-email"
EMAIL_KEY_LENGTH = 254


def normalised_email(email: str) -> str:
    """The per-email key: trimmed and case-folded, so "Alice@Example.com " and "alice@example.com" share one."""
    return email.strip().casefold()[:EMAIL_KEY_LENGTH]


def seconds_until_reset_allowed(request: HttpRequest) -> int | None:
    """Count one reset request against both budgets. None when it may go ahead; else the seconds to wait."""
    email = normalised_email(request.POST.get("email", ""))
    budgets: list[Budget] = [(ADDRESS_GROUP, "ip", settings.PASSWORD_RESET_RATE_PER_IP)]
    if email:
        budgets += [
            (at_each_address(EMAIL_GROUP, email), "ip", settings.PASSWORD_RESET_RATE_PER_EMAIL),
            (EMAIL_GLOBAL_GROUP, lambda group, request: email, settings.PASSWORD_RESET_RATE_PER_EMAIL_GLOBAL),
        ]
    return count_against(request, budgets)


def limit_reset_requests(view: View) -> View:
    """`view` with every POST counted against the reset-request budgets, answering 429 beyond them."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "POST":
            retry_after = seconds_until_reset_allowed(request)
            if retry_after is not None:
                return too_many_attempts(request, retry_after)
        return view(request, *args, **kwargs)

    limited.reset_requests_limited = True  # type: ignore[attr-defined]
    return limited
