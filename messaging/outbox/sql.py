"""The statements every data action runs, written as SQL once per database.

Django builds and compiles an ORM statement anew on every call. For these few statements that cost more than the
database did: the pre-PATCH check's UPDATE with two EXISTS compiled in 1.9 ms and ran in 0.46 ms; the link's
SELECT ... FOR UPDATE compiled in 0.45 ms (BENCHMARKS.md). Each is the statement the ORM generated for the same
filters. Identifiers come from the models' metadata, quoted by the database's own rules; every value is a
parameter, prepared by its field as the ORM would. tests/unit/test_outbox.py runs them on SQLite, CI also on
PostgreSQL. The callers (lease.py, records.py, verification.py) state what each one guarantees.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

from ..models import AttributePush, ConversationLink, MemberTokenUse, PushState
from .states import OPEN_STATES


def renew_if_current(
    link_id: int, token: str, *, until: datetime.datetime, push_id: int, version: int, participant_id: str
) -> int:
    """UPDATE the link's lease_until (and participant_id, when given) where the lease is `token`, push `push_id`
    is delivering and no version above `version` exists. Rows changed (0 or 1)."""
    connection = _connection()
    changes = [connection.ops.adapt_datetimefield_value(until), *([participant_id] if participant_id else [])]
    params = [*changes, link_id, token, push_id, PushState.DELIVERING.value, link_id, version]
    return _run(connection, _renew_if_current_sql(connection.vendor, bool(participant_id)), params)


def release_if_done(link_id: int, token: str) -> int:
    """Lock the link row, then clear its lease where it is `token` and no push of the conversation is open. Rows
    changed (0 or 1). In the caller's transaction."""
    connection = _connection()
    _run(connection, _lock_link_sql(connection.vendor, "id"), [link_id])
    open_states = [state.value for state in OPEN_STATES]
    return _run(connection, _release_if_done_sql(connection.vendor), [link_id, token, link_id, *open_states])


def locked_link(conversation_id: uuid.UUID) -> ConversationLink | None:
    """The conversation's link row, locked (SELECT ... FOR UPDATE where the database has row locks), or None. In
    the caller's transaction."""
    connection = _connection()
    value = ConversationLink._meta.get_field("conversation_id").get_db_prep_value(conversation_id, connection)
    rows = ConversationLink.objects.raw(_lock_link_sql(connection.vendor, "conversation_id"), [value])
    return next(iter(rows), None)


def update_row(model: type[models.Model], pk: int, changes: dict[str, Any], *, state: str | None = None) -> int:
    """UPDATE one row of `model` by primary key, and given `state` only while its state column holds it: each
    field in `changes` (by name or attname) set to its value, prepared by the field as QuerySet.update prepares
    it. Rows changed (0 or 1). Like QuerySet.update, it sets no auto_now field on its own."""
    connection = _connection()
    meta = model._meta
    params = [meta.get_field(name).get_db_prep_save(value, connection) for name, value in changes.items()]
    params.append(meta.pk.get_db_prep_value(pk, connection))
    if state is not None:
        params.append(str(state))
    return _run(connection, _update_row_sql(connection.vendor, model, tuple(changes), state is not None), params)


def latest_push(link_id: int) -> AttributePush | None:
    """The conversation's push with the highest version, or None. In the caller's transaction."""
    return next(iter(AttributePush.objects.raw(_latest_push_sql(_connection().vendor), [link_id])), None)


