"""EventBridge Scheduler (`ScheduleV2`) and EventBridge rule (`Schedule`) events, fired locally.

Expressions, as AWS writes them:

- `rate(5 minutes)` — value and unit (minute[s] / hour[s] / day[s]); first fire one period after start.
- `cron(minutes hours day-of-month month day-of-week year)` — six fields, AWS syntax:
  `*`, `?` (dom / dow), lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`, month names
  (JAN-DEC), weekday names (SUN-SAT) with AWS numbering 1=SUN .. 7=SAT, `L` (last day of
  month; `nL` = last weekday n of the month), `W` (nearest weekday, `15W`, `LW`) and
  `n#k` (k-th weekday n of the month). One of dom / dow must be `?`.
- `at(yyyy-mm-ddThh:mm:ss)` — one time (ScheduleV2 only).

ScheduleV2 invokes the function with its `Input` as the event (context attributes such as
`<aws.scheduler.scheduled-time>` substituted), `{}` without one; `Schedule` (a rule)
invokes with the `Scheduled Event` envelope, or with its `Input` when set.
"""

from __future__ import annotations

import calendar
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hookline.local.shapes import shape_problem


class ScheduleExpressionError(ValueError):
    pass


# ---------------------------------------------------------------- expressions

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", re.IGNORECASE)
_CRON = re.compile(r"cron\((.*)\)", re.IGNORECASE | re.DOTALL)
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}


class Schedule:
    """A parsed expression: `next_after(t)` gives the next fire time strictly after `t` (or None)."""

    expression: str

    def next_after(self, after: datetime) -> datetime | None:
        raise NotImplementedError


@dataclass
class RateSchedule(Schedule):
    expression: str
    period: timedelta
    start: datetime | None = None

    def next_after(self, after: datetime) -> datetime | None:
        start = self.start or after
        if after < start:
            return start + self.period
        periods = (after - start) // self.period + 1
        return start + periods * self.period


@dataclass
class AtSchedule(Schedule):
    expression: str
    when: datetime

    def next_after(self, after: datetime) -> datetime | None:
        return self.when if self.when > after else None


@dataclass
class _Field:
    values: frozenset[int]
    any: bool  # `*` or `?`


def _parse_number(token: str, names: dict[str, int] | None, lo: int, hi: int, what: str) -> int:
    token = token.upper()
    if names and token in names:
        return names[token]
    if not token.isdigit():
        raise ScheduleExpressionError(f"{what}: {token!r} is not a number{' or name' if names else ''}")
    value = int(token)
    if not lo <= value <= hi:
        raise ScheduleExpressionError(f"{what}: {value} is outside {lo}-{hi}")
    return value


