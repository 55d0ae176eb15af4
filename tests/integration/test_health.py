import pytest

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
