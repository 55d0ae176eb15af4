"""Pacing and the token pool over real HTTP against the sandbox, whose per-token limit is set low (20 a minute):
unpaced calls beyond it get 429s, paced ones never do and fail fast instead; a pool of N takes N times the calls on
N tokens; Genesys' headers correct our budget; a push that meets an empty budget stays in the outbox and is
delivered later; several OS processes sharing Redis stay within one token's budget together.

The calls happen within seconds, well inside one minute, so the figures are exact: 20 a minute less 10 % headroom
is 18 calls per token."""

import datetime
import io
import math
import os
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from messaging import processes
from messaging.genesys import oauth as tokens_module
from messaging.genesys.client import get_client
from messaging.genesys.errors import GenesysRateLimited
from messaging.genesys.pacing import RateLimiter, last_rate_limit_headers
from messaging.genesys.pool import TOKEN_POOL_KEY, TokenPool, get_token_pool
from messaging.models import AttributePush
from messaging.verification import verify_conversation
from sandbox.launcher import GET_ROUTE
from tests.clocks import ManualClock
from tests.processes import race, racing_script
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
SECURE_ROUTE = "/api/v2/conversations/{conversationId}/secureattributes"
LIMIT = 20
BUDGET = 18  # LIMIT less 10 %

pytestmark = pytest.mark.django_db


@pytest.fixture
def genesys(genesys, settings):
    """The shared sandbox fixture (tests/fixtures/sandbox.py) with a per-token limit of 20 a minute and the
    site configured to match (its client is made after this, on first use)."""
    genesys.configure(rate_per_minute=LIMIT)
    settings.GENESYS_TOKEN_RATE_PER_MINUTE = LIMIT
    settings.GENESYS_TOKEN_RATE_HEADROOM = 0.1
    settings.GENESYS_PACING_MAX_WAIT = 0.3
    settings.GENESYS_MAX_RETRY_WAIT = 0.5  # the sandbox's Retry-After (up to 60 s) is not waited for in a call
    return genesys


@pytest.fixture
def conversation(genesys):
    return genesys.start_conversation("pacing")["id"]


def call_many(count: int, conversation_id: str) -> tuple[int, list[GenesysRateLimited]]:
    """`count` GETs through the site's client: (answered, rate-limited errors)."""
    client = get_client()
    answered, limited = 0, []
    for _ in range(count):
        try:
            client.get_message_conversation(conversation_id)
            answered += 1
        except GenesysRateLimited as error:
            limited.append(error)
    return answered, limited


def test_unpaced_calls_beyond_the_limit_are_refused_by_genesys(genesys, conversation, settings):
    settings.GENESYS_PACING = False
    answered, limited = call_many(25, conversation)
    assert answered == LIMIT and len(limited) == 5
    assert all(error.status == 429 for error in limited)
    assert genesys.stats()["responses_429"] == 5


