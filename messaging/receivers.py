"""Reactions to Django's own signals (a host site tells messaging about level changes through services.py)."""

from django.contrib.auth.signals import user_logged_out
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import messenger
from .identity import grants


@receiver(user_logged_out, dispatch_uid="messaging.revoke_member_token_grant")
def revoke_grant_on_logout(sender, request=None, user=None, **kwargs) -> None:
    """Sign-out kills the member tokens of the session (logout() sends this before it flushes the session)."""
    grants.revoke_session_grant(getattr(request, "session", None))


@receiver(setting_changed, dispatch_uid="messaging.forget_precomputed_messenger")
def forget_precomputed_messenger(sender, setting=None, **kwargs) -> None:
    """The page's precomputed Messenger parts follow a changed setting (tests override settings per test)."""
    if setting and (setting.startswith("GENESYS_") or setting in {"STATIC_URL", "STORAGES", "ROOT_URLCONF"}):
        messenger.forget_precomputed()
