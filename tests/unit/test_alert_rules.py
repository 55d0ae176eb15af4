"""deploy/prometheus/alerts.yml parses, every rule is complete, and every metric it names is one messaging
or the site exposes (or one Prometheus or blackbox_exporter makes): a renamed metric must not silence an alert."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from config.metrics import METRIC_NAMES as SITE_METRIC_NAMES
from messaging.metrics import METRIC_NAMES
from messaging.monitoring.backlog import BACKLOG_METRIC_NAMES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
EXTERNAL = {"up", "probe_success"}  # Prometheus' own, and blackbox_exporter's probe of /readyz
SUFFIXES = ("_bucket", "_count", "_sum")
FUNCTIONS = {"sum", "rate", "increase", "max", "histogram_quantile", "by", "and", "le", "job", "state", "outcome"}
IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\b")


def rules() -> list[dict]:
    document = yaml.safe_load((DEPLOY / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def metrics_named(expression: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', "", expression)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    return {
        name for name in IDENTIFIER.findall(without_ranges) if name not in FUNCTIONS and "_" in name or name == "up"
    }


def exposed(name: str) -> bool:
    known = METRIC_NAMES | BACKLOG_METRIC_NAMES | SITE_METRIC_NAMES
    return name in known or any(name.endswith(s) and name.removesuffix(s) in known for s in SUFFIXES)


def test_every_rule_is_complete_and_uniquely_named():
    all_rules = rules()
    assert len(all_rules) >= 8
    names = [rule["alert"] for rule in all_rules]
    assert len(names) == len(set(names))
    for rule in all_rules:
        assert rule["expr"].strip(), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "warn"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_every_metric_in_a_rule_exists():
    for rule in rules():
        named = metrics_named(rule["expr"])
        assert named, rule["alert"]
        for name in named:
            assert name in EXTERNAL or exposed(name), f"{rule['alert']} names {name}, which nothing exposes"


def test_the_issue_s_alerts_are_there():
    expressions = {rule["alert"]: rule["expr"] for rule in rules()}
    assert "messaging_outbox_oldest_pending_age_seconds" in expressions["MessagingBacklogOld"]
    assert 'state="failed"' in expressions["MessagingPushFailureRatio"]
    assert "messaging_genesys_rate_limited_total" in expressions["MessagingGenesysRateLimited"]
    assert "messaging_oauth_token_requests_total" in expressions["MessagingTokenRefused"]
    assert "probe_success" in expressions["MessagingNotReady"]


def test_the_rule_checker_catches_an_unknown_metric():
    assert not exposed("messaging_pushes_delivered_total")
    assert metrics_named('sum(rate(messaging_nope_total{state="x"}[5m])) > 0') == {"messaging_nope_total"}


def test_scrape_example_parses_and_loads_the_rules():
    document = yaml.safe_load((DEPLOY / "scrape.example.yml").read_text())
    assert document["rule_files"] == ["alerts.yml"]
    assert {job["job_name"] for job in document["scrape_configs"]} == {"messaging", "messaging-readyz"}
