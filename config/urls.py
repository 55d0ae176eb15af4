from django.contrib import admin
from django.urls import include, path, re_path
from oauth2_provider import urls as oauth2_urls

from accounts import views as account_views
from accounts.oidc_views import DiscoveryView, HeaderOnlyUserInfoView
from accounts.ratelimits import limit_password_attempts, signed_in_username
from accounts.token_endpoint import CountedTokenView, LimitedRevokeTokenView
from health import views as health_views
from messaging.monitoring import dashboard as messaging_dashboard

admin.site.site_header = "Member Messaging administration"
admin.site.site_title = "Member Messaging"

# The OpenID Connect provider Genesys uses (accounts/oidc.py): authorize, token, revoke, and discovery, JWKS and
# userinfo. Not mounted: application management, device flow, dynamic registration, RP-initiated logout.
_OAUTH2_NAMES = {"authorize", "token", "revoke-token", "oidc-connect-discovery-info", "jwks-info", "user-info"}
# Ours, in place of the toolkit's: the token and revocation endpoints (client-authentication failure limits; the
# token endpoint's metrics: accounts/token_endpoint.py),
# discovery (RS256 only, the revocation endpoint) and userinfo (header-only token): accounts/oidc_views.py.
_OURS = [
    path("token/", CountedTokenView.as_view(), name="token"),
    path("revoke_token/", LimitedRevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path("userinfo/", HeaderOnlyUserInfoView.as_view(), name="user-info"),
]
oidc_urlpatterns = [
    *_OURS,
    *(
        pattern
        for pattern in oauth2_urls.base_urlpatterns + oauth2_urls.oidc_urlpatterns
        if pattern.name in _OAUTH2_NAMES - {ours.name for ours in _OURS}
    ),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("messaging/", include("messaging.urls")),
    path("o/", include((oidc_urlpatterns, "oauth2_provider"))),
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
