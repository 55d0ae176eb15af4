"""Messenger's Content-Security-Policy sources, added to the policy of pages that render the widget.

MessengerCSPMiddleware is django-csp's CSPMiddleware with one public hook overridden (`get_policy_parts`): a
page that rendered the widget gets Messenger's sources as a per-response update, merged with whatever update a
view set with django-csp's `csp_update` decorator. The site's policy never names a Genesys host and always follows
the current settings (region, sandbox, overrides). List it in MIDDLEWARE in place of
"csp.middleware.CSPMiddleware" (system check messaging.E004).
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
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
            policy = parts.config if parts.config is not None else _site_directives()
            merged = {directive: list(values) for directive, values in (parts.update or {}).items()}
            for directive, values in sources.items():
                # A directive the policy leaves out falls back to default-src in the browser; once Messenger's
                # sources name it, default-src's sources must come along, or e.g. the page's own fetches to
                # 'self' would be blocked.
                named = directive in policy or directive in merged
                inherited: list[str] = [] if named else list(policy.get("default-src") or [])
                merged[directive] = [*merged.get(directive, inherited), *values]
            parts.update = merged
        return parts


def _site_directives() -> dict:
    """The enforced policy's directives in settings (django-csp's CONTENT_SECURITY_POLICY["DIRECTIVES"])."""
    return (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES") or {}
