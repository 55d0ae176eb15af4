"""Reactions to Django's own signals (a host site tells messaging about level changes through services.py)."""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from .identity import grants


@receiver(user_logged_out, dispatch_uid="messaging.revoke_member_token_grant")
def revoke_grant_on_logout(sender, request=None, user=None, **kwargs) -> None:
    """Sign-out kills the member tokens of the session (logout() sends this before it flushes the session)."""
    grants.revoke_session_grant(getattr(request, "session", None))
