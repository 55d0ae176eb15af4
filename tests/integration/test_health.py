import pytest

from health.checks import run_probes


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
    assert set(body["checks"]) == {"database", "cache", "genesys"}
    assert body["checks"]["genesys"]["detail"] == "not configured"
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


def test_a_failing_probe_is_reported_not_raised():
    def broken() -> str:
        raise ConnectionError("connection refused")

    ok, checks = run_probes({"thing": broken, "fine": lambda: "yes"})
    assert ok is False
    assert checks["thing"]["ok"] is False and checks["thing"]["error"] == "ConnectionError: connection refused"
    assert checks["fine"] == {"ok": True, "detail": "yes", "ms": checks["fine"]["ms"]}
