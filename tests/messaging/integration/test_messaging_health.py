"""The messaging health page of the admin and the reads behind it."""

from __future__ import annotations

import datetime
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from messaging.genesys.oauth import AccessToken, get_token_service
from messaging.monitoring import selectors
from tests.outbox_history import State, add_push, seed_history

pytestmark = pytest.mark.django_db

URL = "/admin/messaging/health/"
# Half past an hour: the seeded minutes never cross into another hour's bucket.
NOW = datetime.datetime(2026, 3, 10, 14, 30, tzinfo=datetime.UTC)


def test_hourly_buckets_count_deliveries_and_failures_in_their_hour():
    seed_history(NOW)
    buckets = selectors.outcome_buckets(now=NOW, hours=24)
    assert len(buckets) == 24
    assert buckets[-1].start == datetime.datetime(2026, 3, 10, 14, tzinfo=datetime.UTC)
    assert buckets[0].start == datetime.datetime(2026, 3, 9, 15, tzinfo=datetime.UTC)
    by_hour = {bucket.start.hour: (bucket.delivered, bucket.failed) for bucket in buckets}
    assert by_hour[14] == (3, 1)  # three delivered this hour, one failed three minutes ago
    assert by_hour[12] == (5, 0)
    assert by_hour[13] == (0, 1)
    assert by_hour[9] == (2, 1)
    assert by_hour[3] == (4, 0)
    assert by_hour[16] == (1, 0)  # 22 hours ago
    assert sum(bucket.delivered for bucket in buckets) == 15


def test_daily_buckets_cover_seven_days():
    seeded = seed_history(NOW)
    buckets = selectors.outcome_buckets(now=NOW, days=7)
    assert [bucket.start.day for bucket in buckets] == [4, 5, 6, 7, 8, 9, 10]
    assert sum(bucket.delivered for bucket in buckets) == seeded["delivered_7d"]
    assert buckets[0].delivered == 1 and buckets[2].delivered == 1 and buckets[4].delivered == 1


def test_time_to_push_percentiles():
    for seconds in range(1, 21):  # 1..20 s
        created = NOW - datetime.timedelta(hours=1)
        add_push(state=State.DELIVERED, created=created, delivered=created + datetime.timedelta(seconds=seconds))
    old = NOW - datetime.timedelta(days=2)
    add_push(state=State.DELIVERED, created=old, delivered=old + datetime.timedelta(hours=1))  # outside 24 h
    result = selectors.time_to_push(now=NOW)
    assert result.count == 20
    assert result.p50 == datetime.timedelta(seconds=10)
    assert result.p95 == datetime.timedelta(seconds=19)


def test_time_to_push_without_deliveries():
    assert selectors.time_to_push(now=NOW) == selectors.TimeToPush(count=0, p50=None, p95=None)


def test_backlog_and_last_error():
    seed_history(NOW)
    backlog = selectors.backlog()
    assert (backlog.pending, backlog.delivering, backlog.failed) == (2, 0, 3)
    assert backlog.oldest_age_seconds(NOW) == 20 * 60
    assert selectors.last_error().last_error == "GenesysUnavailable: HTTP 503 upstream down"


def test_a_failure_stays_in_the_history_after_a_retry_delivered_the_push():
    # Failed 40 minutes ago, then "Retry now" and a delivery 10 minutes ago: one failure and one delivery this hour.
    add_push(
        state=State.DELIVERED,
        created=NOW - datetime.timedelta(minutes=45),
        delivered=NOW - datetime.timedelta(minutes=10),
        failed=NOW - datetime.timedelta(minutes=25),
    )
    (bucket,) = [b for b in selectors.outcome_buckets(now=NOW, hours=24) if b.start.hour == 14]
    assert (bucket.delivered, bucket.failed) == (1, 1)
    (today,) = selectors.outcome_buckets(now=NOW, days=1)
    assert (today.delivered, today.failed) == (1, 1)


