"""Schedule expressions as EventBridge Scheduler / EventBridge rules read them, and the events they fire."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from hookline.local.scheduler import (
    Job,
    Schedule,
    ScheduleExpressionError,
    Scheduler,
    eventbridge_scheduled_event,
    parse_expression,
    scheduler_event,
    validate_scheduled_event,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def upcoming(expression: str, after: datetime, n: int = 3, **kw: str) -> list[datetime]:
    schedule = parse_expression(expression, **kw)
    out = []
    for _ in range(n):
        nxt = schedule.next_after(after)
        if nxt is None:
            break
        out.append(nxt)
        after = nxt
    return out


# ---------------------------------------------------------------- rate()


@pytest.mark.parametrize(("expression", "period"), [
    ("rate(1 minute)", timedelta(minutes=1)),
    ("rate(5 minutes)", timedelta(minutes=5)),
    ("rate(1 hour)", timedelta(hours=1)),
    ("rate(12 hours)", timedelta(hours=12)),
    ("rate(2 days)", timedelta(days=2)),
])
def test_rate_fires_one_period_after_start_then_every_period(expression: str, period: timedelta) -> None:
    start = utc(2026, 3, 1, 10, 0, 7)
    assert upcoming(expression, start) == [start + period, start + 2 * period, start + 3 * period]


def test_rate_from_a_fixed_start_does_not_drift() -> None:
    schedule = parse_expression("rate(5 minutes)", start=utc(2026, 1, 1))
    assert schedule.next_after(utc(2026, 1, 1, 0, 7, 30)) == utc(2026, 1, 1, 0, 10)


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "rate(5 seconds)", "rate(minutes)", "rate(5)",
                                        "every 5 minutes", "rate(-1 minutes)"])
def test_bad_rates_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_expression(expression)


# ---------------------------------------------------------------- cron()


def test_cron_every_day_at_noon_utc() -> None:
    assert upcoming("cron(0 12 * * ? *)", utc(2026, 5, 4, 12, 0)) == [
        utc(2026, 5, 5, 12), utc(2026, 5, 6, 12), utc(2026, 5, 7, 12)]


def test_cron_steps_and_lists() -> None:
    assert upcoming("cron(0/15 * * * ? *)", utc(2026, 5, 4, 9, 50), 4) == [
        utc(2026, 5, 4, 10, 0), utc(2026, 5, 4, 10, 15), utc(2026, 5, 4, 10, 30), utc(2026, 5, 4, 10, 45)]
    assert upcoming("cron(5,35 8-9 * * ? *)", utc(2026, 5, 4, 8, 5), 4) == [
        utc(2026, 5, 4, 8, 35), utc(2026, 5, 4, 9, 5), utc(2026, 5, 4, 9, 35), utc(2026, 5, 5, 8, 5)]


def test_cron_weekdays_use_aws_numbering_and_names() -> None:
    # 2026-05-08 is a Friday: after 19:00 the next weekday 18:00 is Monday 2026-05-11.
    assert upcoming("cron(0 18 ? * MON-FRI *)", utc(2026, 5, 8, 19), 2) == [utc(2026, 5, 11, 18),
                                                                            utc(2026, 5, 12, 18)]
    # AWS day-of-week: 1 = Sunday, 7 = Saturday.
    assert upcoming("cron(0 6 ? * 1 *)", utc(2026, 5, 4), 1) == [utc(2026, 5, 10, 6)]
    assert upcoming("cron(0 6 ? * 7 *)", utc(2026, 5, 4), 1) == [utc(2026, 5, 9, 6)]


def test_cron_month_names_and_year_field() -> None:
    assert upcoming("cron(0 0 1 JAN,JUL ? 2027-2028)", utc(2026, 5, 4)) == [
        utc(2027, 1, 1), utc(2027, 7, 1), utc(2028, 1, 1)]
    assert parse_expression("cron(0 0 1 1 ? 2025)").next_after(utc(2026, 1, 1)) is None


def test_cron_last_day_of_month_and_nearest_weekday() -> None:
    assert upcoming("cron(0 10 L * ? *)", utc(2024, 2, 1)) == [utc(2024, 2, 29, 10), utc(2024, 3, 31, 10),
                                                                utc(2024, 4, 30, 10)]
    # 2026-08-15 is a Saturday: 15W fires on Friday the 14th; 2026-11-15 is a Sunday: Monday the 16th.
    assert upcoming("cron(0 9 15W * ? *)", utc(2026, 8, 1), 1) == [utc(2026, 8, 14, 9)]
    assert upcoming("cron(0 9 15W * ? *)", utc(2026, 11, 1), 1) == [utc(2026, 11, 16, 9)]
    # LW: the last weekday; 2026-05-31 is a Sunday -> Friday the 29th.
    assert upcoming("cron(0 9 LW * ? *)", utc(2026, 5, 1), 1) == [utc(2026, 5, 29, 9)]


def test_cron_nth_and_last_weekday_of_the_month() -> None:
    # Third Friday (6#3) of May 2026 is the 15th; last Monday (2L) is the 25th.
    assert upcoming("cron(0 9 ? * 6#3 *)", utc(2026, 5, 1), 1) == [utc(2026, 5, 15, 9)]
    assert upcoming("cron(0 9 ? * 2L *)", utc(2026, 5, 1), 1) == [utc(2026, 5, 25, 9)]


def test_cron_in_a_time_zone() -> None:
    # 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
    assert upcoming("cron(0 9 * * ? *)", utc(2026, 1, 10), 1, timezone="America/New_York") == [utc(2026, 1, 10, 14)]
    assert upcoming("cron(0 9 * * ? *)", utc(2026, 7, 10), 1, timezone="America/New_York") == [utc(2026, 7, 10, 13)]


@pytest.mark.parametrize(("expression", "why"), [
    ("cron(0 12 * * *)", "6 fields"),
    ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week"),
    ("cron(60 12 * * ? *)", "outside 0-59"),
    ("cron(0 12 ? * FUNDAY *)", "not a number or name"),
    ("cron(0 12 32 * ? *)", "outside 1-31"),
    ("cron(0 12 ? * 6#9 *)", "n#1..n#5"),
    ("cron(0 12 1,40 * ? *)", "outside 1-31"),
])
def test_bad_crons_say_why(expression: str, why: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=why):
        parse_expression(expression)


def test_bad_time_zone() -> None:
    with pytest.raises(ScheduleExpressionError, match="ScheduleExpressionTimezone"):
        parse_expression("cron(0 9 * * ? *)", timezone="Mars/Olympus")


# ---------------------------------------------------------------- at()


def test_at_fires_once() -> None:
    schedule = parse_expression("at(2030-01-01T10:00:00)")
    assert schedule.next_after(utc(2029, 12, 31)) == utc(2030, 1, 1, 10)
    assert schedule.next_after(utc(2030, 1, 1, 10)) is None


# ---------------------------------------------------------------- events


def test_scheduler_passes_the_input_with_context_attributes() -> None:
    at = utc(2026, 5, 4, 12, 0)
    event = scheduler_event('{"job": "all", "when": "<aws.scheduler.scheduled-time>", '
                            '"arn": "<aws.scheduler.schedule-arn>", "n": "<aws.scheduler.attempt-number>"}',
                            scheduled_time=at, schedule_arn="arn:aws:scheduler:us-east-1:1:schedule/default/x")
    assert event == {"job": "all", "when": "2026-05-04T12:00:00Z",
                     "arn": "arn:aws:scheduler:us-east-1:1:schedule/default/x", "n": "1"}
    assert scheduler_event(None, scheduled_time=at, schedule_arn="a") == {}


def test_eventbridge_rule_sends_a_scheduled_event_powertools_accepts() -> None:
    event = eventbridge_scheduled_event(scheduled_time=utc(2026, 5, 4, 12), rule_arn="arn:aws:events:us-east-1:"
                                        "123456789012:rule/r", region="us-east-1", account_id="123456789012")
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-05-04T12:00:00Z" and event["resources"] == ["arn:aws:events:us-east-1:"
                                                                               "123456789012:rule/r"]
    assert validate_scheduled_event(event) == ""
    assert validate_scheduled_event({"detail": {}}) != ""
    # A rule target with Input gets the Input instead of the envelope.
    assert eventbridge_scheduled_event(scheduled_time=utc(2026, 1, 1), rule_arn="r", region="us-east-1",
                                       account_id="1", input_json=json.dumps({"job": "x"})) == {"job": "x"}


# ---------------------------------------------------------------- the clock


class _Soon(Schedule):
    expression = "soon"

    def next_after(self, after: datetime) -> datetime | None:
        return after + timedelta(milliseconds=50)


def test_the_scheduler_fires_due_jobs_and_stops() -> None:
    fired: list[object] = []
    done = threading.Event()

    def fire(job: Job, event: object, at: datetime) -> None:
        fired.append(event)
        if len(fired) >= 2:
            done.set()

    scheduler = Scheduler()
    scheduler.add(Job("F.Tick", "ScheduleV2", _Soon(), lambda at: {"at": at.isoformat()}, fire))
    scheduler.start()
    try:
        assert done.wait(3), "the job did not fire twice"
    finally:
        scheduler.stop()
    assert all("at" in e for e in fired)  # type: ignore[operator]


def test_fire_now_invokes_immediately() -> None:
    got: list[object] = []
    scheduler = Scheduler()
    job = scheduler.add(Job("F.Daily", "ScheduleV2", parse_expression("cron(0 0 * * ? *)"), lambda at: {"job": "all"},
                            lambda job, event, at: got.append(event)))
    scheduler.fire_now(job)
    assert got == [{"job": "all"}]
