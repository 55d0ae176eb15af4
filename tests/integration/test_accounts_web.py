import pytest
from django.urls import reverse

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_home_invites_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"sign in" in response.content.lower()
    assert reverse("login").encode() in response.content


def test_home_greets_the_member_by_name_with_level(client, alice):
    client.force_login(alice)
    body = client.get("/").content.decode()
    assert "Hello, Alice" in body
    assert '<strong id="membership-level">Gold</strong>' in body


def test_login_then_logout_by_post(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get("/").context["user"].is_authenticated
    assert client.get(reverse("logout")).status_code == 405  # GET never signs out
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_password_change_needs_login_and_works(client, alice):
    url = reverse("password_change")
    assert client.get(url).status_code == 302
    client.force_login(alice)
    response = client.post(
        url, {"old_password": DEMO_PASSWORD, "new_password1": "An0ther-secret!", "new_password2": "An0ther-secret!"}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("An0ther-secret!")


def test_login_is_rate_limited_per_username_with_429_and_others_still_sign_in(client, alice, bob, settings):
    settings.LOGIN_RATE_PER_USERNAME = "3/m"
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    blocked = client.post(reverse("login"), {"username": "Alice ", "password": DEMO_PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.content
    assert 1 <= int(blocked["Retry-After"]) <= 60  # the seconds left in the budget's one-minute window
    # Another member from the same address is not locked out.
    response = client.post(reverse("login"), {"username": "bob", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_login_is_rate_limited_per_address(client, alice, settings):
    settings.LOGIN_RATE_PER_IP = "4/m"
    for i in range(4):
        client.post(reverse("login"), {"username": f"nobody{i}", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD})
    assert response.status_code == 429
    # From another address the member still gets in.
    response = client.post(reverse("login"), {"username": "alice", "password": DEMO_PASSWORD}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302
