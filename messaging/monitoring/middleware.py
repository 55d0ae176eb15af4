"""The app's own middleware for its metrics: a host site lists it first in MIDDLEWARE (messaging/README.md)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .. import metrics


class ResponseMetricsMiddleware:
    """Counts every response by status class (messaging_http_responses_total). First in MIDDLEWARE, so it sees
    the final answer, 500s from unhandled errors and any 503 a later middleware makes included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        metrics.http_response(response.status_code)
        return response
