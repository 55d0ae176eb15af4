"""The provider's token endpoint (django-oauth-toolkit's), counting Genesys' authorization code exchanges for the
operators' metrics (messaging_code_exchanges_total): exchanged, refused (a bad code, verifier or client), failed."""

from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import TokenView

from messaging import metrics


def exchange_outcome(status: int) -> metrics.CodeExchangeOutcome:
    if status == 200:
        return metrics.CodeExchangeOutcome.EXCHANGED
    if 400 <= status < 500:
        return metrics.CodeExchangeOutcome.REFUSED
    return metrics.CodeExchangeOutcome.FAILED


class CountedTokenView(TokenView):
    """TokenView; an authorization_code grant's outcome is counted (other grants are not Genesys' exchange)."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if request.POST.get("grant_type") == "authorization_code":
            metrics.code_exchange(exchange_outcome(response.status_code))
        return response
