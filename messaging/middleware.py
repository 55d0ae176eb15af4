"""Messenger's Content-Security-Policy sources, added to the policy of pages that render the widget.

MessengerCSPMiddleware is django-csp's CSPMiddleware with one public hook overridden (`get_policy_parts`): a
page that rendered the widget gets Messenger's sources as a per-response update, merged with whatever update a
view set with django-csp's `csp_update` decorator. The site's policy never names a Genesys host and always follows
the current settings (region, sandbox, overrides). List it in MIDDLEWARE in place of
"csp.middleware.CSPMiddleware" (system check messaging.E004).
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

from .messenger import messenger_csp_update


class MessengerCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, plus Messenger's sources on the enforced policy of widget pages."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        sources = {} if report_only else messenger_csp_update(request)
        if sources:
            merged = {directive: list(values) for directive, values in (parts.update or {}).items()}
            for directive, values in sources.items():
                merged[directive] = [*merged.get(directive, []), *values]
            parts.update = merged
        return parts
