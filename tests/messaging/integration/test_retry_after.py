"""Retry-After of every 429 the site's own rate limits answer is the wait until the limit lifts, whatever the
rate ("600/m", "10/5m", ...): one second earlier the request is still refused, at that second it goes ahead. The
clock django-ratelimit reads is held still and moved by the test (rate_limit_clock), so no window ends by itself.
"""

import pytest

from messaging.rate_limit import seconds_to_wait
from tests.data_action import PASSWORD, USERNAME, basic, post

WRONG = basic(password="wrong")


@pytest.fixture
def credentials(settings):
    settings.GENESYS_DATA_ACTION_USERNAME = USERNAME
    settings.GENESYS_DATA_ACTION_PASSWORD = PASSWORD
    return settings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rate", "allowed", "period"),
    [("600/m", 600, 60), ("10/5m", 10, 300), ("3/h", 3, 3600), ("2/30s", 2, 30), ("1/s", 1, 1)],
)
def test_verify_retry_after_is_when_the_limit_lifts(client, credentials, rate_limit_clock, rate, allowed, period):
    credentials.GENESYS_VERIFY_FAILED_AUTH_RATE = rate
    assert {post(client, {}, auth=WRONG).status_code for _ in range(allowed)} == {401}
    refused = post(client, {}, auth=WRONG)
    assert refused.status_code == 429 and refused.json() == {"error": "rate_limited"}
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= period

    rate_limit_clock.advance(wait - 1)
    assert post(client, {}, auth=WRONG).status_code == 429  # a second early: still closed
    rate_limit_clock.advance(1)
    assert post(client, {}, auth=WRONG).status_code == 401  # on time: counted again, and refused only for the password


def test_a_limit_closed_by_a_failed_cache_still_names_a_wait():
    # django-ratelimit closes the limit when its cache fails, with time_left -1: Retry-After must stay positive.
    assert seconds_to_wait({"count": 0, "limit": 0, "should_limit": True, "time_left": -1}) == 1
