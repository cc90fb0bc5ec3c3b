"""Inline SVG charts: no JavaScript, no chart library, readable when printed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from templates import say, text


def bars_per_day(points: Sequence[tuple[date, int]], *, width: int = 760, height: int = 200,
                 today: date | None = None) -> str:
    """A bar per day (count above it), with a date label every few days; today's bar in a darker colour."""
    if not points:
        return f'<p class="muted">{text("staff.chart.empty")}</p>'
    top = max(1, max(n for _, n in points))
    left, bottom, pad_top = 8, 28, 18
    slot = (width - left * 2) / len(points)
    bar = max(2.0, slot * 0.72)
    scale = (height - bottom - pad_top) / top
    label_every = max(1, round(len(points) / 12))
    parts = [(f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
              f'aria-label="{text("staff.chart.label")}" xmlns="http://www.w3.org/2000/svg">'),
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" class="axis"/>']
    for i, (day, n) in enumerate(points):
        x = left + i * slot + (slot - bar) / 2
        h = n * scale
        y = height - bottom - h
        cls = "bar today" if day == today else ("bar future" if today is not None and day > today else "bar")
        if day == today:
            parts.append(f'<line x1="{x + bar / 2:.1f}" y1="{pad_top - 6}" x2="{x + bar / 2:.1f}" '
                         f'y2="{height - bottom}" class="now"/><text x="{x + bar / 2:.1f}" y="{pad_top - 8}" '
                         f'class="count">{text("staff.chart.today")}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" class="{cls}">'
                     f'<title>{say("staff.chart.bar", day=day, count=n)}</title></rect>')
        if n:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" class="count">{n}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" class="day">{escape(f"{day:%m-%d}")}</text>')
    parts.append("</svg>")
    return "".join(parts)
