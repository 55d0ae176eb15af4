"""Public reads other apps may call (the outbox's own reads: outbox/selectors.py)."""

from collections.abc import Iterable

from .outbox.selectors import open_links_for_members


def open_conversation_count(*, user_ids: Iterable[int]) -> int:
    """How many open conversations these members have: what a change of their attributes would re-push."""
    return open_links_for_members(user_ids).count()
