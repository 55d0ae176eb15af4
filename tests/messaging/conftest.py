"""Fixtures of the messaging app's tests: members as a host site without `accounts` has them.

Every test here runs under messaging's own DefaultMemberAdapter (GENESYS_MEMBER_ADAPTER set for the test), so a
member is Django's plain User: her public id is a MemberIdentity row made on first use, her level "", no extra
attributes. The member fixtures keep the names the site's tests use (make_member, alice, bob) and make plain
users; `public_id` reads a user's public id through the adapter. What only the site's adapter gives (levels and
their history) is tested by the site's tests, not here; tests/messaging/test_independence.py fails if a module
here imports the site's apps.
"""

from collections.abc import Callable
from typing import Any

import pytest

from tests.messaging.members import PASSWORD

DEFAULT_ADAPTER = "messaging.identity.adapter.DefaultMemberAdapter"


@pytest.fixture(autouse=True)
def _default_member_adapter(settings: Any) -> None:
    settings.GENESYS_MEMBER_ADAPTER = DEFAULT_ADAPTER


@pytest.fixture
def make_member(db: None) -> Callable[..., Any]:
    """make(username, **fields) -> a plain User, active, with PASSWORD and username@example.com."""
    from django.contrib.auth import get_user_model

    def make(username: str, **fields: Any) -> Any:
        return get_user_model().objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.com", **fields
        )

    return make


@pytest.fixture
def alice(make_member: Callable[..., Any]) -> Any:
    return make_member("alice", first_name="Alice", last_name="Anders")


@pytest.fixture
def bob(make_member: Callable[..., Any]) -> Any:
    return make_member("bob", first_name="Bob", last_name="Berg")


@pytest.fixture
def public_id(db: None) -> Callable[[Any], str]:
    """of(user) -> the user's public id as the adapter gives it (made on first use)."""
    from messaging.identity.adapter import get_member_adapter

    def of(user: Any) -> str:
        member = get_member_adapter().member_for_user(user)
        assert member is not None, f"{user} is not a member"
        return member.public_id

    return of
