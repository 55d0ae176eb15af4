from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .ratelimits import limit_password_attempts, signed_in_username

urlpatterns = [
    path("login/", limit_password_attempts(views.LoginView.as_view()), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        limit_password_attempts(auth_views.PasswordChangeView.as_view(), username_of=signed_in_username),
        name="password_change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
