"""--since values: relative durations and ISO-8601, one parser for dlq, events and report."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from hookline.operations.timeparse import argparse_since, format_duration, format_epoch, parse_since

NOW = 1_800_000_000.0


@pytest.mark.parametrize(("text", "ago"), [
    ("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 7 * 86400), ("1w", 7 * 86400), ("1.5h", 5400),
    (" 2H ", 7200), ("0m", 0),
])
def test_relative_durations_count_back_from_now(text: str, ago: float) -> None:
    assert parse_since(text, now=NOW) == NOW - ago


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-27T12:00:00Z", datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ("2026-11-27T12:00:00z", datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ("2026-11-27T13:00:00+01:00", datetime(2026, 11, 27, 12, tzinfo=UTC)),
    ("2026-11-27T12:00", datetime(2026, 11, 27, 12, tzinfo=UTC)),  # no offset: UTC
    ("2026-11-27", datetime(2026, 11, 27, tzinfo=UTC)),
    ("2026-11-27T12:00:00.250Z", datetime(2026, 11, 27, 12, 0, 0, 250_000, tzinfo=UTC)),
])
def test_iso_8601_moments(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected.timestamp()


@pytest.mark.parametrize("text", ["", "yesterday", "15", "5y", "-2h", "2026-13-01", "h2"])
def test_unreadable_values_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"15m, 2h, 7d.*ISO-8601"):
        parse_since(text, now=NOW)


def test_argparse_type_turns_errors_into_usage_errors() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        argparse_since("soon")
    assert abs(argparse_since("1h") - (datetime.now(UTC).timestamp() - 3600)) < 5


def test_display_helpers() -> None:
    assert format_epoch(datetime(2026, 11, 27, 12, 0, 5, tzinfo=UTC).timestamp() + 0.4) == "2026-11-27T12:00:05Z"
    assert format_epoch(None) == "-"
    assert [format_duration(s) for s in (0.85, 4.21, 1890, 7560, None)] == ["850ms", "4.2s", "31.5m", "2.1h", "-"]