def insert_link(link: ConversationLink) -> bool:
    """INSERT the unsaved link unless its conversation has one already (ON CONFLICT DO NOTHING, RETURNING its
    id): True when this statement inserted it, its id and auto_now fields then set on `link`, and the new row
    locked by the caller's transaction until it ends, like the row SELECT ... FOR UPDATE locks."""
    connection = _connection()
    params = [field.get_db_prep_save(field.pre_save(link, add=True), connection) for field in _link_insert_fields()]
    with connection.cursor() as cursor:
        cursor.execute(_insert_link_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return False
    link.pk = row[0]
    link._state.adding, link._state.db = False, connection.alias
    return True


def token_use_conversation(digest: str) -> uuid.UUID | None:
    """The conversation the token with this digest verified, or None."""
    connection = _connection()
    with connection.cursor() as cursor:
        cursor.execute(_token_use_conversation_sql(connection.vendor), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    # Converted as the ORM converts the column (SQLite stores a UUID as 32 hex digits).
    column = MemberTokenUse._meta.get_field("conversation_id").get_col(MemberTokenUse._meta.db_table)
    value = row[0]
    for converter in [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]:
        value = converter(value, column, connection)
    return value


def insert_token_use(digest: str, conversation_id: uuid.UUID, *, used_at: datetime.datetime) -> bool:
    """INSERT the token's use unless its digest is recorded already (ON CONFLICT DO NOTHING: no error, so no
    savepoint in the caller's transaction). Whether this statement inserted it."""
    connection = _connection()
    meta = MemberTokenUse._meta
    params = [
        digest,
        meta.get_field("conversation_id").get_db_prep_save(conversation_id, connection),
        meta.get_field("used_at").get_db_prep_save(used_at, connection),
    ]
    return _run(connection, _insert_token_use_sql(connection.vendor), params) == 1


# --- building and running them ---
def _connection() -> BaseDatabaseWrapper:
    return connections[router.db_for_write(ConversationLink)]


def _run(connection: BaseDatabaseWrapper, sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _link_insert_fields() -> list[models.Field]:
    """The link's fields an INSERT sets (all but its id), in the order of both the statement and its values."""
    return [field for field in ConversationLink._meta.concrete_fields if not field.primary_key]


def _names(vendor: str) -> dict[str, str]:
    quote = _connection().ops.quote_name
    link, push, use = ConversationLink._meta, AttributePush._meta, MemberTokenUse._meta
    return {
        "link": quote(link.db_table),
        "link_columns": ", ".join(quote(field.column) for field in link.concrete_fields),
        "link_insert_columns": ", ".join(quote(field.column) for field in _link_insert_fields()),
        "id": quote(link.pk.column),
        "conversation_id": quote(link.get_field("conversation_id").column),
        "lease_until": quote(link.get_field("lease_until").column),
        "lease_token": quote(link.get_field("lease_token").column),
        "participant_id": quote(link.get_field("participant_id").column),
        "push": quote(push.db_table),
        "push_id": quote(push.pk.column),
        "conversation": quote(push.get_field("conversation").column),
        "state": quote(push.get_field("state").column),
        "version": quote(push.get_field("version").column),
        "push_columns": ", ".join(quote(field.column) for field in push.concrete_fields),
        "token_use": quote(use.db_table),
        "token_digest": quote(use.get_field("token_digest").column),
        "token_conversation": quote(use.get_field("conversation_id").column),
        "token_used_at": quote(use.get_field("used_at").column),
    }


@functools.cache
def _renew_if_current_sql(vendor: str, with_participant: bool) -> str:
    n = _names(vendor)
    changes = f"{n['lease_until']} = %s" + (f", {n['participant_id']} = %s" if with_participant else "")
    ours = f"{n['id']} = %s AND {n['lease_token']} = %s"
    delivering = f"SELECT 1 FROM {n['push']} WHERE {n['push_id']} = %s AND {n['state']} = %s"  # noqa: S608
    newer = f"SELECT 1 FROM {n['push']} WHERE {n['conversation']} = %s AND {n['version']} > %s"  # noqa: S608
    where = f"{ours} AND EXISTS ({delivering}) AND NOT EXISTS ({newer})"
    return f"UPDATE {n['link']} SET {changes} WHERE {where}"  # noqa: S608


@functools.cache
def _lock_link_sql(vendor: str, by: str) -> str:
    """The link row by `id` (its id only) or by `conversation_id` (every column, for a model instance)."""
    n = _names(vendor)
    columns = n["id"] if by == "id" else n["link_columns"]
    # As select_for_update(): a row lock where the database has one (SQLite locks the whole file on write).
    lock = " FOR UPDATE" if _connection().features.has_select_for_update else ""
    return f"SELECT {columns} FROM {n['link']} WHERE {n[by]} = %s{lock}"  # noqa: S608


@functools.cache
def _release_if_done_sql(vendor: str) -> str:
    n = _names(vendor)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    ours = f"{n['id']} = %s AND {n['lease_token']} = %s"
    still_open = f"SELECT 1 FROM {n['push']} WHERE {n['conversation']} = %s AND {n['state']} IN ({states})"  # noqa: S608
    changes = f"{n['lease_until']} = NULL, {n['lease_token']} = ''"
    return f"UPDATE {n['link']} SET {changes} WHERE {ours} AND NOT EXISTS ({still_open})"  # noqa: S608


@functools.cache
def _update_row_sql(vendor: str, model: type[models.Model], fields: tuple[str, ...], in_state: bool) -> str:
    quote = _connection().ops.quote_name
    meta = model._meta
    changes = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in fields)
    where = f"{quote(meta.pk.column)} = %s" + (f" AND {quote(meta.get_field('state').column)} = %s" if in_state else "")
    return f"UPDATE {quote(meta.db_table)} SET {changes} WHERE {where}"  # noqa: S608


@functools.cache
def _insert_token_use_sql(vendor: str) -> str:
    n = _names(vendor)
    columns = f"{n['token_digest']}, {n['token_conversation']}, {n['token_used_at']}"
    return (
        f"INSERT INTO {n['token_use']} ({columns}) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT ({n['token_digest']}) DO NOTHING"
    )


@functools.cache
def _insert_link_sql(vendor: str) -> str:
    n = _names(vendor)
    values = ", ".join(["%s"] * len(_link_insert_fields()))
    return (
        f"INSERT INTO {n['link']} ({n['link_insert_columns']}) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT ({n['conversation_id']}) DO NOTHING RETURNING {n['id']}"
    )


@functools.cache
def _latest_push_sql(vendor: str) -> str:
    n = _names(vendor)
    return (
        f"SELECT {n['push_columns']} FROM {n['push']} WHERE {n['conversation']} = %s "  # noqa: S608
        f"ORDER BY {n['version']} DESC LIMIT 1"
    )


@functools.cache
def _token_use_conversation_sql(vendor: str) -> str:
    n = _names(vendor)
    return f"SELECT {n['token_conversation']} FROM {n['token_use']} WHERE {n['token_digest']} = %s"  # noqa: S608
