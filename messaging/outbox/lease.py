"""A conversation's delivery lease: whoever holds it is the only one talking to Genesys about it.

Claimed, renewed and released with conditional UPDATEs on the ConversationLink row (the same on SQLite and
PostgreSQL); an expired lease is free.

The two statements every inline delivery runs (the check before the PATCH, the release after it) are written as
SQL, built once per database vendor: Django compiles an ORM statement anew on every call, and for the check's
UPDATE with two EXISTS that took 1.9 ms against 0.46 ms to run it (BENCHMARKS.md). The SQL is what the ORM
generated for the same filters; tests/unit/test_outbox.py runs both on SQLite and CI on PostgreSQL.
"""

import datetime
import functools
import secrets

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone

from ..app_settings import app_settings
from ..models import AttributePush, ConversationLink, PushState
from .states import OPEN_STATES


def new_token() -> str:
    return secrets.token_hex(16)


def lease_end(now: datetime.datetime) -> datetime.datetime:
    """When a lease taken (or renewed) `now` expires."""
    return now + datetime.timedelta(seconds=app_settings.PUSH_LEASE)


def is_free(link: ConversationLink, now: datetime.datetime) -> bool:
    """Whether the lease of a link row read under its lock (select_for_update) may be taken."""
    return link.lease_until is None or link.lease_until < now


def claim(link_id: int) -> str | None:
    """Take the conversation's delivery lease if it is free or expired; the lease token, or None."""
    now = timezone.now()
    token = new_token()
    claimed = (
        ConversationLink.objects.filter(pk=link_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease_end(now), lease_token=token)
    )
    return token if claimed else None


def renew(link_id: int, token: str, *, participant_id: str = "", until: datetime.datetime | None = None) -> bool:
    """Extend the lease (by PUSH_LEASE, or to `until`) and remember a customer participant just found; False
    when the lease is no longer ours."""
    lease_until = until or lease_end(timezone.now())
    changes: dict[str, str | datetime.datetime] = {"lease_until": lease_until}
    if participant_id:
        changes["participant_id"] = participant_id
    return bool(ConversationLink.objects.filter(pk=link_id, lease_token=token).update(**changes))


def renew_if_current(link_id: int, token: str, *, push_id: int, version: int, participant_id: str = "") -> bool:
    """Just before a PATCH, in one conditional UPDATE: renew the lease (and remember a participant just found)
    when it is still ours, the push still delivering and no newer version exists. False: one of those does not
    hold (the caller finds out which, the slow way)."""
    connection = _connection()
    until = connection.ops.adapt_datetimefield_value(lease_end(timezone.now()))
    changes = [until, participant_id] if participant_id else [until]
    params = [*changes, link_id, token, push_id, PushState.DELIVERING.value, link_id, version]
    return _run(connection, _renew_if_current_sql(connection.vendor, bool(participant_id)), params) > 0


def release_if_done(link_id: int, token: str) -> bool:
    """Give the lease back if it is ours and the conversation has no open push left (the success path: one
    lock, one conditional UPDATE). The link row is locked first, so a push recorded meanwhile (record_push holds
    the same lock) is committed and seen by the UPDATE's check. False: something is left (or the lease is gone);
    the caller takes the general next step. Run it in the caller's transaction."""
    connection = _connection()
    _run(connection, _lock_link_sql(connection.vendor), [link_id])
    open_states = [state.value for state in OPEN_STATES]
    return _run(connection, _release_if_done_sql(connection.vendor), [link_id, token, link_id, *open_states]) > 0


def release(link_id: int, token: str) -> None:
    """Give the lease back (only if it is still ours)."""
    ConversationLink.objects.filter(pk=link_id, lease_token=token).update(lease_until=None, lease_token="")


def seconds_left(link_id: int, *, now: datetime.datetime) -> float | None:
    """Seconds until the conversation's lease expires (0 when free), or None when there is no such link."""
    link = ConversationLink.objects.filter(pk=link_id).values("lease_until").first()
    if link is None:
        return None
    return max((link["lease_until"] - now).total_seconds(), 0.0) if link["lease_until"] else 0.0


# --- the statements written as SQL (see the module's docstring). Identifiers come from the models' metadata,
# quoted by the database's own rules; every value is a parameter. ---
def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(ConversationLink)]


def _run(connection: BaseDatabaseWrapper, sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _names(vendor: str) -> dict[str, str]:
    quote = _connection().ops.quote_name
    link, push = ConversationLink._meta, AttributePush._meta
    return {
        "link": quote(link.db_table),
        "link_id": quote(link.pk.column),
        "lease_until": quote(link.get_field("lease_until").column),
        "lease_token": quote(link.get_field("lease_token").column),
        "participant_id": quote(link.get_field("participant_id").column),
        "push": quote(push.db_table),
        "push_id": quote(push.pk.column),
        "conversation": quote(push.get_field("conversation").column),
        "state": quote(push.get_field("state").column),
        "version": quote(push.get_field("version").column),
    }


@functools.cache
def _renew_if_current_sql(vendor: str, with_participant: bool) -> str:
    n = _names(vendor)
    changes = f"{n['lease_until']} = %s" + (f", {n['participant_id']} = %s" if with_participant else "")
    ours = f"{n['link_id']} = %s AND {n['lease_token']} = %s"
    delivering = f"SELECT 1 FROM {n['push']} WHERE {n['push_id']} = %s AND {n['state']} = %s"  # noqa: S608
    newer = f"SELECT 1 FROM {n['push']} WHERE {n['conversation']} = %s AND {n['version']} > %s"  # noqa: S608
    where = f"{ours} AND EXISTS ({delivering}) AND NOT EXISTS ({newer})"
    return f"UPDATE {n['link']} SET {changes} WHERE {where}"  # noqa: S608


@functools.cache
def _lock_link_sql(vendor: str) -> str:
    n = _names(vendor)
    # As select_for_update(): a row lock where the database has one (SQLite locks the whole file on write).
    lock = " FOR UPDATE" if _connection().features.has_select_for_update else ""
    return f"SELECT {n['link_id']} FROM {n['link']} WHERE {n['link_id']} = %s{lock}"  # noqa: S608


@functools.cache
def _release_if_done_sql(vendor: str) -> str:
    n = _names(vendor)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    ours = f"{n['link_id']} = %s AND {n['lease_token']} = %s"
    still_open = f"SELECT 1 FROM {n['push']} WHERE {n['conversation']} = %s AND {n['state']} IN ({states})"  # noqa: S608
    changes = f"{n['lease_until']} = NULL, {n['lease_token']} = ''"
    return f"UPDATE {n['link']} SET {changes} WHERE {ours} AND NOT EXISTS ({still_open})"  # noqa: S608
