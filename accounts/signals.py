"""Profile creation, the safety net for a level change no service made (a plain `profile.save()` in a shell or
another app; tests/integration/test_level_history.py): its history row and its re-push, so no path changes a level
silently; the services (services.py) record and re-push their own changes directly. Sign-out also revokes the
member's OpenID Connect tokens."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from messaging.services import repush_members

from .models import LevelChange, MemberProfile, MembershipLevel


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.create_member_profile")
def create_member_profile(sender, instance, created, raw=False, **kwargs) -> None:
    """Every new user is a member, except a superuser: an operator is no member (no public id, no chat identity,
    no ID token) unless an admin gives them a profile."""
    if created and not raw and not instance.is_superuser:
        from .services import ensure_member_profile

        ensure_member_profile(user=instance)


@receiver(post_save, sender=MemberProfile, dispatch_uid="accounts.catch_unrecorded_level_change")
def catch_unrecorded_level_change(sender, instance: MemberProfile, created, raw=False, **kwargs) -> None:
    """A level changed by a save that no service made: recorded (via "other") and re-pushed after commit."""
    made_by_service = getattr(instance, "_level_change_attributed", False)
    instance._level_change_attributed = False
    if raw:
        return
    old_level_id = instance.stored_level_id
    # From now on the stored level is this one (also for a profile just created, so its next save compares).
    instance._loaded_level_id = instance.level_id
    if created or made_by_service or old_level_id == instance.level_id:
        return
    from .services import record_level_change, repush_after_commit

    record_level_change(profile=instance, from_level_id=old_level_id, via=LevelChange.Via.OTHER)
    repush_after_commit(instance)


@receiver(post_save, sender=MembershipLevel, dispatch_uid="accounts.repush_on_level_rename")
def repush_on_level_rename(sender, instance: MembershipLevel, created, raw=False, **kwargs) -> None:
    """A renamed level changes what every member of it sends: once the rename committed, their open
    conversations get a new version, in batches through messaging's outbox."""
    old_name = instance.stored_name
    instance._loaded_name = instance.name
    if raw or created or old_name is None or old_name == instance.name:
        return
    level_id = instance.pk
    transaction.on_commit(
        lambda: repush_members(
            user_ids=MemberProfile.objects.filter(level_id=level_id).values_list("user_id", flat=True).iterator()
        )
    )
