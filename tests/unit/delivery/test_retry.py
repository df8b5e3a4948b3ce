"""Retry timing: schedule position, jitter bounds, Retry-After (seconds and dates) and the 12 h clamp."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from hookline.delivery.outcomes.retry import (
    DEFAULT_SCHEDULE,
    MAX_DELAY_SECONDS,
    jittered,
    next_delay,
    parse_retry_after,
)

NOW = 1_800_000_000.0


class Fixed:
    """An rng whose uniform() always answers the same factor."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def uniform(self, a: float, b: float) -> float:
        assert a <= self.factor <= b
        return self.factor


MID = Fixed(1.0)


def test_default_schedule_is_the_contract() -> None:
    assert DEFAULT_SCHEDULE == (60, 300, 1800)


@pytest.mark.parametrize(("attempt", "expected"), [(1, 60), (2, 300), (3, 1800)])
def test_each_failed_attempt_waits_its_schedule_entry(attempt: int, expected: int) -> None:
    assert next_delay(attempt, DEFAULT_SCHEDULE, rng=MID) == expected


def test_after_the_last_scheduled_retry_there_is_none() -> None:
    # Given three retries, the fourth attempt is the last one
    assert next_delay(4, DEFAULT_SCHEDULE, rng=MID) is None
    assert next_delay(9, DEFAULT_SCHEDULE, rng=MID) is None


def test_a_per_route_schedule_overrides_the_default() -> None:
    assert next_delay(1, [5, 10], rng=MID) == 5
    assert next_delay(2, [5, 10], rng=MID) == 10
    assert next_delay(3, [5, 10], rng=MID) is None


def test_an_empty_schedule_means_no_retries() -> None:
    assert next_delay(1, [], rng=MID) is None


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        next_delay(0, DEFAULT_SCHEDULE)


@pytest.mark.parametrize("delay", [60, 300, 1800, 7, 1, 43200])
def test_jitter_stays_within_ten_percent(delay: int) -> None:
    rng = random.Random(42)
    values = {jittered(delay, rng) for _ in range(2000)}
    low, high = min(values), max(values)
    assert low >= delay * 0.9 - 1e-9
    assert high <= min(delay * 1.1, MAX_DELAY_SECONDS) + 1e-9


def test_jitter_actually_spreads_retries() -> None:
    rng = random.Random(7)
    values = [jittered(300, rng) for _ in range(500)]
    # 270..330 is reachable at both ends and the values are spread across it
    assert min(values) <= 275 and max(values) >= 325
    assert len(set(values)) > 30


def test_jitter_extremes_are_inclusive_and_rounded() -> None:
    assert jittered(60, Fixed(0.9)) == 54
    assert jittered(60, Fixed(1.1)) == 66
    assert jittered(1800, Fixed(0.95)) == 1710


def test_zero_delay_stays_zero() -> None:
    assert jittered(0, Fixed(1.1)) == 0
    assert next_delay(1, [0], rng=Fixed(1.1)) == 0


def test_retry_after_longer_than_the_schedule_is_honoured() -> None:
    assert next_delay(1, DEFAULT_SCHEDULE, retry_after="120", rng=MID) == 120


def test_retry_after_never_shortens_the_schedule() -> None:
    assert next_delay(2, DEFAULT_SCHEDULE, retry_after="5", rng=MID) == 300


def test_retry_after_is_clamped_to_the_sqs_limit() -> None:
    assert next_delay(1, DEFAULT_SCHEDULE, retry_after="999999", rng=MID) == MAX_DELAY_SECONDS
    assert next_delay(1, DEFAULT_SCHEDULE, retry_after=10**9, rng=MID) == MAX_DELAY_SECONDS


def test_retry_after_never_adds_attempts() -> None:
    assert next_delay(4, DEFAULT_SCHEDULE, retry_after="10", rng=MID) is None


def test_retry_after_as_an_http_date() -> None:
    header = formatdate(NOW + 900, usegmt=True)
    assert next_delay(1, DEFAULT_SCHEDULE, retry_after=header, rng=MID, now=NOW) == 900


def test_retry_after_date_in_the_past_falls_back_to_the_schedule() -> None:
    header = formatdate(NOW - 900, usegmt=True)
    assert parse_retry_after(header, now=NOW) == 0
    assert next_delay(1, DEFAULT_SCHEDULE, retry_after=header, rng=MID, now=NOW) == 60


def test_garbage_retry_after_is_ignored() -> None:
    for value in ("soon", "-5", "1.5", "", "   ", None):
        assert parse_retry_after(value, now=NOW) is None
        assert next_delay(1, DEFAULT_SCHEDULE, retry_after=value, rng=MID, now=NOW) == 60


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120), (" 7 ", 7), ("0", 0), (30, 30), (2.4, 2), ("86400", MAX_DELAY_SECONDS),
    (formatdate(NOW + 61, usegmt=True), 61), (True, None), (float("nan"), None),
])
def test_parse_retry_after(value: object, expected: int | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected  # type: ignore[arg-type]


def test_zone_less_http_date_is_read_as_utc() -> None:
    with_zone = parse_retry_after(formatdate(NOW + 300, usegmt=True), now=NOW)
    without = parse_retry_after(formatdate(NOW + 300, usegmt=True).removesuffix(" GMT"), now=NOW)
    assert with_zone == without == 300


def test_a_schedule_entry_at_the_limit_cannot_jitter_past_it() -> None:
    assert next_delay(1, [MAX_DELAY_SECONDS], rng=Fixed(1.1)) == MAX_DELAY_SECONDS
