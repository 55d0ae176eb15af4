"""Where the member's password forms report a new password's problems: the rules it breaks under the new password's
own box, a mismatch under the confirmation, each once (on every Django the site's tests run on)."""

import pytest
from django.contrib.auth.models import User

from accounts.forms import MemberPasswordChangeForm, NewPasswordForm
from accounts.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def member() -> User:
    return User.objects.create_user("dana", "dana@example.com", DEMO_PASSWORD)


def _form(kind: str, member: User, new1: str, new2: str):
    data = {"new_password1": new1, "new_password2": new2}
    if kind == "change":
        return MemberPasswordChangeForm(member, {"old_password": DEMO_PASSWORD, **data})
    return NewPasswordForm(member, data)


@pytest.mark.parametrize("kind", ["change", "reset"])
def test_broken_rules_are_reported_under_the_new_password_once(kind, member):
    form = _form(kind, member, "password", "password")

    assert not form.is_valid()
    assert set(form.errors) == {"new_password1"}
    codes = [error.code for error in form.errors.as_data()["new_password1"]]
    assert "password_too_common" in codes
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("kind", ["change", "reset"])
def test_a_mismatch_is_reported_under_the_confirmation_once(kind, member):
    form = _form(kind, member, "Brand-new-2026!", "Brand-new-2027!")

    assert not form.is_valid()
    assert set(form.errors) == {"new_password2"}
    assert [error.code for error in form.errors.as_data()["new_password2"]] == ["password_mismatch"]


@pytest.mark.parametrize("kind", ["change", "reset"])
def test_a_good_matching_password_is_saved(kind, member):
    form = _form(kind, member, "Brand-new-2026!", "Brand-new-2026!")

    assert form.is_valid(), form.errors
    form.save()
    member.refresh_from_db()
    assert member.check_password("Brand-new-2026!")
