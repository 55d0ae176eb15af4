"""django-oauth-toolkit's discovery and userinfo views, narrowed to what this provider does (mounted in
config/urls.py under the toolkit's names):

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
from oauth2_provider.models import AbstractApplication
from oauth2_provider.views import ConnectDiscoveryInfoView, UserInfoView


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
