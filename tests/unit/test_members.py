import pytest
from django.contrib.auth import get_user_model

from accounts.models import MembershipLevel
from accounts.signals import member_level_changed

pytestmark = pytest.mark.django_db


def test_new_user_gets_a_profile_with_the_lowest_rank(levels):
    user = get_user_model().objects.create_user("dora", password="x-Pass-12345")
    assert user.member_profile.level == levels["Bronze"]
    assert user.member_profile.member_id is not None


def test_new_user_without_any_level_gets_a_profile_without_level():
    user = get_user_model().objects.create_user("eve", password="x-Pass-12345")
    assert user.member_profile.level is None


def test_levels_order_by_rank_not_by_name(levels):
    levels["Bronze"].rank = 50
    levels["Bronze"].save()
    assert [level.name for level in MembershipLevel.objects.all()] == ["Silver", "Gold", "Platinum", "Bronze"]


def test_level_change_is_announced_after_commit(alice, levels, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, profile, old_level_id, **kwargs):
        heard.append((profile.user.username, old_level_id, profile.level_id))

    member_level_changed.connect(listener)
    try:
        profile = type(alice.member_profile).objects.get(user=alice)
        with django_capture_on_commit_callbacks(execute=True):
            profile.level = levels["Platinum"]
            profile.save()
        with django_capture_on_commit_callbacks(execute=True):
            profile.save()  # same level again: nothing to announce
    finally:
        member_level_changed.disconnect(listener)
    assert heard == [("alice", levels["Gold"].pk, levels["Platinum"].pk)]
