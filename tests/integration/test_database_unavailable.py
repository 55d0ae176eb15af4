import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from config.middleware import DatabaseUnavailableMiddleware


def _failing_view(request):
    raise OperationalError("connection to server at 127.0.0.1 failed")


@pytest.fixture
def middleware():
    return DatabaseUnavailableMiddleware(_failing_view)


def test_a_page_gets_503_with_retry_after(middleware):
    request = RequestFactory().get("/")
    response = middleware.process_exception(request, OperationalError("down"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"try again" in response.content


def test_the_data_action_gets_json_503(middleware):
    request = RequestFactory().post("/messaging/genesys/verify", content_type="application/json")
    response = middleware.process_exception(request, OperationalError("down"))
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "database_unavailable"
    assert "127.0.0.1" not in response.content.decode()  # no connection details leak


def test_other_errors_are_left_alone(middleware):
    request = RequestFactory().get("/")
    assert middleware.process_exception(request, ValueError("bug")) is None


@pytest.mark.django_db
def test_installed_in_the_site(client, monkeypatch):
    from accounts import views

    def broken(request):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "member_profile_for", lambda user: broken(None))
    response = client.get("/")
    assert response.status_code == 503
