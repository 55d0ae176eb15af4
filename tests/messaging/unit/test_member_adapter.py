"""Members reach messaging through an adapter (messaging/identity/adapter.py): the default one over Django's plain
User (the site's own is tested in tests/unit/test_site_member_adapter.py), and the outbox's scheduler hook."""

import pathlib
import re
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from messaging.identity import adapter as adapter_module
from messaging.identity.adapter import DefaultMemberAdapter, MemberAdapter, get_member_adapter
from messaging.identity.grants import check_member_token
from messaging.identity.member_token import TokenReason
from messaging.models import MemberIdentity
from messaging.outbox import schedule

pytestmark = pytest.mark.django_db


def test_the_default_adapter_gives_a_plain_user_a_stable_public_id_that_is_not_the_key(alice):
    adapter = get_member_adapter()
    assert isinstance(adapter, DefaultMemberAdapter)
    assert not MemberIdentity.objects.exists()
    first = adapter.member_for_user(alice)  # made on first use
    assert MemberIdentity.objects.get(user=alice).public_id == uuid.UUID(first.public_id)
    assert first.public_id != str(alice.pk) and first.level == ""
    alice.refresh_from_db()
    assert adapter.member_for_user(alice).public_id == first.public_id
    assert adapter.member_for_public_id(first.public_id).user_id == alice.pk
    assert adapter.member_for_public_id("garbage") is None
    alice.is_active = False
    alice.save()
    assert adapter.member_for_public_id(first.public_id) is None


def test_the_default_adapter_knows_no_anonymous_member_and_cards_a_user_by_name(alice, make_member):
    from django.contrib.auth.models import AnonymousUser

    adapter = get_member_adapter()
    assert adapter.member_for_user(None) is None and adapter.member_for_user(AnonymousUser()) is None
    assert adapter.member_attributes(adapter.member_for_user(alice)) == {}
    card = adapter.member_profile(adapter.member_for_user(alice))
    assert (card.name, card.member_since, card.level_description, card.level_changes) == (
        "Alice Anders",
        alice.date_joined,
        "",
        (),
    )
    nameless = make_member("nameless")
    assert adapter.member_profile(adapter.member_for_user(nameless)).name == "nameless"


def test_a_token_checks_out_with_the_default_adapter_in_one_query(alice, member_token, django_assert_num_queries):
    token = member_token(alice)
    with django_assert_num_queries(1):
        check = check_member_token(token)
    assert check.reason is TokenReason.VERIFIED and check.member.user_id == alice.pk


def test_an_adapter_that_is_not_a_member_adapter_is_refused(settings):
    settings.GENESYS_MEMBER_ADAPTER = "builtins.object"
    with pytest.raises(TypeError, match="MemberAdapter"):
        get_member_adapter()
    assert issubclass(DefaultMemberAdapter, MemberAdapter)
    assert adapter_module.MemberAdapter().member_attributes is not None


def test_without_a_scheduler_the_outbox_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(schedule, "_scheduler", schedule._Unset())
    with pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"):
        schedule.schedule_delivery(1)
    assert schedule.conversations_with_queued_delivery([1]) == set()


def test_only_records_changes_the_state_of_a_push():
    root = pathlib.Path(__file__).resolve().parents[3] / "messaging"
    # An UPDATE naming a state, or an assignment to a push's state before a save.
    writes = re.compile(r"\.update\([^)]*\bstate\s*=|\bpush\.state\s*=")
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "migrations" not in path.parts and path.name != "records.py" and writes.search(path.read_text())
    ]
    assert offenders == []
    assert writes.search((root / "outbox" / "records.py").read_text())  # the pattern does find them
