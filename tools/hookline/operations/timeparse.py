"""`--since` values and time display, shared by `dlq`, `events` and `report`.

A moment is written either relative to now (`90s`, `15m`, `2h`, `7d`, `1w`, meaning "that
long ago") or as ISO-8601 (`2026-11-27`, `2026-11-27T12:00`, `2026-11-27T12:00:00Z`,
`2026-11-27T12:00:00+01:00`; a time without an offset is UTC). Everything is epoch seconds
inside; humans see UTC ISO-8601.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import UTC, datetime

__all__ = ["argparse_since", "format_duration", "format_epoch", "parse_since"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
HELP = "a moment: relative like 15m, 2h, 7d, or ISO-8601 like 2026-11-27T12:00:00Z (UTC when no offset)"


def parse_since(text: str, now: float | None = None) -> float:
    """'2h' -> now - 7200; '2026-11-27T12:00:00Z' -> its epoch seconds. ValueError says what is accepted."""
    value = (text or "").strip()
    match = _RELATIVE.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return (time.time() if now is None else now) - amount * _UNITS[unit]
    iso = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time: use {HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def argparse_since(text: str) -> float:
    """argparse `type=` for --since: a clean usage error instead of a traceback."""
    try:
        return parse_since(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def format_epoch(epoch: float | None) -> str:
    """1764244805.2 -> '2025-11-27T12:00:05Z' (UTC, whole seconds); None -> '-'."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(float(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: float | None) -> str:
    """A latency for people: 0.85 -> '850ms', 4.2 -> '4.2s', 1890 -> '31.5m', 7560 -> '2.1h'."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"
