from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from messaging.messenger import LOGOUT_CLEAR_SESSION_KEY

from .forms import MemberDetailsForm, MemberPasswordChangeForm, NewPasswordForm
from .ratelimits import too_many_attempts
from .selectors import member_profile_for
from .services import update_member_details


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


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request (limited where it is mounted): the same page whether or not an account has the
    address; a text and an HTML mail, with a link that works once, before PASSWORD_RESET_TIMEOUT runs out."""

    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, int]:  # read per request: tests and deploys change the timeout
        return {"timeout_minutes": max(settings.PASSWORD_RESET_TIMEOUT // 60, 1)}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's new-password form behind the link. The password change rotates the session auth hash, so every
    session of the member (other browsers included) ends at its next request."""

    form_class = NewPasswordForm
    success_url = reverse_lazy("password_reset_complete")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change, with the new password's rules reported on its own box."""

    form_class = MemberPasswordChangeForm


@login_required
@require_http_methods(["GET", "POST"])
def member_page(request: HttpRequest) -> HttpResponse:
    """The member's own page: who they are, their level, the chat; name and email editable, the level not."""
    form = MemberDetailsForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        update_member_details(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your details were saved."))
        return redirect("member_page")
    return render(request, "accounts/member_page.html", {"profile": member_profile_for(request.user), "form": form})


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Shown instead of a view that django-ratelimit's own decorator blocks (settings.RATELIMIT_VIEW); the
    password forms answer through accounts.ratelimits with the exact wait."""
    return too_many_attempts(request, retry_after=60)
