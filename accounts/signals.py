"""Profile creation and the level-change announcement other apps (messaging) listen to."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from .models import MemberProfile

# Sent after the transaction that changed a member's level commits. Arguments: profile, old_level_id.
member_level_changed = Signal()


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.create_member_profile")
def create_member_profile(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        from .services import ensure_member_profile

        ensure_member_profile(user=instance)


@receiver(post_save, sender=MemberProfile, dispatch_uid="accounts.announce_level_change")
def announce_level_change(sender, instance: MemberProfile, created, raw=False, **kwargs) -> None:
    if raw or created:
        return
    old_level_id = getattr(instance, "_loaded_level_id", instance.level_id)
    if old_level_id == instance.level_id:
        return
    instance._loaded_level_id = instance.level_id
    transaction.on_commit(
        lambda: member_level_changed.send(sender=MemberProfile, profile=instance, old_level_id=old_level_id)
    )
