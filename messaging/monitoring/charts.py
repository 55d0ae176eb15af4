"""Bar charts drawn on the server as inline SVG: no script, no CDN, nothing the site's CSP refuses.

Colours are SVG presentation attributes (fill, stroke), which are not CSS and so not inline styles; the page's
static stylesheet may refine them. Every bar carries a <title> (a tooltip without JavaScript) and the page shows
the same numbers in a table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 22, 26  # TOP leaves room for the legend above the bars


@dataclasses.dataclass(frozen=True)
class Series:
    name: str  # also the bars' CSS class
    colour: str  # an SVG colour (presentation attribute)
    values: Sequence[int]


def _nice_max(value: int) -> int:
    """The smallest 1/2/5 x 10^n at or above value (at least 1), so the axis reads in round numbers."""
    if value <= 1:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def grouped_bars(labels: Sequence[str], series: Sequence[Series], *, title: str, label_every: int = 1) -> SafeString:
    """One group of bars per label (one bar per series), a y axis from 0 to a round maximum, and every
    `label_every`-th label under the x axis. Returns safe markup: every text is escaped."""
    top = _nice_max(max((value for one in series for value in one.values), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(1, len(labels))
    bar_w = max(1.0, (group_w * 0.8) / max(1, len(series)))
    parts: list[str] = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            format_html(
                '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d0d7de" stroke-width="1"/>'
                '<text class="axis" x="{}" y="{}" text-anchor="end" font-size="11" fill="#57606a">{}</text>',
                LEFT,
                _px(y),
                WIDTH - RIGHT,
                _px(y),
                LEFT - 6,
                _px(y + 4),
                _number(top * fraction),
            )
        )
    for index, label in enumerate(labels):
        x0 = LEFT + group_w * index + group_w * 0.1
        for position, one in enumerate(series):
            value = one.values[index]
            height = plot_h * value / top
            parts.append(
                format_html(
                    '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}" fill="{}" '
                    'data-value="{}"><title>{}: {} {}</title></rect>',
                    one.name,
                    _px(x0 + bar_w * position),
                    _px(TOP + plot_h - height),
                    _px(bar_w),
                    _px(height),
                    one.colour,
                    value,
                    label,
                    value,
                    one.name,
                )
            )
        if index % label_every == 0:
            parts.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="middle" font-size="11" fill="#57606a">{}</text>',
                    _px(LEFT + group_w * (index + 0.5)),
                    HEIGHT - 8,
                    label,
                )
            )
    legend = format_html_join(
        "",
        '<rect x="{}" y="2" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="11" font-size="11" fill="#24292f">{}</text>',
        (
            (WIDTH - RIGHT - 170 + 90 * i, one.colour, WIDTH - RIGHT - 156 + 90 * i, one.name)
            for i, one in enumerate(series)
        ),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}{}'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#57606a" stroke-width="1"/></svg>',
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        title,
        mark_safe("".join(parts)),  # noqa: S308 - each part was built by format_html above
        legend,
        LEFT,
        TOP + plot_h,
        WIDTH - RIGHT,
        TOP + plot_h,
    )


def _number(value: float) -> str:
    return f"{value:g}"


def _px(value: float) -> str:
    # format_html escapes its arguments to strings first, so numbers are formatted here.
    return f"{value:.1f}"
