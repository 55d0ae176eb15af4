"""The provider's URLs, for a host site to mount under `o/`: `path("o/", include("messaging.oidc.urls"))`.

- `messenger/auth-code` (name `messenger_auth_code`, GENESYS_AUTH_CODE_URL's default): the page's codes;
- under django-oauth-toolkit's own namespace `oauth2_provider`: authorize, token, revoke, and discovery, JWKS and
  userinfo. Not mounted: application management, device flow, dynamic registration, RP-initiated logout.
  Ours, in place of the toolkit's: the token and revocation endpoints (client-authentication failure limits; the
  token endpoint's metrics: token_endpoint.py), discovery (RS256 only, the revocation endpoint) and userinfo
  (header-only token): views.py.
"""

from django.urls import include, path, re_path
from oauth2_provider import urls as oauth2_urls

from .token_endpoint import CountedTokenView, LimitedRevokeTokenView
from .views import DiscoveryView, HeaderOnlyUserInfoView, messenger_auth_code

_OAUTH2_NAMES = {"authorize", "token", "revoke-token", "oidc-connect-discovery-info", "jwks-info", "user-info"}
_OURS = [
    path("token/", CountedTokenView.as_view(), name="token"),
    path("revoke_token/", LimitedRevokeTokenView.as_view(), name="revoke-token"),
    re_path(r"^\.well-known/openid-configuration/?$", DiscoveryView.as_view(), name="oidc-connect-discovery-info"),
    path("userinfo/", HeaderOnlyUserInfoView.as_view(), name="user-info"),
]
provider_urlpatterns = [
    *_OURS,
    *(
        pattern
        for pattern in oauth2_urls.base_urlpatterns + oauth2_urls.oidc_urlpatterns
        if pattern.name in _OAUTH2_NAMES - {ours.name for ours in _OURS}
    ),
]

urlpatterns = [
    path("messenger/auth-code", messenger_auth_code, name="messenger_auth_code"),
    path("", include((provider_urlpatterns, "oauth2_provider"))),
]
