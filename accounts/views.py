from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from messaging.selectors import LOGOUT_CLEAR_SESSION_KEY

from .ratelimits import too_many_attempts
from .selectors import member_profile_for


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"profile": member_profile_for(request.user)})


class LoginView(auth_views.LoginView):
    """Django's login view (rate-limited where it is mounted, accounts/urls.py)."""

    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Django's POST-only logout; the first page after it clears the browser's Messenger."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        # Set in the fresh session logout() just made: its flush would have dropped it before.
        request.session[LOGOUT_CLEAR_SESSION_KEY] = True
        return response


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown instead of a view that django-ratelimit's own decorator blocks (settings.RATELIMIT_VIEW); the
    password forms answer through accounts.ratelimits with the exact wait."""
    return too_many_attempts(request, retry_after=60)
