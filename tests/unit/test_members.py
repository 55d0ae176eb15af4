import pytest
from django.contrib.auth import get_user_model

from accounts.models import MembershipLevel

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


def test_a_level_change_re_pushes_once_and_only_after_commit(
    alice, levels, django_capture_on_commit_callbacks, monkeypatch
):
    from accounts import services
    from accounts.models import LevelChange

    repushed = []
    monkeypatch.setattr(services, "repush_member", lambda *, user: repushed.append(user.username))
    profile = type(alice.member_profile).objects.get(user=alice)
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        services.change_member_level(profile=profile, level=levels["Platinum"], via=LevelChange.Via.ADMIN_FORM)
    assert repushed == []  # not before the commit
    for callback in waiting:
        callback()
    assert repushed == ["alice"]
    # A plain save outside the services (the safety net), and then the same level again: one more, then none.
    with django_capture_on_commit_callbacks(execute=True):
        profile.level = levels["Silver"]
        profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        profile.save()
    assert repushed == ["alice", "alice"]
