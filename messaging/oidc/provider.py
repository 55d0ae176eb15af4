"""The site as OpenID Connect provider for Genesys' authenticated web messaging (django-oauth-toolkit).

- `MemberClaimsValidator` (settings OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]): the claims of the ID token and
  userinfo. `sub` is the member's public id as the member adapter (GENESYS_MEMBER_ADAPTER) gives it, never the
  database key; the data action reads it back through the same adapter (member_for_public_id): one owner.
- `issue_auth_code`: an authorization code for the signed-in member, made by django-oauth-toolkit's own grant
  machinery (oauthlib's authorization endpoint with our validator) for the Genesys application, which is trusted
  (no consent screen). The page's AuthProvider plugin hands it to Messenger; Genesys exchanges it at /o/token/.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib import oauth2

from ..identity.adapter import get_member_adapter
from .conf import setting

SCOPES = "openid email profile"
# How long a used authorization code is remembered, so that its replay revokes what its first exchange issued.
USED_CODE_MEMORY_SECONDS = 60 * 60
CLAIMS = ("sub", "email", "email_verified", "given_name", "family_name", "name")


class MemberClaimsValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with the member's claims (scopes: `profile` names, `email` the address,
    never verified). Only members have claims: codes are issued to members only (issue_auth_code)."""

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        user = request.user
        member = get_member_adapter().member_for_user(user)
        if member is None:  # a code is only issued to a member; one who stopped being one has no claims
            raise oauth2.AccessDeniedError(description="Not a member.")
        return {
            "sub": member.public_id,
            "email": user.email,
            # The site never confirms an address (the member types it, with their password), so it says so
            # (OpenID Connect Core 5.1): a relying party that needs a verified address must not take this one.
            "email_verified": False,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "name": user.get_full_name() or user.get_username(),
        }

    def get_discovery_claims(self, request: Any) -> list[str]:
        return list(CLAIMS)

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any, *args, **kwargs) -> None:
        """The grant is deleted (django-oauth-toolkit); who it was exchanged for, and when, is remembered."""
        super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        started = getattr(request, "code_exchange_started", None) or timezone.now()
        used = {"user": request.user.pk, "application": request.client.pk, "at": started.isoformat()}
        cache.set(_used_code_key(code), used, USED_CODE_MEMORY_SECONDS)

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args, **kwargs) -> bool:
        """django-oauth-toolkit's check; a code that was already exchanged is refused and, as RFC 6749 4.1.2
        asks, the tokens issued since its first exchange are revoked (whoever replays it stole it, or the one
        who exchanged it first did)."""
        if super().validate_code(client_id, code, client, request, *args, **kwargs):
            request.code_exchange_started = timezone.now()  # before this exchange's tokens are created
            return True
        used = cache.get(_used_code_key(code))
        if used and client is not None and used["application"] == client.pk:
            revoke_member_tokens(
                user_id=used["user"], application=client, since=datetime.datetime.fromisoformat(used["at"])
            )
        return False


def _used_code_key(code: str) -> str:
    return "oidc-used-code:" + hashlib.sha256(code.encode()).hexdigest()


def revoke_member_tokens(*, user_id: int, application: Any = None, since: datetime.datetime | None = None) -> int:
    """Revoke the provider's refresh tokens of the user (each also deletes its access token, the
    django-oauth-toolkit way) and delete their remaining access and ID tokens: Genesys' next refresh with any
    of them is refused. Limited to one application and to tokens created from `since` when given. Returns how
    many refresh tokens were revoked."""
    revoked = 0
    for model in (get_refresh_token_model(), get_access_token_model(), get_id_token_model()):
        tokens = model.objects.filter(user_id=user_id)
        if application is not None:
            tokens = tokens.filter(application=application)
        if since is not None:
            tokens = tokens.filter(created__gte=since)
        if model is get_refresh_token_model():
            tokens = tokens.filter(revoked__isnull=True)
        for token in tokens:
            token.revoke()
            revoked += model is get_refresh_token_model()
    return revoked


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
    client_id = setting("GENESYS_OIDC_CLIENT_ID")
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
    if get_member_adapter().member_for_user(user) is None:
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
        code_error = answer.get("error", ["server_error"])[0]
        raise AuthCodeRefused(code_error, answer.get("error_description", ["No code was issued."])[0])
    return IssuedCode(code=answer["code"][0], redirect_uri=redirect_uri, nonce=nonce)
