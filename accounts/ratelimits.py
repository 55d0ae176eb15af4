"""One budget for every form that checks a password: site and admin sign-in and password change, reset confirm.

Each POST to such a form counts once against the client address's budget (`LOGIN_RATE_PER_IP`), once against the
account's budget at that address (`LOGIN_RATE_PER_USERNAME`) and once against the account's budget from every
address together (`LOGIN_RATE_PER_USERNAME_GLOBAL`, larger), whichever form it was sent to: the groups and keys are
the same everywhere, so an address that spent its budget on /accounts/login/ finds /admin/login/ closed too. A
stranger's five bad passwords close bob's account to the stranger's address only; a guesser spread over many
addresses meets the global budget. The count happens before the view runs, so a blocked attempt never reaches the
password check, right password or not.

Mounting another password form limited is one call in its URLconf:

    path("...", limit_password_attempts(SomeView.as_view(), username_of=typed_username), name="..."),
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from messaging import rate_limit

# Group names predate the other forms; kept so that counters in a running cache stay valid across the deploy.
ADDRESS_GROUP = "login-ip"
USERNAME_GROUP = "login-user-at-ip"
USERNAME_GLOBAL_GROUP = "login-user"
USERNAME_KEY_LENGTH = 150

UsernameOf = Callable[[HttpRequest], str | None]
View = Callable[..., HttpResponseBase]


def normalised_username(username: str) -> str:
    """The per-username key: the username as the user model normalises it before checking a password (NFKC, so
    full-width "ｂob" is "bob"), then trimmed and case-folded, so "Alice ", "ｂob" and "bob" share one budget."""
    return get_user_model().normalize_username(username).strip().casefold()[:USERNAME_KEY_LENGTH]


def typed_username(request: HttpRequest) -> str | None:
    """The account a sign-in form is trying: the username as posted (a login form's own field)."""
    return request.POST.get("username", "")


def signed_in_username(request: HttpRequest) -> str | None:
    """The account whose password a signed-in form checks (password change). None for a visitor: the view
    sends them to sign in without checking anything, so nothing is counted."""
    user = request.user
    return user.get_username() if user.is_authenticated else None


def password_checking_username(request: HttpRequest) -> str | None:
    """The signed-in account when the POST carries its current password (the member page's email change); None
    otherwise: a change of name alone checks no password, so nothing is counted."""
    return signed_in_username(request) if request.POST.get("current_password") else None


def reset_link_username(request: HttpRequest) -> str | None:
    """The account a password-reset link is for, from its `uidb64` URL argument ("" when it names nobody)."""
    uidb64 = request.resolver_match.kwargs.get("uidb64", "") if request.resolver_match else ""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = get_user_model()._default_manager.filter(pk=pk).first()
    except (TypeError, ValueError, OverflowError, ValidationError):  # as PasswordResetConfirmView.get_user
        return ""
    return user.get_username() if user else ""


def at_each_address(group: str, value: str) -> str:
    """A group counting `value` separately at each client address (used with the "ip" key; django-ratelimit
    hashes the group into the cache key): one address spending the budget of `value` leaves it open elsewhere."""
    return f"{group}:{value}"


# (django-ratelimit group, key: "ip" or a callable(group, request), rate such as "5/m")
Budget = tuple[str, rate_limit.Key, str]


def count_against(request: HttpRequest, budgets: list[Budget]) -> int | None:
    """Count this POST against every budget (all of them, even when one is already spent). None when it may go
    ahead; else the seconds until the spent budgets' windows end (for Retry-After)."""
    waits = [
        rate_limit.seconds_until_allowed(request, group=group, key=key, rate=rate, method="POST")
        for group, key, rate in budgets
    ]
    spent = [wait for wait in waits if wait is not None]
    return max(spent) if spent else None


def count_password_attempt(request: HttpRequest, username: str) -> int | None:
    """Count one password attempt against both budgets. None when it may go ahead; else the seconds until the
    spent budget's window ends (for Retry-After). Both budgets are counted even when one is already spent."""
    account = normalised_username(username)
    budgets: list[Budget] = [(ADDRESS_GROUP, "ip", settings.LOGIN_RATE_PER_IP)]
    if account:
        budgets += [
            (at_each_address(USERNAME_GROUP, account), "ip", settings.LOGIN_RATE_PER_USERNAME),
            (USERNAME_GLOBAL_GROUP, lambda group, request: account, settings.LOGIN_RATE_PER_USERNAME_GLOBAL),
        ]
    return count_against(request, budgets)


def too_many_attempts(request: HttpRequest, retry_after: int) -> HttpResponse:
    """The 429 page, with the seconds to wait in Retry-After."""
    response = render(request, "429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def limit_password_attempts(view: View, *, username_of: UsernameOf = typed_username) -> View:
    """`view` with every POST counted against the shared password-attempt budgets, answering 429 beyond them.

    `username_of` names the account the POST tries (None: not a password attempt, count nothing). GETs pass.
    """

    @functools.wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method == "POST":
            username = username_of(request)
            if username is not None:
                retry_after = count_password_attempt(request, username)
                if retry_after is not None:
                    return too_many_attempts(request, retry_after)
        return view(request, *args, **kwargs)

    limited.password_attempts_limited = True  # type: ignore[attr-defined]
    return limited
