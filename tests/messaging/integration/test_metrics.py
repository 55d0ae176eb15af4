"""/metrics: who may scrape it, what it exposes, and that the recording functions and the outbox show in it."""

from __future__ import annotations

import datetime
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from config import metrics as site_metrics
from messaging import metrics
from messaging.monitoring.backlog import BACKLOG_METRIC_NAMES, BacklogCollector
from messaging.monitoring.scrape import scrape_source
from tests.outbox_history import State, add_push

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-2026-abcdefghijklmnop"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _fresh_backlog(monkeypatch):
    # The view's collector keeps its answer a few seconds; each test reads the database afresh.
    monkeypatch.setattr("messaging.monitoring.scrape.BACKLOG", BacklogCollector(cache_seconds=0))


def sample(body: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(body):
        for one in family.samples:
            if one.name == name and all(one.labels.get(key) == value for key, value in labels.items()):
                return one.value
    return None


def scrape(client, **extra) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


# --- access ---
def test_refused_without_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics")  # from loopback, but a token is set: loopback is no pass
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"messaging_" not in response.content
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_served_with_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = TOKEN
    body = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.9")
    assert "messaging_verify_requests_total" in body
    assert TOKEN not in body


def test_without_a_token_only_direct_loopback_may_scrape(client, settings):
    settings.METRICS_TOKEN = ""
    assert "messaging_" in scrape(client, REMOTE_ADDR="127.0.0.1")
    assert "messaging_" in scrape(client, REMOTE_ADDR="::1")
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    # Behind a proxy on the same host every request comes from loopback: a forwarded one is not the local scraper.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403


def test_only_get(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.post("/metrics").status_code == 405


# --- what it exposes ---
def test_exposition_names_every_metric_and_the_backlog(client, settings):
    settings.METRICS_TOKEN = ""
    body = scrape(client)
    families = {family.name for family in text_string_to_metric_families(body)}
    for name in metrics.METRIC_NAMES | BACKLOG_METRIC_NAMES:
        assert name.removesuffix("_total") in families, name  # the parser names a counter's family without _total
    # Closed label sets are present at 0 before the first event (rate() and ratios need the series).
    assert sample(body, "messaging_pushes_finished_total", state="failed") is not None
    assert sample(body, "messaging_oauth_token_requests_total", outcome="refused") is not None


def test_recording_functions_change_the_exposition(client, settings):
    settings.METRICS_TOKEN = ""
    before = scrape(client)
    metrics.verify_answered(metrics.VerifyOutcome.VERIFIED, 0.012)
    metrics.verify_answered("refused", 0.001)
    metrics.push_finished("delivered")
    metrics.push_latency(1.5)
    metrics.genesys_call(
        "/api/v2/conversations/messages/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/participants/1234567",
        202,
        0.2,
        retried_statuses=[429, 503],
    )
    metrics.genesys_call("/api/v2/conversations/messages/{conversationId}", 429, 0.1)
    metrics.genesys_retry("/api/v2/conversations/messages/{conversationId}", 401)
    metrics.oauth_token_request(metrics.token_outcome(401))
    metrics.oauth_token_request("issued")
    metrics.pacing_wait(0.3)
    metrics.pacing_fail_fast()
    site_metrics.cache_fallback()  # the site's own metric, exposed beside messaging's
    metrics.code_exchange("exchanged")
    metrics.push_finished("superseded", 3)
    metrics.push_finished("superseded", 0)
    metrics.push_delivered(2.0)
    after = scrape(client)

    def grew(name: str, by: float = 1, **labels: str) -> None:
        assert (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0) == by, (name, labels)

    grew("messaging_verify_requests_total", outcome="verified")
    grew("messaging_verify_requests_total", outcome="refused")
    grew("messaging_verify_duration_seconds_count", outcome="verified")
    grew("messaging_pushes_finished_total", by=2, state="delivered")
    grew("messaging_pushes_finished_total", by=3, state="superseded")
    grew("messaging_push_latency_seconds_count", by=2)
    grew("messaging_push_latency_seconds_sum", by=3.5)
    patch = "/api/v2/conversations/messages/{id}/participants/{id}"  # ids never become label values
    grew("messaging_genesys_requests_total", route=patch, status="202")
    grew("messaging_genesys_retries_total", route=patch, reason="429")
    grew("messaging_genesys_retries_total", route=patch, reason="503")
    grew("messaging_genesys_rate_limited_total", route=patch)
    grew("messaging_genesys_rate_limited_total", route="/api/v2/conversations/messages/{conversationId}")
    grew("messaging_genesys_retries_total", route="/api/v2/conversations/messages/{conversationId}", reason="401")
    grew("messaging_oauth_token_requests_total", outcome="refused")
    grew("messaging_oauth_token_requests_total", outcome="issued")
    grew("messaging_pacing_wait_seconds_count")
    grew("messaging_pacing_fail_fast_total")
    grew("site_cache_fallbacks_total")
    grew("messaging_code_exchanges_total", outcome="exchanged")
    assert "0f1e2d3c" not in after and "1234567" not in after


def test_unknown_outcomes_are_refused_not_exposed():
    with pytest.raises(ValueError):
        metrics.verify_answered("maybe", 0.1)
    with pytest.raises(ValueError):
        metrics.push_finished("lost")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(None, "unavailable"), (503, "unavailable"), (429, "rate_limited"), (400, "refused"), (401, "refused")],
)
def test_token_outcome_of_a_failed_grant(status, outcome):
    assert metrics.token_outcome(status) == outcome


