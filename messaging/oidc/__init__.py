"""The OpenID Connect provider for Genesys' authenticated web messaging, an optional app inside messaging (on
django-oauth-toolkit; install the `oidc` extra).

A host site turns it on with three lines (messaging/README.md, "Authenticated messaging"):
  INSTALLED_APPS += ["oauth2_provider", "messaging.oidc"]
  OAUTH2_PROVIDER = {..., "OAUTH2_VALIDATOR_CLASS": "messaging.oidc.provider.MemberClaimsValidator"}
  urlpatterns += [path("o/", include("messaging.oidc.urls"))]

Nothing here is imported by messaging itself: the page only reverses GENESYS_AUTH_CODE_URL. This module imports
no Django either, so settings can read messaging.oidc.signing_keys before Django starts.
"""
