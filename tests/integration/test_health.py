import pytest
from django.db import connection
from django.test import Client

from health.probes import run_probes


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client, settings):
    settings.GENESYS_CLIENT_ID = ""  # Genesys not configured: reported, not failed
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "genesys", "data_action"}
    assert body["checks"]["genesys"]["detail"] == "not configured"
    assert body["checks"]["data_action"]["detail"] == "credentials set"
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_when_genesys_cannot_give_a_token(client, settings):
    settings.GENESYS_CLIENT_ID = "someone"
    settings.GENESYS_CLIENT_SECRET = "s3cret-value-never-shown"
    settings.GENESYS_LOGIN_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.GENESYS_API_BASE = "http://127.0.0.1:9"
    settings.GENESYS_CONNECT_TIMEOUT = 0.5
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert body["checks"]["genesys"]["ok"] is False
    assert "s3cret-value-never-shown" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_naming_the_data_action_settings_missing_in_production(client, settings):
    settings.DEBUG = False
    settings.GENESYS_CLIENT_ID = ""
    settings.GENESYS_DATA_ACTION_USERNAME = ""
    settings.GENESYS_DATA_ACTION_PASSWORD = ""
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["ok"] and body["checks"]["cache"]["ok"]
    assert body["checks"]["data_action"]["ok"] is False
    error = body["checks"]["data_action"]["error"]
    assert "GENESYS_DATA_ACTION_USERNAME and GENESYS_DATA_ACTION_PASSWORD not set" in error


@pytest.mark.django_db
def test_readyz_notes_missing_data_action_settings_in_development(client, settings):
    settings.DEBUG = True  # pytest-django runs tests with DEBUG off
    settings.GENESYS_CLIENT_ID = ""
    settings.GENESYS_DATA_ACTION_PASSWORD = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["data_action"] == {
        "ok": True,
        "detail": "not configured",
        "ms": response.json()["checks"]["data_action"]["ms"],
    }


def test_a_failing_probe_is_reported_not_raised():
    def broken() -> str:
        raise ConnectionError("connection refused")

    ok, checks = run_probes({"thing": broken, "fine": lambda: "yes"})
    assert ok is False
    assert checks["thing"]["ok"] is False and checks["thing"]["error"] == "ConnectionError: connection refused"
    assert checks["fine"] == {"ok": True, "detail": "yes", "ms": checks["fine"]["ms"]}


def _genesys_unreachable(settings) -> None:
    settings.GENESYS_CLIENT_ID = "someone"
    settings.GENESYS_CLIENT_SECRET = "s3cret-value-never-shown"
    settings.GENESYS_LOGIN_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    settings.GENESYS_API_BASE = "http://127.0.0.1:9"
    settings.GENESYS_CONNECT_TIMEOUT = 0.5


@pytest.mark.django_db
def test_probes_while_genesys_login_fails_ask_genesys_once(client, settings, monkeypatch):
    """Issue 21 (9): 13 public probes made 52 token requests while Genesys' login failed."""
    from messaging.genesys import oauth

    _genesys_unreachable(settings)
    fetches = []
    original = oauth.TokenService.fetch
    monkeypatch.setattr(oauth.TokenService, "fetch", lambda self: fetches.append(1) or original(self))
    prober = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [prober.get("/readyz").status_code for _ in range(13)]
    assert statuses == [503] * 13
    assert len(fetches) == 1


@pytest.mark.django_db
def test_the_public_sees_which_checks_pass_and_no_details(settings):
    _genesys_unreachable(settings)
    settings.METRICS_TOKEN = "an-operators-metrics-token"
    public = Client(REMOTE_ADDR="198.51.100.7").get("/readyz")
    assert public.status_code == 503
    assert public.json() == {
        "status": "fail",
        "checks": {
            "database": {"ok": True},
            "cache": {"ok": True},
            "genesys": {"ok": False},
            "data_action": {"ok": True},
        },
    }
    operator = Client(REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer an-operators-metrics-token")
    checks = operator.get("/readyz").json()["checks"]
    assert checks["database"]["detail"] == connection.vendor  # sqlite here, postgresql in CI's second pass
    assert checks["genesys"]["error"].startswith("GenesysUnavailable")