def test_paced_calls_never_meet_a_429_and_fail_fast_beyond_the_budget(genesys, conversation, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(get_token_pool().limiter, "sleep", slept.append)  # any wait for budget would show here
    answered, limited = call_many(25, conversation)
    assert answered == BUDGET and len(limited) == 25 - BUDGET
    stats = genesys.stats()
    assert stats["responses_429"] == 0
    assert stats["requests"][GET_ROUTE] == BUDGET  # the refused calls never left the process
    # Fail fast: budget frees in about a minute, far beyond the bound (0.3 s), so nobody waits for it.
    assert slept == []
    assert all(error.code == "pacing.budget.exhausted" and 40 < error.retry_after <= 65 for error in limited)


def test_a_pool_takes_n_times_the_calls_on_n_tokens(genesys, conversation, settings):
    settings.GENESYS_TOKEN_POOL_SIZE = 3
    answered, limited = call_many(3 * BUDGET + 2, conversation)
    assert answered == 3 * BUDGET and len(limited) == 2
    stats = genesys.stats()
    assert stats["tokens_issued"] == 3
    assert stats["responses_429"] == 0
    usages, budget = get_token_pool().limiter.usage(3)
    assert budget == BUDGET and [u.used for u in usages] == [BUDGET] * 3


def test_a_route_bucket_in_the_headers_never_shrinks_the_token_budget(genesys, conversation):
    # The secure-attributes route has a bucket of its own (12 a minute here, as 180 of 300 at Genesys): its
    # answers say allowed=12. That bucket is not the token's: the GETs after it still get the token's budget.
    genesys.configure(route_rate_limits={f"PATCH {SECURE_ROUTE}": 12})
    get_client().patch_secure_attributes(conversation, {"tier": "gold"})
    seen = last_rate_limit_headers()
    assert seen is not None and seen.allowed == 12 and seen.count == 1
    answered, limited = call_many(25, conversation)
    assert answered == BUDGET - 1 and len(limited) == 25 - (BUDGET - 1)  # the PATCH spent one of the token's 18
    assert genesys.stats()["responses_429"] == 0
    assert last_rate_limit_headers().allowed == LIMIT


def test_a_configured_rate_above_the_tokens_is_corrected_by_the_429_alone(genesys, conversation, settings):
    # We assume the published 300 where this org's token allows 20: the headers' 20 is not taken for the token's
    # budget (it may be any bucket's), so the 21st call meets Genesys' 429, whose reset holds the token: nothing
    # more is sent until Genesys' minute ends.
    settings.GENESYS_TOKEN_RATE_PER_MINUTE = 300
    answered, limited = call_many(25, conversation)
    assert answered == LIMIT and len(limited) == 25 - LIMIT
    assert limited[0].status == 429
    assert all(error.code == "pacing.budget.exhausted" for error in limited[1:])
    stats = genesys.stats()
    assert stats["responses_429"] == 1 and stats["requests"][GET_ROUTE] == LIMIT + 1


def test_calls_we_did_not_count_are_learnt_from_genesys_count(genesys, conversation):
    # Another process outside our cache (a script with the same token, say) spends 10 of the token's 20.
    token = tokens_module.get_access_token()
    for _ in range(10):
        response = genesys.http.get(
            f"{genesys.url}/api/v2/conversations/messages/{conversation}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200
    answered, limited = call_many(15, conversation)
    # The first call's answer says 11: ours is raised to it, and 7 more fit in the budget of 18.
    assert answered == 8 and len(limited) == 7
    assert genesys.stats()["responses_429"] == 0


def test_a_429_still_met_holds_the_token_until_genesys_minute_ends(genesys, conversation, settings):
    # Another process already spent the whole minute: the first answer is a 429, then nobody tries again.
    token = tokens_module.get_access_token()
    for _ in range(LIMIT):
        genesys.http.get(
            f"{genesys.url}/api/v2/conversations/messages/{conversation}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    answered, limited = call_many(5, conversation)
    assert answered == 0 and len(limited) == 5
    assert limited[0].status == 429
    assert all(error.code == "pacing.budget.exhausted" for error in limited[1:])
    assert genesys.stats()["responses_429"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_push_without_budget_stays_in_the_outbox_and_is_delivered_later(genesys, alice, settings, member_token):
    # Our window is 3 s instead of Genesys' minute, so the budget frees within the test; half the sandbox's 20
    # a minute per window, so what we send over two windows stays within its minute. The limiter counts on the
    # test's clock, held still (mid-bucket) while the budget is spent: however long the calls take, they all land
    # in one bucket, which leaves the span (four buckets of 1 s) 3.5 s later on that clock.
    settings.GENESYS_TOKEN_RATE_HEADROOM = 0.5
    settings.GENESYS_PUSH_RETRY_BASE = 0.01
    clock = ManualClock(math.floor(time.time()) + 0.5)
    limiter = RateLimiter(window=3.0, buckets=3, clock=clock.time, sleep=clock.sleep)
    processes.per_process(TOKEN_POOL_KEY, lambda: TokenPool(limiter=limiter))
    token = member_token(alice)
    conversation = uuid.UUID(genesys.start_conversation("outbox", {"memberToken": token})["id"])
    client = get_client()
    for _ in range(9):
        client.get_message_conversation(str(conversation))  # 9 of the 10: the verify's check takes the last

    started = timezone.now()
    result = verify_conversation(
        conversation_id=conversation,
        member_token=token,
        client=client,
        budget_seconds=5.0,
    )
    answered = timezone.now()
    assert result.push_state == "pending" and result.verified
    push = AttributePush.objects.get()
    assert push.last_error.startswith("GenesysRateLimited: No Genesys API budget")
    assert push.attempts == 0  # deferred by our own pacing, nothing sent: not an attempt
    assert clock.sleeps == []  # 3.5 s is past the pacing bound (0.3 s): no wait for it
    # Retried once the budget frees, not before: the outbox honours the limiter's retry_after.
    wait = datetime.timedelta(seconds=3.5)
    assert started + wait <= push.next_attempt_at <= answered + wait
    assert genesys.stats()["responses_429"] == 0

    # The whole span (window plus a bucket) passes on the limiter's clock, so the GET and the PATCH both fit;
    # the push falls due on the database's.
    clock.advance(4.0)
    wait_until(lambda: timezone.now() >= push.next_attempt_at, 30, "the push is due", interval=0.05)
    # Our 3 s window has passed but the sandbox's minute has not, and its count would (rightly) correct ours
    # upwards: a new token starts a new minute at Genesys. The worker's first call meets the 401 and refetches.
    genesys.revoke_all()
    call_command("deliver_pushes", "--batch", "--no-startup-delay", "--sweep-grace", "0", stdout=io.StringIO())
    push.refresh_from_db()
    assert push.state == "delivered"
    assert genesys.conversation(str(conversation))["attributes"]["verified"] == {"value": "true", "origin": "server"}
    stats = genesys.stats()
    assert stats["responses_429"] == 0 and stats["tokens_issued"] == 2


# --- several OS processes sharing Redis ---

# Each child: set Django and its client up first, say it is ready, wait for the starting signal, then call.
CHILD = racing_script(
    prepare="""
    from messaging.genesys.client import get_client
    from messaging.genesys.errors import GenesysRateLimited
    conversation = sys.argv[3]
    client = get_client()
    """,
    work="""
    answered = limited = 0
    for _ in range(int(sys.argv[4])):
        try:
            client.get_message_conversation(conversation)
            answered += 1
        except GenesysRateLimited:
            limited += 1
    print(json.dumps({"answered": answered, "limited": limited}))
    """,
)


def _redis_url() -> str:
    # In CI's first pass REDIS_URL is unset but Redis runs: use it, under a key prefix of our own (below).
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.mark.needs_services
@pytest.mark.parametrize("pool", [1, 2])
def test_processes_sharing_redis_stay_within_the_budget_together(genesys, tmp_path, pool):
    conversation = genesys.start_conversation("processes")["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYS_", "DJANGO_", "SANDBOX_", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        GENESYS_SANDBOX="true",
        GENESYS_API_BASE=genesys.url,
        GENESYS_LOGIN_BASE=genesys.url,
        GENESYS_APPS_BASE=genesys.url,
        GENESYS_TOKEN_RATE_PER_MINUTE=str(LIMIT),
        GENESYS_TOKEN_POOL_SIZE=str(pool),
        GENESYS_PACING_MAX_WAIT="0.2",
        REDIS_URL=_redis_url(),
        CACHE_KEY_PREFIX=f"pacing-{uuid.uuid4().hex[:8]}",  # a cold cache nobody else uses
        DATABASE_URL="sqlite:////nonexistent-dir/no.sqlite3",  # pacing needs no database
        LOG_LEVEL="ERROR",
    )
    results = race(tmp_path, env, CHILD, 4, conversation, "15")
    answered = sum(r["answered"] for r in results)
    assert answered == pool * BUDGET  # Redis counts atomically: exactly the budget, cluster-wide
    assert sum(r["limited"] for r in results) == 4 * 15 - pool * BUDGET
    stats = genesys.stats()
    assert stats["responses_429"] == 0
    assert stats["tokens_issued"] == pool
    assert stats["requests"][GET_ROUTE] == pool * BUDGET