def _parse_field(text: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> _Field:
    if text in ("*", "?"):
        return _Field(frozenset(range(lo, hi + 1)), True)
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleExpressionError(f"{what}: bad step in {part!r}")
            step = int(step_text)
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _parse_number(a, names, lo, hi, what), _parse_number(b, names, lo, hi, what)
            if last < first:
                raise ScheduleExpressionError(f"{what}: range {base!r} goes backwards")
        else:
            first = _parse_number(base, names, lo, hi, what)
            last = hi if step_text else first
        values.update(range(first, last + 1, step))
    return _Field(frozenset(values), False)


@dataclass
class CronSchedule(Schedule):
    expression: str
    minutes: _Field
    hours: _Field
    months: _Field
    years: _Field
    dom_text: str
    dow_text: str
    tz: Any = UTC

    @classmethod
    def parse(cls, expression: str, body: str, tz: Any = UTC) -> CronSchedule:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(
                f"{expression}: cron() takes 6 fields (minutes hours day-of-month month day-of-week year), "
                f"got {len(fields)}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
        cron = cls(expression, _parse_field(minute, 0, 59, "minutes"), _parse_field(hour, 0, 23, "hours"),
                   _parse_field(month, 1, 12, "month", _MONTHS), _parse_field(year, 1970, 2199, "year"),
                   dom.upper(), dow.upper(), tz)
        sample = datetime(2024, 2, 29).date()
        for part in dom.upper().split(",") if dow == "?" else dow.upper().split(","):
            # Parse every part once (matching short-circuits, so a bad later part would hide).
            (_dom_matches if dow == "?" else _dow_matches)(part, sample)
        return cron

    def _day_matches(self, day: Any) -> bool:
        if self.dow_text == "?":
            return _dom_matches(self.dom_text, day)
        return _dow_matches(self.dow_text, day)

    def next_after(self, after: datetime) -> datetime | None:
        local = after.astimezone(self.tz).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.date()
        first_day = True
        for _ in range(366 * 30):
            if (day.year in self.years.values and day.month in self.months.values and self._day_matches(day)):
                for h in sorted(self.hours.values):
                    if first_day and h < local.hour:
                        continue
                    for m in sorted(self.minutes.values):
                        if first_day and h == local.hour and m < local.minute:
                            continue
                        return datetime(day.year, day.month, day.day, h, m, tzinfo=self.tz).astimezone(UTC)
            day += timedelta(days=1)
            first_day = False
            if day.year > max(self.years.values):
                return None
        return None


def _last_day(day: Any) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _aws_weekday(day: Any) -> int:
    return (day.weekday() + 1) % 7 + 1  # Python Monday=0 -> AWS 1=SUN .. 7=SAT


def _dom_matches(text: str, day: Any) -> bool:
    if text in ("*", "?"):
        return True
    last = _last_day(day)
    for part in text.split(","):
        if part == "L":
            if day.day == last:
                return True
        elif part == "LW":
            target = last
            while calendar.weekday(day.year, day.month, target) >= 5:
                target -= 1
            if day.day == target:
                return True
        elif part.endswith("W"):
            n = _parse_number(part[:-1], None, 1, 31, "day-of-month")
            if day.day == _nearest_weekday(day.year, day.month, min(n, last)):
                return True
        elif day.day in _parse_field(part, 1, 31, "day-of-month").values:
            return True
    return False


def _nearest_weekday(year: int, month: int, n: int) -> int:
    wd = calendar.weekday(year, month, n)
    last = calendar.monthrange(year, month)[1]
    if wd == 5:  # Saturday -> Friday, unless that leaves the month
        return n - 1 if n > 1 else n + 2
    if wd == 6:  # Sunday -> Monday, unless that leaves the month
        return n + 1 if n < last else n - 2
    return n


def _dow_matches(text: str, day: Any) -> bool:
    if text in ("*", "?"):
        return True
    wd = _aws_weekday(day)
    for part in text.split(","):
        if "#" in part:
            a, _, k = part.partition("#")
            target = _parse_number(a, _DAYS, 1, 7, "day-of-week")
            if not k.isdigit() or not 1 <= int(k) <= 5:
                raise ScheduleExpressionError(f"day-of-week: bad {part!r} (n#1..n#5)")
            if wd == target and (day.day - 1) // 7 + 1 == int(k):
                return True
        elif part == "L":
            if wd == 7:  # alone, L means the last day of the week (Saturday)
                return True
        elif part.endswith("L"):
            target = _parse_number(part[:-1], _DAYS, 1, 7, "day-of-week")
            if wd == target and day.day + 7 > _last_day(day):
                return True
        elif wd in _parse_field(part, 1, 7, "day-of-week", _DAYS).values:
            return True
    return False


def parse_expression(expression: str, *, timezone: str | None = None, start: datetime | None = None) -> Schedule:
    """Parse a ScheduleV2 / Schedule expression; raises ScheduleExpressionError with the reason."""
    text = expression.strip()
    tz: Any = UTC
    if timezone:
        try:
            tz = ZoneInfo(timezone)
        except Exception:
            raise ScheduleExpressionError(f"unknown ScheduleExpressionTimezone {timezone!r}") from None
    m = _RATE.fullmatch(text)
    if m:
        value, unit = int(m.group(1)), m.group(2).lower().rstrip("s")
        if value < 1:
            raise ScheduleExpressionError(f"{expression}: the rate must be a positive number")
        return RateSchedule(text, timedelta(seconds=value * _UNIT_SECONDS[unit]), start)
    m = _CRON.fullmatch(text)
    if m:
        return CronSchedule.parse(text, m.group(1), tz)
    m = _AT.fullmatch(text)
    if m:
        when = datetime.fromisoformat(m.group(1)).replace(tzinfo=tz).astimezone(UTC)
        return AtSchedule(text, when)
    raise ScheduleExpressionError(f"{expression!r} is not rate(...), cron(...) or at(...)")


# ---------------------------------------------------------------- events


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_event(input_json: str | None, *, scheduled_time: datetime, schedule_arn: str,
                    execution_id: str | None = None, attempt: int = 1) -> Any:
    """What EventBridge Scheduler passes to a Lambda target: the Input, context attributes filled in."""
    if not input_json:
        return {}
    text = input_json
    for key, value in (("scheduled-time", _iso(scheduled_time)), ("schedule-arn", schedule_arn),
                       ("execution-id", execution_id or str(uuid.uuid4())), ("attempt-number", str(attempt))):
        text = text.replace(f"<aws.scheduler.{key}>", value)
    return json.loads(text)


def eventbridge_scheduled_event(*, scheduled_time: datetime, rule_arn: str, region: str, account_id: str,
                                input_json: str | None = None) -> Any:
    """What an EventBridge rule with a schedule passes to a Lambda target."""
    if input_json:
        return json.loads(input_json)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": _iso(scheduled_time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def validate_scheduled_event(event: Any) -> str:
    """'' when Powertools' EventBridgeModel accepts a Scheduled Event envelope, else the reason."""
    # lazy: Powertools' parser models (~180 ms) load with the first event built.
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    return shape_problem(EventBridgeModel, event)


# ---------------------------------------------------------------- the clock


@dataclass
class Job:
    name: str  # "SyncFunction.SyncSchedule"
    kind: str  # "ScheduleV2" | "Schedule"
    schedule: Schedule
    make_event: Callable[[datetime], Any]
    fire: Callable[[Job, Any, datetime], None]
    next_at: datetime | None = None


class Scheduler:
    """One thread; fires each job at its next time (late fires are not replayed, like a paused clock)."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.jobs: list[Job] = []
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def add(self, job: Job) -> Job:
        job.next_at = job.schedule.next_after(self._clock())
        self.jobs.append(job)
        return job

    def fire_now(self, job: Job) -> None:
        now = self._clock()
        job.fire(job, job.make_event(now), now)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            for job in self.jobs:
                if job.next_at is not None and job.next_at <= now:
                    at = job.next_at
                    job.next_at = job.schedule.next_after(now)
                    try:
                        job.fire(job, job.make_event(at), at)
                    except Exception as e:  # one failing job must not stop the clock
                        print(f"scheduler: {job.name}: {type(e).__name__}: {e}", flush=True)
            pending = [j.next_at for j in self.jobs if j.next_at is not None]
            wait = min([(t - self._clock()).total_seconds() for t in pending], default=1.0)
            self._stop.wait(min(max(wait, 0.05), 1.0))
