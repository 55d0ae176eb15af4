"""Reactions to other apps' signals."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.models import MemberProfile
from accounts.signals import member_level_changed

from . import services
from .identity import grants


@receiver(member_level_changed, dispatch_uid="messaging.repush_on_level_change")
def repush_on_level_change(sender, profile: MemberProfile, old_level_id: int | None = None, **kwargs) -> None:
    """The member's open conversations get a new version with the new level, through the outbox. The signal
    comes after the admin's transaction committed, so the worker reads the new level."""
    services.repush_member(profile=profile)


@receiver(user_logged_out, dispatch_uid="messaging.revoke_member_token_grant")
def revoke_grant_on_logout(sender, request=None, user=None, **kwargs) -> None:
    """Sign-out kills the member tokens of the session (logout() sends this before it flushes the session)."""
    grants.revoke_session_grant(getattr(request, "session", None))
