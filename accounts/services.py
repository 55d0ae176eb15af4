"""Writes about members and levels."""

from collections.abc import Iterable

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from messaging.services import repush_member

from .models import LevelChange, MemberProfile, MembershipLevel
from .selectors import default_level

Via = LevelChange.Via


def ensure_member_profile(*, user: User) -> MemberProfile:
    """The user's profile, created with the default level if it is missing."""
    profile, _ = MemberProfile.objects.get_or_create(user=user, defaults={"level": default_level()})
    return profile


def record_level_change(
    *,
    profile: MemberProfile,
    from_level_id: int | None,
    via: LevelChange.Via,
    actor: User | AnonymousUser | None = None,
) -> LevelChange:
    """Write one row of the member's level history: from `from_level_id` to the profile's current level."""
    from_level = MembershipLevel.objects.filter(pk=from_level_id).first() if from_level_id else None
    return LevelChange.objects.create(
        member_id=profile.user_id,
        from_level=from_level,
        to_level=profile.level,
        from_level_name=from_level.name if from_level else "",
        to_level_name=profile.level.name if profile.level else "",
        changed_by=actor if actor is not None and actor.is_authenticated else None,
        via=via,
    )


def repush_after_commit(profile: MemberProfile) -> None:
    """Once the transaction that changed the member's level commits, messaging re-pushes their open
    conversations (the delivery then reads the committed level)."""
    user = profile.user
    transaction.on_commit(lambda: repush_member(user=user))


@transaction.atomic
def save_member_profile(
    *,
    profile: MemberProfile,
    via: LevelChange.Via,
    actor: User | AnonymousUser | None = None,
    update_fields: Iterable[str] | None = None,
) -> LevelChange | None:
    """Save the profile as it is in memory; when its level differs from the stored one, the change is recorded
    under `via` and `actor`, the member's open conversations re-pushed after commit, and the change returned
    (None when the level did not change or the profile is new)."""
    from_level_id = profile.stored_level_id
    changed = profile.pk is not None and from_level_id != profile.level_id
    # Tells the safety net in signals.py that this change is recorded and re-pushed here.
    profile._level_change_attributed = changed
    profile.save(update_fields=update_fields)
    if not changed:
        return None
    repush_after_commit(profile)
    return record_level_change(profile=profile, from_level_id=from_level_id, via=via, actor=actor)


def change_member_level(
    *,
    profile: MemberProfile,
    level: MembershipLevel | None,
    via: LevelChange.Via,
    actor: User | AnonymousUser | None = None,
) -> LevelChange | None:
    """Move the member to `level`, recording the change (None when they were there already)."""
    profile.level = level
    if profile.stored_level_id == profile.level_id:
        return None
    return save_member_profile(profile=profile, via=via, actor=actor, update_fields=["level", "updated_at"])


@transaction.atomic
def move_members_to_level(
    *, users: Iterable[User], level: MembershipLevel, actor: User | AnonymousUser | None = None
) -> int:
    """Set each user's level and return how many changed.

    Profiles are saved one by one, each through save_member_profile (its history row and re-push); every
    change is written to the member's level history and to the admin history under the actor.
    """
    changed = 0
    for user in users:
        profile = ensure_member_profile(user=user)
        old_level = profile.level
        if change_member_level(profile=profile, level=level, via=Via.BULK_ACTION, actor=actor) is None:
            continue
        changed += 1
        if actor is not None and actor.is_authenticated:
            _log_admin_change(
                actor=actor, obj=user, message=f"Changed membership level from {old_level or 'none'} to {level}."
            )
    return changed


def _log_admin_change(*, actor: User, obj: Model, message: str) -> LogEntry:
    """One row of the admin's history, as the admin writes its own, created from LogEntry's fields: the manager's
    helpers serve one Django each (log_action is deprecated from 5.1, log_actions is new in 5.1)."""
    return LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        action_flag=CHANGE,
        change_message=message,
    )


def update_member_details(*, user: User, first_name: str, last_name: str, email: str) -> None:
    """The member's own edit of their name and email (never their level)."""
    user.first_name = first_name
    user.last_name = last_name
    user.email = email
    user.save(update_fields=["first_name", "last_name", "email"])