def test_a_failed_push_is_the_oldest_not_delivered(admin_client):
    failed = add_push(state=State.FAILED, created=timezone.now() - datetime.timedelta(hours=2, minutes=5))
    add_push(state=State.PENDING, created=timezone.now() - datetime.timedelta(minutes=2))
    assert selectors.oldest_not_delivered()[0] == failed.pk
    body = admin_client.get(URL).content.decode()
    oldest = re.search(r'id="backlog-oldest">(.*?)</dd>', body).group(1)
    assert f"/admin/messaging/attributepush/{failed.pk}/change/" in oldest and "2 hours 5 minutes old" in oldest


def test_only_delivered_or_superseded_pushes_leave_nothing_undelivered(admin_client):
    add_push(state=State.DELIVERED, created=timezone.now(), delivered=timezone.now())
    add_push(state=State.SUPERSEDED, created=timezone.now())
    assert selectors.oldest_not_delivered() is None
    assert 'id="backlog-oldest">none<' in admin_client.get(URL).content.decode()


def test_the_page_is_in_the_admin_index_and_sidebar(admin_client):
    index = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/messaging/messaginghealth/"' in index and "Messaging health" in index
    sidebar = admin_client.get("/admin/messaging/attributepush/").content.decode()
    assert 'href="/admin/messaging/messaginghealth/"' in sidebar
    page = admin_client.get("/admin/messaging/messaginghealth/")
    assert page.status_code == 200 and 'id="messaging-health"' in page.content.decode()


def test_token_state_reads_the_cache_never_the_token(settings):
    settings.GENESYS_CLIENT_ID = "client-id"
    settings.GENESYS_CLIENT_SECRET = "client-secret"
    assert selectors.token_state().slots[0].cached is False
    now = time.time()
    get_token_service().store(
        AccessToken(access_token="tok-XYZ", expires_in=3600, fetched_at=now, valid_until=now + 600)
    )
    (slot,) = selectors.token_state(now=now + 100).slots
    assert slot.cached is True and slot.expires_in == pytest.approx(500)


# --- the page ---
def test_page_shows_charts_numbers_and_links(admin_client, settings):
    settings.GENESYS_CLIENT_ID = "client-id"
    settings.GENESYS_CLIENT_SECRET = "client-secret"
    now = time.time()
    get_token_service().store(
        AccessToken(access_token="tok-SECRET-1", expires_in=3600, fetched_at=now, valid_until=now + 900)
    )
    seed_history(timezone.now())
    response = admin_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('<svg class="chart"') == 2
    delivered_bars = [int(value) for value in re.findall(r'class="bar delivered"[^>]*data-value="(\d+)"', body)]
    assert len(delivered_bars) == 24 + 7 and sum(delivered_bars[:24]) == 15
    assert 'href="/admin/messaging/attributepush/?state__exact=failed"' in body
    assert 'href="/admin/messaging/attributepush/?state__exact=pending"' in body
    assert 'id="backlog-pending">2<' in body
    assert "GenesysUnavailable: HTTP 503 upstream down" in body
    assert "cached, expires in 14 minutes" in body  # in words, never "expires in 899 s"
    assert "tok-SECRET-1" not in body and "client-secret" not in body
    # The CSP refuses inline styles and scripts of ours: the page has neither.
    content = body[body.index('id="messaging-health"') :]
    assert " style=" not in content and "<script" not in content
    assert "/static/messaging/health.css" in body


def test_push_list_links_to_the_page(admin_client):
    assert 'id="messaging-health-link"' in admin_client.get("/admin/messaging/attributepush/").content.decode()


def test_page_is_for_staff_with_the_push_view_permission(client):
    assert client.get(URL).status_code == 302  # to the admin's sign-in
    staff = get_user_model().objects.create_user("ops", password="x-Ops-2026", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_attributepush"))
    staff = get_user_model().objects.get(pk=staff.pk)  # permissions are cached on the instance
    client.force_login(staff)
    assert client.get(URL).status_code == 200
