"""The site as OpenID Connect provider for Genesys' authenticated web messaging (django-oauth-toolkit).

- `MemberClaimsValidator` (settings OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]): the claims of the ID token and
  userinfo. `sub` is the member's public id (MemberProfile.member_id), never the database key.
- `issue_auth_code`: an authorization code for the signed-in member, made by django-oauth-toolkit's own grant
  machinery (oauthlib's authorization endpoint with our validator) for the Genesys application, which is trusted
  (no consent screen). The page's AuthProvider plugin hands it to Messenger; Genesys exchanges it at /o/token/.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.urls import reverse
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib import oauth2

from .models import MemberProfile

SCOPES = "openid email profile"
CLAIMS = ("sub", "email", "given_name", "family_name", "name")


class MemberClaimsValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with the member's claims (scopes: `profile` names, `email` the address)."""

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        user = request.user
        profile = MemberProfile.objects.only("member_id").get(user=user)
        return {
            "sub": str(profile.member_id),
            "email": user.email,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": user.get_full_name() or user.get_username(),
        }

    def get_discovery_claims(self, request: Any) -> list[str]:
        return list(CLAIMS)


class AuthCodeRefused(Exception):
    """No code was issued. `error` is an OAuth error code, safe to show; the description names the field."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclasses.dataclass(frozen=True)
class IssuedCode:
    code: str
    redirect_uri: str
    nonce: str


def genesys_application():
    """The OAuth application Genesys uses (GENESYS_OIDC_CLIENT_ID), or None before `genesys_oidc_client` ran."""
    client_id = settings.GENESYS_OIDC_CLIENT_ID
    if not client_id:
        return None
    return get_application_model().objects.filter(client_id=client_id).first()


def issue_auth_code(
    request: HttpRequest,
    *,
    user: AbstractBaseUser,
    code_challenge: str,
    nonce: str,
    redirect_uri: str = "",
) -> IssuedCode:
    """An authorization code for `user` (the session's member: the caller never passes anyone else), bound to
    the PKCE `code_challenge` (S256) and the `nonce` the page generated, and to `redirect_uri` (default: the
    application's first registered one; another must be registered). Raises AuthCodeRefused.
    """
    application = genesys_application()
    if application is None:
        raise AuthCodeRefused("unauthorized_client", "Authenticated messaging has no OpenID Connect client.")
    if not MemberProfile.objects.filter(user=user).exists():
        raise AuthCodeRefused("access_denied", "Only members can sign in to the chat.")
    if not code_challenge or not nonce:
        raise AuthCodeRefused("invalid_request", "codeChallenge and nonce are required.")
    registered = application.redirect_uris.split()
    redirect_uri = redirect_uri or (registered[0] if registered else "")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "nonce": nonce,
        }
    )
    # The same request /o/authorize/ would receive, answered by the same server and validator.
    uri = request.build_absolute_uri(reverse("oauth2_provider:authorize")) + "?" + query
    server = OAuthLibMixin.get_server()
    try:
        scopes, credentials = server.validate_authorization_request(uri, http_method="GET")
        credentials["user"] = user
        headers, _, _ = server.create_authorization_response(
            uri, http_method="GET", scopes=scopes, credentials=credentials
        )
    except oauth2.FatalClientError as error:  # unknown client or an unregistered redirect URI
        raise AuthCodeRefused(error.error, error.description) from None
    except oauth2.OAuth2Error as error:
        raise AuthCodeRefused(error.error, error.description) from None
    answer = parse_qs(urlsplit(headers.get("Location", "")).query)
    if "code" not in answer:
        error = answer.get("error", ["server_error"])[0]
        raise AuthCodeRefused(error, answer.get("error_description", ["No code was issued."])[0])
    return IssuedCode(code=answer["code"][0], redirect_uri=redirect_uri, nonce=nonce)