# --- the backlog, from the database ---
def test_backlog_collector_reports_pending_failed_and_the_oldest_age():
    now = timezone.now()
    add_push(state=State.PENDING, created=now - datetime.timedelta(minutes=30))
    add_push(state=State.PENDING, created=now - datetime.timedelta(minutes=1))
    add_push(state=State.DELIVERING, created=now - datetime.timedelta(minutes=5))
    add_push(state=State.FAILED, created=now - datetime.timedelta(hours=2))
    add_push(state=State.DELIVERED, created=now - datetime.timedelta(hours=3), delivered=now)
    body = generate_latest(BacklogCollector(cache_seconds=0)).decode()
    assert sample(body, "messaging_outbox_pushes", state="pending") == 2
    assert sample(body, "messaging_outbox_pushes", state="delivering") == 1
    assert sample(body, "messaging_outbox_pushes", state="failed") == 1
    age = sample(body, "messaging_outbox_oldest_pending_age_seconds")
    assert 30 * 60 <= age < 31 * 60
    assert sample(body, "messaging_outbox_readable") == 1


def test_backlog_is_zero_when_the_outbox_is_empty():
    body = generate_latest(BacklogCollector(cache_seconds=0)).decode()
    assert sample(body, "messaging_outbox_pushes", state="pending") == 0
    assert sample(body, "messaging_outbox_oldest_pending_age_seconds") == 0


def test_backlog_is_read_once_per_cache_period():
    clock = [100.0]
    collector = BacklogCollector(cache_seconds=5, clock=lambda: clock[0])
    assert sample(generate_latest(collector).decode(), "messaging_outbox_pushes", state="pending") == 0
    add_push(state=State.PENDING, created=timezone.now())
    clock[0] += 4.9
    assert sample(generate_latest(collector).decode(), "messaging_outbox_pushes", state="pending") == 0
    clock[0] += 0.1
    assert sample(generate_latest(collector).decode(), "messaging_outbox_pushes", state="pending") == 1


def test_an_unreadable_database_is_reported_not_raised(monkeypatch):
    def broken():
        raise OperationalError("database is down")

    monkeypatch.setattr("messaging.monitoring.selectors.backlog", broken)
    body = generate_latest(BacklogCollector(cache_seconds=0)).decode()
    assert sample(body, "messaging_outbox_readable") == 0
    assert sample(body, "messaging_outbox_pushes", state="pending") is None


# --- several processes ---
RECORD = """
from config import metrics as site_metrics
from messaging import metrics
for _ in range({n}):
    metrics.push_finished("delivered")
metrics.genesys_call("/api/v2/conversations/messages/{{conversationId}}", 200, 0.05)
"""


def test_multiprocess_mode_sums_every_process(tmp_path, monkeypatch):
    """Two processes (two gunicorn workers, or a worker and the push worker) record into the shared directory;
    a scrape from a third sees the sum."""
    for count in (2, 3):
        subprocess.run(
            [sys.executable, "-c", RECORD.format(n=count)],
            cwd=REPO,
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            check=True,
            timeout=60,
        )
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process and kind
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body = generate_latest(scrape_source()).decode()
    assert sample(body, "messaging_pushes_finished_total", state="delivered") == 5
    assert (
        sample(body, "messaging_genesys_requests_total", route="/api/v2/conversations/messages/{conversationId}") == 2
    )
    assert sample(body, "messaging_outbox_readable") == 1  # the backlog still comes from the database


def test_gunicorn_marks_dead_workers_in_multiprocess_mode(tmp_path, monkeypatch):
    hooks = runpy.run_path(str(REPO / "config" / "gunicorn.py"))
    worker = type("Worker", (), {"pid": 4242})()
    live = tmp_path / "gauge_livesum_4242.db"
    live.write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    hooks["child_exit"](None, worker)
    assert not live.exists()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    hooks["child_exit"](None, worker)  # single-process mode: nothing to mark, no error
