from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from accounts.ratelimits import limit_password_attempts, signed_in_username
from health import views as health_views
from messaging.monitoring import dashboard as messaging_dashboard

admin.site.site_header = "Member Messaging administration"
admin.site.site_title = "Member Messaging"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("messaging/", include("messaging.urls")),
    # The OpenID Connect provider Genesys uses, and the page's auth-code endpoint (messaging/oidc/urls.py).
    path("o/", include("messaging.oidc.urls")),
    # The admin's two password forms share the password-attempt budgets of the site's forms. Mounted in front of
    # the admin's own (first match wins; reverse("admin:login") gives this same path), so every registration
    # stays on the default site: no AdminSite subclass to swap in, no monkeypatched method.
    path("admin/login/", limit_password_attempts(admin.site.login)),
    path(
        "admin/password_change/",
        # Inside admin_view, as the admin mounts it: only staff reach the form, so only they are counted.
        admin.site.admin_view(
            limit_password_attempts(admin.site.password_change, username_of=signed_in_username), cacheable=True
        ),
    ),
    # The messaging health page (staff), in front of the admin's catch-all like the two forms above.
    path("admin/messaging/health/", messaging_dashboard.health_page, name="messaging-health"),
    path("admin/", admin.site.urls),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("metrics", include("messaging.monitoring.urls")),
]
