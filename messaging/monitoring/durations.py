"""Durations in words for the health page ("2 hours 5 minutes", "350 ms"): people read these, not seconds."""

from __future__ import annotations

from django.utils.translation import ngettext

_UNITS = (
    (86400, lambda n: ngettext("%d day", "%d days", n)),
    (3600, lambda n: ngettext("%d hour", "%d hours", n)),
    (60, lambda n: ngettext("%d minute", "%d minutes", n)),
    (1, lambda n: ngettext("%d second", "%d seconds", n)),
)


def in_words(seconds: float) -> str:
    """The largest unit and, when not zero, the next one, rounded down ("1 day 3 hours", "4 minutes 10 seconds",
    "2 hours"); under a second, milliseconds ("350 ms"); zero or less reads "0 seconds"."""
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    remaining = max(0, int(seconds))
    for index, (size, words) in enumerate(_UNITS):
        if remaining < size and size > 1:
            continue
        count, rest = divmod(remaining, size)
        text = words(count) % count
        if index + 1 < len(_UNITS):
            next_size, next_words = _UNITS[index + 1]
            if rest // next_size:
                text += " " + next_words(rest // next_size) % (rest // next_size)
        return text
    raise AssertionError("unreachable: the last unit is one second")
