"""Retry timing: when a failed delivery is tried again. Pure functions, no clocks of their own.

The schedule lists one delay per retry (default 60, 300, 1800 s): a message gets
`1 + len(schedule)` attempts, after which `next_delay` returns None and the engine
dead-letters it with reason `retries_exhausted`.

Rules, in order:

1. `attempt` is the 1-based number of the attempt that just failed, counted within this
   queue message (SQS `ApproximateReceiveCount`). A replayed message starts a fresh
   schedule; its lifetime total is kept separately (`DeliveryTask.prior_attempts`).
2. The schedule's delay gets ±10 % jitter (uniform), rounded to whole seconds and kept
   inside `[ceil(0.9 d), floor(1.1 d)]`, so retries of many events failing together spread out.
3. A `Retry-After` from the destination (delta-seconds or an HTTP-date) is honoured within
   the schedule's bounds: it can lengthen the wait (`max(jittered delay, Retry-After)`), never
   shorten it, and never adds attempts beyond the schedule's length.
4. Every delay is clamped to 0..43200 s, the SQS visibility-timeout limit (12 h).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Protocol

DEFAULT_SCHEDULE: tuple[int, ...] = (60, 300, 1800)
MAX_DELAY_SECONDS = 12 * 60 * 60  # SQS ChangeMessageVisibility upper bound
JITTER = 0.10

_DELTA_SECONDS = re.compile(r"^\s*(\d{1,12})\s*$")


class Uniform(Protocol):
    def uniform(self, a: float, b: float) -> float: ...


def clamp(seconds: float) -> int:
    """Whole seconds within what SQS accepts as a visibility timeout."""
    return int(min(max(seconds, 0), MAX_DELAY_SECONDS))


def jittered(delay: int, rng: Uniform = random) -> int:
    """`delay` ±10 %, as whole seconds within [ceil(0.9 d), floor(1.1 d)] and the SQS limit."""
    if delay <= 0:
        return 0
    low, high = math.ceil(delay * (1 - JITTER)), math.floor(delay * (1 + JITTER))
    value = round(delay * rng.uniform(1 - JITTER, 1 + JITTER))
    return clamp(min(max(value, low), high))


def parse_retry_after(value: str | float | None, now: float | None = None) -> int | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), clamped to 0..12 h.

    Returns None when absent or unparseable (the header is then ignored). A date in the past is 0.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return clamp(value) if math.isfinite(value) else None
    text = str(value).strip()
    if not text:
        return None
    m = _DELTA_SECONDS.match(text)
    if m:
        return clamp(int(m.group(1)))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a zone-less date is read as UTC
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return clamp(math.ceil(when.timestamp() - now))


def next_delay(attempt: int, schedule: Sequence[int], retry_after: str | float | None = None,
               rng: Uniform = random, now: float | None = None) -> int | None:
    """Seconds before the next try after failed attempt number `attempt` (1-based); None = exhausted."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1 (got {attempt})")
    if attempt > len(schedule):
        return None
    delay = jittered(int(schedule[attempt - 1]), rng)
    honoured = parse_retry_after(retry_after, now)
    if honoured is not None:
        delay = max(delay, honoured)
    return clamp(delay)
