"""Reactions to other apps' signals."""

from django.dispatch import receiver

from accounts.models import MemberProfile
from accounts.signals import member_level_changed

from . import services


@receiver(member_level_changed, dispatch_uid="messaging.repush_on_level_change")
def repush_on_level_change(sender, profile: MemberProfile, old_level_id: int | None = None, **kwargs) -> None:
    """The member's open conversations get a new version with the new level, through the outbox. The signal
    comes after the admin's transaction committed, so the worker reads the new level."""
    services.repush_member(profile=profile)
