"""Messenger's Content-Security-Policy sources, added to the responses of pages that render the widget.

django-csp 4 builds the header from CONTENT_SECURITY_POLICY plus a per-response update (`response._csp_update`,
what its `csp_update` decorator sets). This middleware sets that update from messaging.messenger, so the site's
policy never names a Genesys host and always follows the current settings (region, sandbox, overrides).
List it after "csp.middleware.CSPMiddleware": it must see the response before django-csp writes the header
(system check messaging.E004).
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .messenger import messenger_csp_update


class MessengerCSPMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        update = messenger_csp_update(request)
        if update:
            # Merged with what a view's own csp_update decorator may have set.
            merged = {name: list(sources) for name, sources in (getattr(response, "_csp_update", None) or {}).items()}
            for directive, sources in update.items():
                merged[directive] = [*merged.get(directive, []), *sources]
            response._csp_update = merged  # type: ignore[attr-defined]
        return response
