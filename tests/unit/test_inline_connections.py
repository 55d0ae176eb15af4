"""The inline pool's threads keep their database connection between calls (no connection churn per verify)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from messaging.outbox import deadline


def _query_in_thread() -> object:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    return connections["default"]


@pytest.fixture
def closed(monkeypatch) -> list[BaseDatabaseWrapper]:
    """The connections closed during the test, in order (the backend's own close still runs)."""
    closed: list[BaseDatabaseWrapper] = []
    wrapper_class = type(connections["default"])  # the backend's own close (SQLite overrides it)
    real_close = wrapper_class.close
    monkeypatch.setattr(wrapper_class, "close", lambda self: (closed.append(self), real_close(self))[1])
    return closed


@pytest.mark.django_db
def test_a_pool_thread_keeps_its_connection_within_conn_max_age(monkeypatch, closed):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 60)
    with ThreadPoolExecutor(max_workers=1) as pool:  # one thread: both calls share it
        first = pool.submit(deadline._in_thread, _query_in_thread).result()
        second = pool.submit(deadline._in_thread, _query_in_thread).result()
        assert first is second
        assert closed == []  # before: closed after every call, reopened by the next
        deadline.close_inline_connections()
    assert closed == [first]


@pytest.mark.django_db
def test_a_pool_thread_still_drops_an_obsolete_connection(monkeypatch, closed):
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        used = pool.submit(deadline._in_thread, _query_in_thread).result()
    assert closed == [used]
