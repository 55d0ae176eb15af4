"""Site-wide middleware of our own."""

import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

logger = logging.getLogger("config.middleware")

RETRY_AFTER_SECONDS = "5"


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached answers 503 with Retry-After, not a 500: the data action (JSON) and
    load balancers may retry, and a person sees a page that says to try again shortly."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, type(exception).__name__)
        if request.path.startswith("/messaging/") or "application/json" in request.headers.get("Accept", ""):
            response: HttpResponse = JsonResponse(
                {"error": "database_unavailable", "message": "The database is unavailable; retry shortly."},
                status=503,
            )
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response


class MemberPagesUncachedMiddleware:
    """Every response to a signed-in member says `Cache-Control: private, no-store`: its pages carry the member's
    name, email and Messenger token, which no shared cache (proxy, CDN) nor the browser's disk may keep."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _signed_in(request):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _signed_in(request: HttpRequest) -> bool:
    """Whether the request is a member's. When the session or user cannot be read (database down: the answer is
    DatabaseUnavailableMiddleware's 503), assume it is: a page that is not stored costs nothing."""
    user = getattr(request, "user", None)
    if user is None:
        return False
    try:
        return bool(user.is_authenticated)
    except DatabaseError:
        return True
