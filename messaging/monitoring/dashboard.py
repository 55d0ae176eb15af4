"""The "Messaging health" page of the admin (/admin/messaging/health/): what is delivered, how late, what fails.

Staff with the view permission on pushes only. Reads come from messaging.monitoring.selectors; the charts are
server-side SVG (messaging.monitoring.charts) with the same numbers in tables, so the page needs no JavaScript and
passes the site's CSP (its stylesheet is a static file). Nothing here shows a token or a secret: the token's state is
"cached or not, and for how long", the error is the push's last_error (which never holds one).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from . import selectors
from .charts import Series, grouped_bars
from .durations import in_words

DELIVERED_COLOUR = "#2da44e"
FAILED_COLOUR = "#cf222e"
VIEW_PERMISSION = "messaging.view_attributepush"


def pushes_url(**filters: str) -> str:
    """The admin's push list, filtered (e.g. state__exact="failed")."""
    url = reverse("admin:messaging_attributepush_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _seconds(value: datetime.timedelta | None) -> str:
    return "–" if value is None else in_words(value.total_seconds())


def _chart(buckets: list[selectors.Bucket], *, daily: bool, title: str) -> dict:
    labels = [timezone.localtime(b.start).strftime("%a %d" if daily else "%H:00") for b in buckets]
    svg = grouped_bars(
        labels,
        [
            Series("delivered", DELIVERED_COLOUR, [b.delivered for b in buckets]),
            Series("failed", FAILED_COLOUR, [b.failed for b in buckets]),
        ],
        title=title,
        label_every=1 if daily else 3,
    )
    rows = list(zip(labels, buckets, strict=True))
    return {
        "svg": svg,
        "rows": rows,
        "delivered": sum(b.delivered for b in buckets),
        "failed": sum(b.failed for b in buckets),
    }


def health(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    now = timezone.now()
    backlog = selectors.backlog()
    oldest = selectors.oldest_not_delivered()
    last_error = selectors.last_error()
    token = selectors.token_state()
    context = {
        **admin.site.each_context(request),
        "title": "Messaging health",
        "now": now,
        "hourly": _chart(selectors.outcome_buckets(now=now, hours=24), daily=False, title="Last 24 hours, per hour"),
        "daily": _chart(selectors.outcome_buckets(now=now, days=7), daily=True, title="Last 7 days, per day"),
        "time_to_push": selectors.time_to_push(now=now),
        "backlog": backlog,
        # Failed pushes count: they have not reached Genesys either.
        "oldest_age": in_words((now - oldest[1]).total_seconds()) if oldest else None,
        "token": token,
        "token_expiries": [
            (slot, in_words(slot.expires_in) if slot.expires_in is not None else None) for slot in token.slots
        ],
        "last_error": last_error,
        "links": {
            "pending": pushes_url(state__exact="pending"),
            "delivering": pushes_url(state__exact="delivering"),
            "failed": pushes_url(state__exact="failed"),
            "delivered": pushes_url(state__exact="delivered"),
        },
        "oldest_url": reverse("admin:messaging_attributepush_change", args=[oldest[0]]) if oldest else None,
        "last_error_url": (
            reverse("admin:messaging_attributepush_change", args=[last_error.pk]) if last_error else None
        ),
    }
    context["p50"] = _seconds(context["time_to_push"].p50)
    context["p95"] = _seconds(context["time_to_push"].p95)
    return render(request, "admin/messaging/health.html", context)


# Mounted by config/urls.py; admin_view sends anyone not staff to the admin's sign-in page.
health_page = admin.site.admin_view(health)
