"""Output forms of `type: datetime`: `output_format` and `timezone`.

- no `output_format`: ISO-8601 (`2026-11-27T12:00:00Z`; with a `timezone`, that zone's offset:
  `2026-11-27T13:00:00+01:00`);
- `epoch`: whole seconds since 1970 (a number; fractional seconds are dropped);
- `epoch_ms`: milliseconds since 1970 (a number);
- `date`: `YYYY-MM-DD` (the calendar date in `timezone`, UTC by default);
- anything with a `%`: a `strftime` pattern such as `%d/%m/%Y`, rendered in `timezone`.

`timezone` is an IANA name (`Europe/Paris`, `America/New_York`); it sets the zone the moment is
shown in. Inputs without an offset are still read as UTC (use `format` to parse them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["KEYWORDS", "DateOutput", "date_output", "iso_8601"]

KEYWORDS = ("epoch", "epoch_ms", "date")
_SAMPLE = datetime(2026, 11, 27, 12, 34, 56, tzinfo=UTC)


def iso_8601(moment: datetime) -> str:
    """ISO-8601 with milliseconds or microseconds when there are any; `Z` for UTC, else the offset."""
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    micro = moment.microsecond
    if micro and micro % 1000 == 0:
        text += f".{micro // 1000:03d}"
    elif micro:
        text += f".{micro:06d}"
    offset = moment.utcoffset()
    if offset is None or not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class DateOutput:
    output_format: str | None
    zone: tzinfo

    def render(self, moment: datetime) -> Any:
        """`moment` is timezone-aware (UTC from the parser)."""
        if self.output_format == "epoch":
            return math.floor(moment.timestamp())
        if self.output_format == "epoch_ms":
            return math.floor(moment.timestamp() * 1000)
        local = moment.astimezone(self.zone)
        if self.output_format == "date":
            return local.date().isoformat()
        if self.output_format is None:
            return iso_8601(local)
        return local.strftime(self.output_format)


def date_output(output_format: Any, timezone: Any) -> tuple[DateOutput | None, list[tuple[str, str]]]:
    """Check both options; returns the renderer (or None) and the problems as (key, message)."""
    problems: list[tuple[str, str]] = []
    zone: tzinfo = UTC
    if timezone is not None:
        if not isinstance(timezone, str) or not timezone.strip():
            problems.append(("timezone", f"expected an IANA time zone name such as 'Europe/Paris', got {timezone!r}"))
        else:
            try:
                zone = ZoneInfo(timezone.strip())
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(("timezone", f"unknown time zone {timezone!r}: use an IANA name such as "
                                             "'Europe/Paris', 'America/New_York' or 'UTC'"))
    if output_format is not None:
        if not isinstance(output_format, str) or (output_format not in KEYWORDS and "%" not in output_format):
            problems.append(("output_format", f"expected epoch, epoch_ms, date or a strftime pattern such as "
                                              f"'%d/%m/%Y', got {output_format!r}"))
        else:
            try:
                _SAMPLE.strftime(output_format)
            except ValueError as e:
                problems.append(("output_format", f"invalid strftime pattern {output_format!r}: {e}"))
    if problems:
        return None, problems
    return DateOutput(output_format, zone), []
