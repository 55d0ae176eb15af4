"""Notices to a member about changes to their account, sent to the address that can tell the owner (queued: the
request never waits for the mail server). Who gets which:

- email changed: the OLD address (the new one may be the thief's), naming the new one only partly;
- password changed (the member's form or a reset link): the account's address.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone

from .tasks import send_notice


def masked(email: str) -> str:
    """ "alice@example.com" -> "a***@example.com": enough for the owner to recognise, not to copy."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _context(user: User, **extra: str) -> dict[str, str]:
    return {
        "name": user.get_short_name() or user.get_username(),
        "username": user.get_username(),
        "when": timezone.now().strftime("%Y-%m-%d %H:%M UTC"),
        **extra,
    }


def email_changed(*, user: User, old_email: str) -> None:
    """Tell `old_email` that the account's address is now the user's current one."""
    if old_email:
        send_notice.enqueue(old_email, "email_changed", _context(user, new_email=masked(user.email)))


def password_changed(*, user: User) -> None:
    """Tell the account's address that its password was changed."""
    if user.email:
        send_notice.enqueue(user.email, "password_changed", _context(user))
