"""Messenger's Content-Security-Policy sources, added to the responses of pages that render the widget.

django-csp 4 builds the header from CONTENT_SECURITY_POLICY plus a per-response update (`response._csp_update`,
what its `csp_update` decorator sets). This middleware sets that update from messaging.messenger, so the site's
policy never names a Genesys host and always follows the current settings (region, sandbox, overrides).
List it after "csp.middleware.CSPMiddleware": it must see the response before django-csp writes the header
(system check messaging.E004).

Most such pages add nothing else to the policy: they get the whole header, built once per process
(messenger.messenger_csp_header), and django-csp leaves a header it finds in place. That saves django-csp's
deep copy and merge of the sources on every response (most of what the tag cost an anonymous page).
"""

from collections.abc import Callable

from csp.constants import HEADER
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .messenger import messenger_csp_header, messenger_csp_update


def _policy_is_ours_alone(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether django-csp would write the site's policy plus our sources and nothing else: a 200 with no header
    yet, no nonce used, no view's own update, replacement, policy or exemption, and a path it does not skip."""
    if response.status_code != 200 or HEADER in response or getattr(request, "_csp_nonce", None) is not None:
        return False
    if any(getattr(response, name, None) for name in ("_csp_update", "_csp_replace", "_csp_config", "_csp_exempt")):
        return False
    prefixes = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return not request.path_info.startswith(tuple(prefixes))


class MessengerCSPMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        update = messenger_csp_update(request)
        if update and _policy_is_ours_alone(request, response):
            response[HEADER] = messenger_csp_header()
        elif update:
            # Merged with what a view's own csp_update decorator may have set.
            merged = {name: list(sources) for name, sources in (getattr(response, "_csp_update", None) or {}).items()}
            for directive, sources in update.items():
                merged[directive] = [*merged.get(directive, []), *sources]
            response._csp_update = merged  # type: ignore[attr-defined]
        return response
