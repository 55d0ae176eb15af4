from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit

from messaging.selectors import LOGOUT_CLEAR_SESSION_KEY

from .selectors import member_profile_for


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"profile": member_profile_for(request.user)})


def login_username_key(group: str, request: HttpRequest) -> str:
    """Rate-limit key for a login attempt: the username as typed, case-folded and trimmed."""
    return request.POST.get("username", "").strip().casefold()[:150]


@method_decorator(
    ratelimit(group="login-ip", key="ip", rate=lambda g, r: settings.LOGIN_RATE_PER_IP, method="POST"),
    name="post",
)
@method_decorator(
    ratelimit(
        group="login-user",
        key=login_username_key,
        rate=lambda g, r: settings.LOGIN_RATE_PER_USERNAME,
        method="POST",
    ),
    name="post",
)
class LoginView(auth_views.LoginView):
    """Django's login view, rate-limited per client address and per username."""

    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Django's POST-only logout; the first page after it clears the browser's Messenger."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Set in the fresh session logout() just made: its flush would have dropped it before.
        request.session[LOGOUT_CLEAR_SESSION_KEY] = True
        return response


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown instead of the view when django-ratelimit blocks a request."""
    response = render(request, "429.html", status=429)
    response["Retry-After"] = "60"
    return response
