"""Every form that checks a password shares one per-address and one per-username budget (accounts.ratelimits):
site sign-in, admin sign-in, password change and the password-reset confirmation."""

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import resolve, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "x-Admin-2026"
NEW_PASSWORD = "An0ther-secret!"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", ADMIN_PASSWORD)


@pytest.fixture
def small_budgets(settings):
    """3 attempts per username at one address, 6 per username from every address, 4 per address (the per-address
    one is raised by tests of the others)."""
    settings.LOGIN_RATE_PER_USERNAME = "3/m"
    settings.LOGIN_RATE_PER_USERNAME_GLOBAL = "6/m"
    settings.LOGIN_RATE_PER_IP = "4/m"
    return settings


def site_login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def admin_login(client: Client, username: str, password: str):
    return client.post(reverse("admin:login"), {"username": username, "password": password})


def change_password(client: Client, old_password: str):
    return client.post(
        reverse("password_change"),
        {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def assert_too_many(response) -> None:
    assert response.status_code == 429
    assert b"Too many attempts" in response.content
    assert 1 <= int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("form", ["site login", "admin login"])
def test_a_sign_in_form_allows_the_username_budget_then_answers_429_even_to_the_right_password(
    client, root, small_budgets, form
):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    attempt = site_login if form == "site login" else admin_login
    for _ in range(3):
        assert attempt(client, "root", "wrong").status_code == 200  # the form again, with its error
    assert_too_many(attempt(client, "root", ADMIN_PASSWORD))
    assert not signed_in(client)


def test_password_change_allows_the_username_budget_then_answers_429_and_changes_nothing(client, alice, small_budgets):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    client.force_login(alice)
    for _ in range(3):
        assert change_password(client, "wrong").status_code == 200
    assert_too_many(change_password(client, DEMO_PASSWORD))
    alice.refresh_from_db()
    assert alice.check_password(DEMO_PASSWORD)


def test_the_admins_password_change_allows_the_username_budget_then_answers_429(client, root, small_budgets):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    client.force_login(root)
    url = reverse("admin:password_change")
    form = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    for _ in range(3):
        assert client.post(url, {"old_password": "wrong", **form}).status_code == 200
    assert_too_many(client.post(url, {"old_password": ADMIN_PASSWORD, **form}))
    root.refresh_from_db()
    assert root.check_password(ADMIN_PASSWORD)


def test_a_member_posting_to_the_admins_password_change_is_sent_to_sign_in_uncounted(client, alice, small_budgets):
    client.force_login(alice)
    for _ in range(5):
        assert client.post(reverse("admin:password_change"), {"old_password": "wrong"}).status_code == 302
    assert site_login(Client(), "alice", DEMO_PASSWORD).status_code == 302


def test_password_change_counts_against_the_signed_in_members_sign_in_budget(client, alice, small_budgets):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    member = Client()
    member.force_login(alice)
    for _ in range(3):
        change_password(member, "wrong")
    # The same account, from a fresh browser at the same address: its budget is spent.
    assert_too_many(site_login(client, "Alice", DEMO_PASSWORD))


@pytest.mark.parametrize(("spend", "then"), [(site_login, admin_login), (admin_login, site_login)])
def test_attempts_on_one_sign_in_form_spend_the_address_budget_of_the_other(client, root, small_budgets, spend, then):
    for i in range(4):
        assert spend(client, f"nobody{i}", "wrong").status_code == 200
    assert_too_many(then(client, "root", ADMIN_PASSWORD))
    assert not signed_in(client)
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert then(other, "root", ADMIN_PASSWORD).status_code == 302
    assert signed_in(other)


@pytest.mark.parametrize(("spend", "then"), [(site_login, admin_login), (admin_login, site_login)])
def test_attempts_on_one_sign_in_form_spend_the_username_budget_of_the_other(small_budgets, root, spend, then):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    for i in range(3):
        spend(Client(REMOTE_ADDR="10.0.0.1"), "root", "wrong")
    client = Client(REMOTE_ADDR="10.0.0.1")
    assert_too_many(then(client, "root", ADMIN_PASSWORD))
    assert not signed_in(client)


def test_after_the_limit_the_right_admin_password_does_not_sign_in(client, root, settings):
    """The attacker's run: the address's budget spent on the site's sign-in, then the admin's sign-in."""
    settings.LOGIN_RATE_PER_IP = "30/m"
    for i in range(30):
        site_login(client, f"guess{i}", "wrong")
    statuses = [admin_login(client, "root", "wrong").status_code for _ in range(40)]
    assert statuses == [429] * 40
    assert_too_many(admin_login(client, "root", ADMIN_PASSWORD))
    assert not signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302  # still sent to sign in


def test_page_views_do_not_count(client, alice, small_budgets):
    for _ in range(10):
        assert client.get(reverse("login")).status_code == 200
        assert client.get(reverse("admin:login")).status_code == 200
    assert site_login(client, "alice", DEMO_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "name", ["login", "password_change", "admin:login", "admin:password_change", "member_page"], ids=lambda name: name
)
def test_every_password_form_is_mounted_limited(name):
    """By name, so the admin's own reverse() lands on the limited mount, not on the one behind it."""
    assert getattr(resolve(reverse(name)).func, "password_attempts_limited", False)


def reset_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])


def test_reset_confirmation_shares_the_members_budget(client, alice, small_budgets):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    set_password_url = client.get(reset_link(alice)).url  # Django moves the token into the session
    mismatched = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"}
    assert client.post(set_password_url, mismatched).status_code == 200
    for _ in range(2):
        site_login(Client(), "alice", "wrong")
    assert_too_many(client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}))
    alice.refresh_from_db()
    assert alice.check_password(DEMO_PASSWORD)


def test_the_reset_confirmation_is_mounted_limited(alice):
    assert getattr(resolve(reset_link(alice)).func, "password_attempts_limited", False)


@pytest.mark.parametrize("disguise", ["ｂob", "ＢＯＢ", "bob ", "BoB"])
def test_a_locked_username_stays_locked_however_it_is_typed(small_budgets, bob, disguise):
    """The stranger of issue 21 (2): after `bob` is locked, full-width `ｂob` (which Django's NFKC normalisation
    signs in as bob) with the right password is refused too."""
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    stranger = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(3):
        assert site_login(stranger, "bob", "wrong").status_code == 200
    assert_too_many(site_login(stranger, disguise, DEMO_PASSWORD))
    assert not signed_in(stranger)


def test_a_strangers_bad_passwords_do_not_lock_the_member_out_elsewhere(small_budgets, bob):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    stranger = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(3):
        site_login(stranger, "bob", "wrong")
    assert_too_many(site_login(stranger, "bob", DEMO_PASSWORD))
    at_home = Client(REMOTE_ADDR="192.0.2.10")
    assert site_login(at_home, "bob", DEMO_PASSWORD).status_code == 302
    assert signed_in(at_home)


def test_guesses_spread_over_many_addresses_meet_the_global_username_budget(small_budgets, bob):
    small_budgets.LOGIN_RATE_PER_IP = "100/m"
    for i in range(6):  # two per address: no address reaches its own budget of 3
        site_login(Client(REMOTE_ADDR=f"10.7.0.{i // 2}"), "ｂob", "wrong")
    guesser = Client(REMOTE_ADDR="10.7.1.1")
    assert_too_many(site_login(guesser, "bob", DEMO_PASSWORD))
    assert not signed_in(guesser)
