"""The provider's views beside django-oauth-toolkit's (all mounted by messaging/oidc/urls.py).

The page's AuthProvider.getAuthCode, server side (`messenger_auth_code`): a code for the signed-in member, as
JSON (same origin). Why a same-origin POST and not a hidden /o/authorize/ round trip in an iframe: a site's frame
policy is usually `frame-ancestors 'none'`, a popup or redirect would be visible, and a round trip needs a
callback page to pass the code back through postMessage. One fetch with the session cookie and the CSRF token is
simpler and as strict: the code is made by django-oauth-toolkit's own grant machinery for the session's user
only, with the page's PKCE challenge, so nothing the page sends can name another member.

django-oauth-toolkit's discovery and userinfo views, narrowed to what this provider does (under the toolkit's
names):

- discovery advertises only RS256 (every ID token is RS256; HS256 would sign with the client secret, which the
  site stores hashed and never uses) and names the revocation endpoint (RFC 8414 `revocation_endpoint`);
- userinfo takes the access token from the Authorization header only: RFC 9700 4.3.2 / RFC 6750 5.3 (the
  toolkit's COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT does not cover this view). A token in the query string
  or the form body is refused with 401 `invalid_request`, never looked up.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from oauth2_provider.models import AbstractApplication
from oauth2_provider.views import ConnectDiscoveryInfoView, UserInfoView

from ..rate_limit import seconds_until_allowed
from .conf import setting
from .forms import AuthCodeRequestForm
from .provider import AuthCodeRefused, issue_auth_code

AUTH_CODE_GROUP = "messenger-auth-code"


def invalid_request(description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


@never_cache
@require_POST
def messenger_auth_code(request: HttpRequest) -> JsonResponse:
    """POST (CSRF token in X-CSRFToken) `{"codeChallenge", "nonce", "redirectUri"?}` ->
    200 `{"authCode", "redirectUri", "nonce"}`; 403 for a visitor; 400 `{"error", "error_description"}` for a
    body that is not a JSON object of strings, a field too long or malformed (AuthCodeRequestForm), or a
    request the provider refuses; 429 with Retry-After beyond OIDC_AUTH_CODE_RATE per member.
    """
    rate = str(setting("OIDC_AUTH_CODE_RATE"))
    retry_after = seconds_until_allowed(request, group=AUTH_CODE_GROUP, key="user_or_ip", rate=rate)
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login_required", "error_description": "Sign in first."}, status=403)
    if retry_after is not None:
        response = JsonResponse({"error": "slow_down", "error_description": "Too many codes asked for."}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not all(isinstance(value, str) for value in body.values()):
        return invalid_request("A JSON object of strings.")
    form = AuthCodeRequestForm(body)
    if not form.is_valid():
        return invalid_request(form.first_error())
    try:
        issued = issue_auth_code(
            request,
            user=request.user,
            code_challenge=form.cleaned_data["codeChallenge"],
            nonce=form.cleaned_data["nonce"],
            redirect_uri=form.cleaned_data["redirectUri"],
        )
    except AuthCodeRefused as refused:
        return JsonResponse({"error": refused.error, "error_description": refused.description}, status=400)
    return JsonResponse({"authCode": issued.code, "redirectUri": issued.redirect_uri, "nonce": issued.nonce})


class DiscoveryView(ConnectDiscoveryInfoView):
    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document["id_token_signing_alg_values_supported"] = [AbstractApplication.RS256_ALGORITHM]
        document["revocation_endpoint"] = request.build_absolute_uri(reverse("oauth2_provider:revoke-token"))
        narrowed = JsonResponse(document)
        narrowed["Access-Control-Allow-Origin"] = response["Access-Control-Allow-Origin"]
        return narrowed


class HeaderOnlyUserInfoView(UserInfoView):
    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "access_token" in request.GET or (request.method == "POST" and "access_token" in request.POST):
            response = JsonResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Send the access token in the Authorization header only.",
                },
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer error="invalid_request"'
            return response
        return super().dispatch(request, *args, **kwargs)
