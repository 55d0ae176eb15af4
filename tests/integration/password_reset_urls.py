"""The site's URLs plus Django's password-reset confirmation, mounted limited as accounts.ratelimits says (one
line), so the tests can show that the hook shares the budgets before the reset views are mounted for real."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.ratelimits import limit_password_attempts, reset_link_username
from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    *site_urlpatterns,
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        limit_password_attempts(auth_views.PasswordResetConfirmView.as_view(), username_of=reset_link_username),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
]
