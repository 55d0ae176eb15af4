"""The page's AuthProvider.getAuthCode, server side: a code for the signed-in member, as JSON (same origin).

Why a same-origin POST and not a hidden /o/authorize/ round trip in an iframe: the site's frame policy is
`frame-ancestors 'none'` / X-Frame-Options DENY (kept), a popup or redirect would be visible, and a round trip
needs a callback page to pass the code back through postMessage. One fetch with the session cookie and the CSRF
token is simpler and as strict: the code is made by django-oauth-toolkit's own grant machinery for the session's
user only, with the page's PKCE challenge, so nothing the page sends can name another member.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from .forms import AuthCodeRequestForm
from .oidc import AuthCodeRefused, issue_auth_code

AUTH_CODE_GROUP = "messenger-auth-code"


def _auth_code_rate(group: str, request: HttpRequest) -> str:
    return settings.OIDC_AUTH_CODE_RATE


def invalid_request(description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


@never_cache
@require_POST
@ratelimit(group=AUTH_CODE_GROUP, key="user_or_ip", rate=_auth_code_rate, block=False)
def messenger_auth_code(request: HttpRequest) -> JsonResponse:
    """POST (CSRF token in X-CSRFToken) `{"codeChallenge", "nonce", "redirectUri"?}` ->
    200 `{"authCode", "redirectUri", "nonce"}`; 403 for a visitor; 400 `{"error", "error_description"}` for a
    body that is not a JSON object of strings, a field too long or malformed (AuthCodeRequestForm), or a
    request the provider refuses; 429 with Retry-After beyond OIDC_AUTH_CODE_RATE per member.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login_required", "error_description": "Sign in first."}, status=403)
    if getattr(request, "limited", False):
        response = JsonResponse({"error": "slow_down", "error_description": "Too many codes asked for."}, status=429)
        response["Retry-After"] = "60"
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
