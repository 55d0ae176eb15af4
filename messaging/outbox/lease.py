"""A conversation's delivery lease: whoever holds it is the only one talking to Genesys about it.

Claimed, renewed and released with conditional UPDATEs on the ConversationLink row (the same on SQLite and
PostgreSQL); an expired lease is free.
"""

import datetime
import secrets

from django.db.models import Q
from django.utils import timezone

from ..app_settings import app_settings
from ..models import ConversationLink


def claim(link_id: int) -> str | None:
    """Take the conversation's delivery lease if it is free or expired; the lease token, or None."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        ConversationLink.objects.filter(pk=link_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + datetime.timedelta(seconds=app_settings.PUSH_LEASE), lease_token=token)
    )
    return token if claimed else None


def renew(link_id: int, token: str, *, participant_id: str = "", until: datetime.datetime | None = None) -> bool:
    """Extend the lease (by PUSH_LEASE, or to `until`) and remember a customer participant just found; False
    when the lease is no longer ours."""
    lease_until = until or timezone.now() + datetime.timedelta(seconds=app_settings.PUSH_LEASE)
    changes: dict[str, str | datetime.datetime] = {"lease_until": lease_until}
    if participant_id:
        changes["participant_id"] = participant_id
    return bool(ConversationLink.objects.filter(pk=link_id, lease_token=token).update(**changes))


def release(link_id: int, token: str) -> None:
    """Give the lease back (only if it is still ours)."""
    ConversationLink.objects.filter(pk=link_id, lease_token=token).update(lease_until=None, lease_token="")


def seconds_left(link_id: int, *, now: datetime.datetime) -> float | None:
    """Seconds until the conversation's lease expires (0 when free), or None when there is no such link."""
    link = ConversationLink.objects.filter(pk=link_id).values("lease_until").first()
    if link is None:
        return None
    return max((link["lease_until"] - now).total_seconds(), 0.0) if link["lease_until"] else 0.0
