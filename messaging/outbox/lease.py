"""A conversation's delivery lease: whoever holds it is the only one talking to Genesys about it.

Claimed, renewed and released with conditional UPDATEs on the ConversationLink row (portable across Django's
databases); an expired lease is free. Its owner is a random id made by whoever claimed it (stored in the row's
`lease_owner` column): every renew and release names the owner, so only the holder can extend or end it.
"""

import datetime
import secrets

from django.db.models import Exists, Q
from django.utils import timezone

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink
from .states import OPEN_STATES, PushState


def new_owner() -> str:
    """A fresh owner id for a lease about to be claimed."""
    return secrets.token_hex(16)


def lease_end(now: datetime.datetime) -> datetime.datetime:
    """When a lease taken (or renewed) `now` expires."""
    return now + datetime.timedelta(seconds=app_settings.PUSH_LEASE)


def is_free(link: ConversationLink, now: datetime.datetime) -> bool:
    """Whether the lease of a link row read under its lock (select_for_update) may be taken."""
    return link.lease_until is None or link.lease_until < now


def claim(link_id: int) -> str | None:
    """Take the conversation's delivery lease if it is free or expired; the lease owner, or None."""
    now = timezone.now()
    owner = new_owner()
    claimed = (
        ConversationLink.objects.filter(pk=link_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease_end(now), lease_owner=owner)
    )
    return owner if claimed else None


def renew(link_id: int, owner: str, *, participant_id: str = "", until: datetime.datetime | None = None) -> bool:
    """Extend the lease (by PUSH_LEASE, or to `until`) and remember a customer participant just found; False
    when the lease is no longer ours."""
    lease_until = until or lease_end(timezone.now())
    changes: dict[str, str | datetime.datetime] = {"lease_until": lease_until}
    if participant_id:
        changes["participant_id"] = participant_id
    return bool(ConversationLink.objects.filter(pk=link_id, lease_owner=owner).update(**changes))


def renew_if_current(link_id: int, owner: str, *, push_id: int, version: int, participant_id: str = "") -> bool:
    """Just before a PATCH, in one conditional UPDATE: renew the lease (and remember a participant just found)
    when it is still ours, the push still delivering and no newer version exists. False: one of those does not
    hold (the caller finds out which, the slow way)."""
    changes: dict[str, str | datetime.datetime] = {"lease_until": lease_end(timezone.now())}
    if participant_id:
        changes["participant_id"] = participant_id
    delivering = AttributePush.objects.filter(pk=push_id, state=PushState.DELIVERING)
    newer = AttributePush.objects.filter(conversation_id=link_id, version__gt=version)
    ours = ConversationLink.objects.filter(pk=link_id, lease_owner=owner)
    return bool(ours.filter(Exists(delivering), ~Exists(newer)).update(**changes))


def release_if_done(link_id: int, owner: str) -> bool:
    """Give the lease back if it is ours and the conversation has no open push left (the success path: one
    lock, one conditional UPDATE). The link row is locked first, so a push recorded meanwhile (record_push holds
    the same lock) is committed and seen by the UPDATE's check. False: something is left (or the lease is gone);
    the caller takes the general next step. Run it in the caller's transaction."""
    list(ConversationLink.objects.select_for_update().filter(pk=link_id).order_by().values_list("pk"))
    still_open = AttributePush.objects.filter(conversation_id=link_id, state__in=OPEN_STATES)
    ours = ConversationLink.objects.filter(pk=link_id, lease_owner=owner)
    return bool(ours.filter(~Exists(still_open)).update(lease_until=None, lease_owner=""))


def release(link_id: int, owner: str) -> None:
    """Give the lease back (only if it is still ours)."""
    ConversationLink.objects.filter(pk=link_id, lease_owner=owner).update(lease_until=None, lease_owner="")


def seconds_left(link_id: int, *, now: datetime.datetime) -> float | None:
    """Seconds until the conversation's lease expires (0 when free), or None when there is no such link."""
    link = ConversationLink.objects.filter(pk=link_id).values("lease_until").first()
    if link is None:
        return None
    return max((link["lease_until"] - now).total_seconds(), 0.0) if link["lease_until"] else 0.0
