"""The messaging health page in a real browser: staff sign in through the admin, the charts are drawn with the
outbox's data, the page breaks no rule of the CSP (a violation is a console error), and the links lead into the
filtered push list. A screenshot goes to /tmp/shots/health.png (SHOTS_DIR to change it) for the review."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.outbox_history import seed_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-Admin-2026-browser"
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))


@pytest.fixture
def site(live_server, settings) -> str:
    settings.GENESYS_DEPLOYMENT_ID = ""  # admin pages only: no Messenger to load
    get_user_model().objects.create_superuser("operator", "operator@example.com", PASSWORD)
    return live_server.url


def sign_in_to_admin(page: Any, site: str) -> None:
    page.goto(f"{site}/admin/login/?next=/admin/messaging/health/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#messaging-health")


def test_health_page_draws_the_outbox(page, site, console_errors):
    seeded = seed_history(timezone.now())
    sign_in_to_admin(page, site)

    hourly = page.locator("#chart-hourly svg.chart")
    assert hourly.locator("rect.bar.delivered").count() == 24
    drawn = [
        float(height)
        for height in hourly.locator("rect.bar").evaluate_all("bars => bars.map(b => b.getAttribute('height'))")
    ]
    assert sum(1 for height in drawn if height > 0) >= 6  # five hours of deliveries, three of failures
    values = hourly.locator("rect.bar.delivered").evaluate_all("bars => bars.map(b => +b.dataset.value)")
    assert sum(values) == seeded["delivered_24h"]
    daily_values = page.locator("#chart-daily rect.bar.delivered").evaluate_all(
        "bars => bars.map(b => +b.dataset.value)"
    )
    assert sum(daily_values) == seeded["delivered_7d"]
    assert page.locator("#chart-hourly svg.chart").bounding_box()["width"] > 300  # laid out, not collapsed
    assert page.locator("#backlog-pending").inner_text() == str(seeded["pending"])
    # The failure of 5 hours ago, not the push pending for 20 minutes: a failed push was not delivered either.
    assert page.locator("#backlog-oldest").inner_text() == "5 hours old"
    assert re.fullmatch(r"\d+ seconds?", page.locator("#push-p50").inner_text())
    assert "HTTP 503 upstream down" in page.locator("#last-error").inner_text()
    # The stylesheet is applied (a file: the CSP refuses inline styles): the cards sit side by side.
    assert page.locator(".health-cards").evaluate("el => getComputedStyle(el).display") == "flex"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "health.png"), full_page=True)

    page.click("#backlog a[href$='state__exact=failed']")
    page.wait_for_url("**/admin/messaging/attributepush/?state__exact=failed")
    assert page.locator("#result_list tbody tr").count() == seeded["failed"]
    assert [error for error in console_errors if not error.startswith("Failed to load resource")] == []
