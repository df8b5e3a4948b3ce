"""Outcomes over time as server-rendered SVG: no chart library, no script, works offline.

`bucket_counts` is pure (rows in, counts out); `stacked_bars` draws them. Each (event, route)
counts once, by its current status, in the time bucket of its `received_at`: the same rows
and statuses `hookline events` lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

from hookline.operations.report import EventRow

# Known statuses first, in reading order; a status this console does not know yet (one a newer
# engine writes) is still counted and drawn, in grey, after these.
STATUS_ORDER = ("received", "retrying", "delivered", "dead", "stale", "held", "skipped", "unrouted")
STATUS_CLASS = {s: f"st-{s}" for s in STATUS_ORDER}

WINDOWS = {  # name -> (seconds, bucket seconds, tick label format)
    "1h": (3600, 300, "%H:%M"),
    "24h": (86400, 3600, "%H:%M"),
    "7d": (7 * 86400, 6 * 3600, "%a %Hh"),
}


@dataclass
class Buckets:
    start: float
    width: float
    counts: list[dict[str, int]]
    statuses: list[str]

    @property
    def peak(self) -> int:
        return max((sum(c.values()) for c in self.counts), default=0)

    def total(self, status: str) -> int:
        return sum(c.get(status, 0) for c in self.counts)


def bucket_counts(rows: Iterable[EventRow], now: float, window: str) -> Buckets:
    seconds, width, _ = WINDOWS[window]
    since = now - seconds
    # Whole buckets (a reload a minute later moves the bars, not their edges), from the one holding
    # `since` to the one holding `now`; rows before `since` stay out, as in `hookline report --since`.
    start = int(since) // width * width
    n = int(now - start) // width + 1
    counts: list[dict[str, int]] = [{} for _ in range(n)]
    seen: set[str] = set()
    for row in rows:
        if row.received_at is None or not since <= row.received_at <= now:
            continue
        i = int((row.received_at - start) // width)
        counts[i][row.status] = counts[i].get(row.status, 0) + 1
        seen.add(row.status)
    statuses = [s for s in STATUS_ORDER if s in seen] + sorted(seen - set(STATUS_ORDER))
    return Buckets(start=start, width=width, counts=counts, statuses=statuses)


def stacked_bars(b: Buckets, window: str, title: str, *, width: int = 520, height: int = 150) -> str:
    """One bar per time bucket, stacked by status, with a y-axis peak and time ticks (UTC)."""
    left, right, top, bottom = 34, 8, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(b.counts)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.8)
    peak = max(1, b.peak)
    fmt = WINDOWS[window][2]
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
             f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
             f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, count in enumerate(b.counts):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        at = b.start + i * b.width
        label = datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M")
        for status in b.statuses:
            value = count.get(status, 0)
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(f'<rect class="{STATUS_CLASS.get(status, "st-other")}" x="{x:.1f}" y="{y:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}" data-status="{escape(status)}" data-count="{value}">'
                         f'<title>{label} UTC: {value} {escape(status)}</title></rect>')
    for i in _ticks(n):
        at = b.start + i * b.width
        x = left + i * slot
        parts.append(f'<text class="tick" x="{x:.1f}" y="{height - 6}">'
                     f'{datetime.fromtimestamp(at, tz=UTC).strftime(fmt)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(n: int, wanted: int = 4) -> Sequence[int]:
    step = max(1, n // wanted)
    return range(0, n, step)
