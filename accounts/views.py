from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from messaging.messenger import LOGOUT_CLEAR_SESSION_KEY

from . import notices
from .forms import MemberDetailsForm, MemberPasswordChangeForm, NewPasswordForm
from .selectors import member_profile_for
from .services import update_member_details
from .tasks import send_password_reset


class MemberRequest(HttpRequest):
    """A request login_required let through: its user is signed in (django-stubs' pattern for such views)."""

    user: User


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
    """Django's reset request (limited where it is mounted): the same page, and the same work, whether or not an
    account has the address: the request only queues accounts.tasks.send_password_reset, which looks the address
    up and mails a text and an HTML message with a link that works once, before PASSWORD_RESET_TIMEOUT."""

    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        send_password_reset.enqueue(form.cleaned_data["email"], self.request.get_host(), self.request.is_secure())
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's new-password form behind the link. The password change rotates the session auth hash, so every
    session of the member (other browsers included) ends at its next request; the account's address is told."""

    form_class = NewPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: SetPasswordForm[User]) -> HttpResponse:
        response = super().form_valid(form)
        notices.password_changed(user=form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (limited where it is mounted), with the new password's rules reported on its own
    box; the account's address is told."""

    form_class = MemberPasswordChangeForm

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        notices.password_changed(user=form.user)
        return response


@login_required
@require_http_methods(["GET", "POST"])
def member_page(request: MemberRequest) -> HttpResponse:
    """The member's own page: who they are, their level, the chat; name and email editable, the level not. A new
    email needs the current password (the POST then counts as a password attempt, accounts/urls.py) and the old
    address is told."""
    form = MemberDetailsForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        old_email, email_changed = request.user.email, form.email_changed()
        update_member_details(user=request.user, **form.details())
        if email_changed:
            notices.email_changed(user=request.user, old_email=old_email)
        messages.success(request, _("Your details were saved."))
        return redirect("member_page")
    return render(request, "accounts/member_page.html", {"profile": member_profile_for(request.user), "form": form})
