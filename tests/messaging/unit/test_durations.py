"""Durations in words on the health page."""

import pytest

from messaging.monitoring.durations import in_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 seconds"),
        (-3, "0 seconds"),
        (0.35, "350 ms"),
        (1, "1 second"),
        (59.9, "59 seconds"),
        (61, "1 minute 1 second"),
        (3600, "1 hour"),
        (86161, "23 hours 56 minutes"),  # a fresh Genesys token: never "86161 s"
        (90061, "1 day 1 hour"),
        (2 * 86400 + 59, "2 days"),
    ],
)
def test_in_words(seconds, words):
    assert in_words(seconds) == words
