from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .ratelimits import (
    limit_password_attempts,
    password_checking_username,
    reset_link_username,
    signed_in_username,
)
from .reset_limits import limit_reset_requests

urlpatterns = [
    path("login/", limit_password_attempts(views.LoginView.as_view()), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    # A POST with the current password (to change the email) is a password attempt like the forms below.
    path("me/", limit_password_attempts(views.member_page, username_of=password_checking_username), name="member_page"),
    path(
        "password/change/",
        limit_password_attempts(views.PasswordChangeView.as_view(), username_of=signed_in_username),
        name="password_change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", limit_reset_requests(views.PasswordResetView.as_view()), name="password_reset"),
    path("password/reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path(
        "password/reset/<uidb64>/<token>/",
        limit_password_attempts(views.PasswordResetConfirmView.as_view(), username_of=reset_link_username),
        name="password_reset_confirm",
    ),
]
