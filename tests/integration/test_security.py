"""Web security properties of the site's own pages: session fixation, CSRF, open redirects, framing."""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_cycles_the_session_key(client, alice):
    session = client.session  # an anonymous session, as an attacker could plant in a victim's browser
    session["planted"] = "by an attacker"
    session.save()
    before = session.session_key
    client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD})
    assert client.session.session_key != before
    assert client.cookies["sessionid"].value != before


def test_logout_needs_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("logout")).status_code == 403
    assert client.get("/").context["user"].is_authenticated
    token = client.get("/").context["csrf_token"]
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": str(token)}).status_code == 302
    assert not client.get("/").context["user"].is_authenticated


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "http:\\\\evil.example", "javascript:alert(1)", "/\\evil.example"],
)
def test_login_never_redirects_off_site(client, alice, target):
    response = client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_login_follows_a_local_next(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": DEMO_PASSWORD, "next": "/accounts/password/change/"}
    )
    assert response.url == "/accounts/password/change/"


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/"])
def test_pages_refuse_to_be_framed_and_carry_a_strict_csp(client, path):
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "*" not in csp.replace("*.", "")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=text, password=text, next_url=text)
def test_login_form_never_fails_with_500(client, alice, settings, username, password, next_url):
    settings.RATELIMIT_ENABLE = False
    response = client.post(reverse("login"), {"username": username, "password": password, "next": next_url})
    assert response.status_code in {200, 302}
    if response.status_code == 302:
        assert response.url.startswith("/")
        assert not response.url.startswith("//")


@pytest.mark.parametrize("path", ["/", "/accounts/password/change/", "/accounts/password/change/done/"])
def test_a_members_pages_are_never_stored_by_a_cache(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives
