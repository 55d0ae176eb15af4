"""Writes about members and levels."""

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .models import MemberProfile, MembershipLevel
from .selectors import default_level


def ensure_member_profile(*, user: AbstractBaseUser) -> MemberProfile:
    """The user's profile, created with the default level if it is missing."""
    profile, _ = MemberProfile.objects.get_or_create(user=user, defaults={"level": default_level()})
    return profile


@transaction.atomic
def move_members_to_level(
    *, users: Iterable[AbstractBaseUser], level: MembershipLevel, actor: AbstractBaseUser | None = None
) -> int:
    """Set each user's level and return how many changed.

    Profiles are saved one by one so the level-change listeners (messaging's re-push) hear of each; every
    change is written to the admin history under the actor.
    """
    changed = 0
    for user in users:
        profile = ensure_member_profile(user=user)
        if profile.level_id == level.pk:
            continue
        old_level = profile.level
        profile.level = level
        profile.save(update_fields=["level", "updated_at"])
        changed += 1
        if actor is not None:
            LogEntry.objects.log_actions(
                user_id=actor.pk,
                queryset=[user],
                action_flag=CHANGE,
                change_message=f"Changed membership level from {old_level or 'none'} to {level}.",
                single_object=True,
            )
    return changed
