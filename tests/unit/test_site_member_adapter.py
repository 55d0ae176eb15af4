"""This site's members reach messaging through its MembershipMemberAdapter (accounts/adapter.py, named by
GENESYS_MEMBER_ADAPTER in config/settings.py): the public id is the profile's member_id, the level its name."""

import uuid

import pytest

from messaging.identity.adapter import get_member_adapter

pytestmark = pytest.mark.django_db


def test_the_site_configures_its_membership_adapter(alice):
    member = get_member_adapter().member_for_user(alice)
    assert type(get_member_adapter()).__name__ == "MembershipMemberAdapter"
    assert member.public_id == str(alice.member_profile.member_id) and member.level == "Gold"
    assert member.user_id == alice.pk and member.is_active and member.user.username == "alice"


def test_the_membership_adapter_finds_active_members_by_public_id_only(alice):
    found = get_member_adapter().member_for_public_id(str(alice.member_profile.member_id))
    assert found is not None and found.user_id == alice.pk
    assert get_member_adapter().member_for_public_id("not-a-uuid") is None
    assert get_member_adapter().member_for_public_id(str(uuid.uuid4())) is None
    alice.is_active = False
    alice.save()
    assert get_member_adapter().member_for_public_id(str(alice.member_profile.member_id)) is None


def test_the_member_card_shows_the_levels_description_and_its_last_changes(alice, levels):
    # What the agents' card shows of this site's members beyond messaging's default (name, member since).
    from accounts.models import LevelChange
    from accounts.services import change_member_level

    adapter = get_member_adapter()
    before = adapter.member_profile(adapter.member_for_user(alice))
    assert (before.name, before.level_description) == ("Alice Anders", "Gold members")
    change_member_level(profile=alice.member_profile, level=levels["Platinum"], via=LevelChange.Via.OTHER)
    alice.refresh_from_db()
    after = adapter.member_profile(adapter.member_for_user(alice))
    assert after.level_description == "Platinum members"
    assert [(c.from_level, c.to_level) for c in after.level_changes][0] == ("Gold", "Platinum")
