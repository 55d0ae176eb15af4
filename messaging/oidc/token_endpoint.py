"""The provider's token and revocation endpoints (django-oauth-toolkit's TokenView and RevokeTokenView), with
three additions (the third for the token endpoint only):

- Failed client authentications are limited per client address (`OIDC_TOKEN_AUTH_FAILURES_PER_IP`) and per client
  id named (`OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT`): once either budget is spent the endpoint answers 429 with
  Retry-After and a JSON error before any secret is hashed, so a flood of wrong secrets cannot spend the CPU the
  site's pages need (each check costs one client-secret hash). Only failures count: Genesys' own exchanges and
  refreshes, however many, never close the endpoint.
- A client id nobody registered costs the same as a wrong secret: a dummy secret is hashed with the provider's
  client-secret hasher, as Django's ModelBackend hashes a password for an unknown user, so the time of a refusal
  does not tell which client ids exist.
- Genesys' authorization code exchanges are counted for the operators' metrics (messaging_code_exchanges_total):
  exchanged, refused (a bad code, verifier or client), failed.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import make_password
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import RevokeTokenView, TokenView

from .. import metrics
from ..rate_limit import seconds_to_wait
from .conf import setting

ADDRESS_GROUP = "oidc-token-auth-failures-ip"
CLIENT_GROUP = "oidc-token-auth-failures-client"
CLIENT_ID_KEY_LENGTH = 200


def exchange_outcome(status: int) -> metrics.CodeExchangeOutcome:
    if status == 200:
        return metrics.CodeExchangeOutcome.EXCHANGED
    if 400 <= status < 500:
        return metrics.CodeExchangeOutcome.REFUSED
    return metrics.CodeExchangeOutcome.FAILED


def named_client(request: HttpRequest) -> tuple[str, str]:
    """(client id, secret) as the request names them: HTTP Basic (RFC 6749 2.3.1, form-encoded parts) or else
    the body's client_id/client_secret; ("", "") when it names none. Nothing is checked here."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        return unquote_plus(client_id), unquote_plus(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _budgets(client_id: str) -> list[tuple[str, object, str]]:
    budgets: list[tuple[str, object, str]] = [(ADDRESS_GROUP, "ip", str(setting("OIDC_TOKEN_AUTH_FAILURES_PER_IP")))]
    if client_id:
        key = client_id[:CLIENT_ID_KEY_LENGTH]
        budgets.append((CLIENT_GROUP, lambda group, request: key, str(setting("OIDC_TOKEN_AUTH_FAILURES_PER_CLIENT"))))
    return budgets


def seconds_blocked(request: HttpRequest, client_id: str) -> int | None:
    """None while neither failure budget (this address's, the client id's) is spent; else the seconds until the
    spent ones' windows end. Reads the counts only."""
    waits = []
    for group, key, rate in _budgets(client_id):
        usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=False)
        if usage and usage["count"] >= usage["limit"]:  # a cache failure answers limit 0: closed, as ratelimit is
            waits.append(seconds_to_wait(usage))
    return max(waits) if waits else None


def count_failure(request: HttpRequest, client_id: str) -> None:
    for group, key, rate in _budgets(client_id):
        get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)


def too_many_failures(retry_after: int) -> JsonResponse:
    response = JsonResponse(
        {"error": "slow_down", "error_description": "Too many failed client authentications; retry later."},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class LimitedClientAuthentication:
    """For an endpoint where clients authenticate (django-oauth-toolkit's token and revocation views): the
    failure budgets checked before the view runs, a 401 counted against them, and an unknown client id hashed."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        client_id, secret = named_client(request)
        retry_after = seconds_blocked(request, client_id)
        if retry_after is not None:
            return too_many_failures(retry_after)
        response = super().post(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 401:  # invalid_client: the client id or its secret was refused
            if client_id and not get_application_model().objects.filter(client_id=client_id).exists():
                make_password(secret, hasher=oauth2_settings.CLIENT_SECRET_HASHER)
            count_failure(request, client_id)
        return response


class CountedTokenView(LimitedClientAuthentication, TokenView):
    """TokenView behind the failure budgets; an authorization_code grant's outcome is counted (other grants are
    not Genesys' exchange)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if request.POST.get("grant_type") == "authorization_code":
            metrics.code_exchange(exchange_outcome(response.status_code))
        return response


class LimitedRevokeTokenView(LimitedClientAuthentication, RevokeTokenView):
    """RevokeTokenView behind the same failure budgets: it checks client secrets too."""
