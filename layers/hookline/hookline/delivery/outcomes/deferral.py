"""Attempt accounting: deferrals (over a limit, held by the breaker, waiting for a key's claim) are not attempts.

SQS counts receives (`ApproximateReceiveCount`), not attempts. A deferred event is received
and put back without a request, so the receive count alone would spend the retry schedule
(and reach the queue's MaxReceiveCount) on waiting. The attempt number is therefore:

    schedule attempt = task.schedule_attempts + receive_count - deferrals

- Standard queue: a deferral re-enqueues the task as a new message (SendMessage with
  DelaySeconds) carrying `schedule_attempts` = the attempts made so far, and the old message
  is acknowledged. Every earlier receive of a message was therefore an attempt: deferrals = 0,
  and the receive count restarts with each copy, so MaxReceiveCount only ever counts attempts
  (plus crashes: it stays the backstop it was).
- FIFO queue (ordered routes): re-enqueueing would put the event behind later events of its key,
  so a deferral keeps the message and extends its visibility; the deferral is counted in the
  records table (`defer#<route>#<event_id>`: `deferrals`, `held_since`), read back only when a
  message is received again (receive_count > 1). The FIFO queue's MaxReceiveCount is sized for
  holds (OrderedMaxReceiveCount, default 1000) and remains the backstop for crash loops.
- The lifetime attempt total (event log, DLQ `attempts`) is `prior_attempts + schedule attempt`.
- A DLQ copy restarts the schedule: `schedule_attempts` 0, `held_since` cleared, `prior_attempts`
  = the lifetime total.

Hold delays grow with the time held, so a long outage costs few receives per event, and stay
short enough that held events drain soon after the breaker closes: `hold_delay` below.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hookline.core.messages import DeliveryTask

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit (a re-enqueued deferral)
MAX_HOLD_DELAY_SECONDS = 300  # held events look again at least every 5 minutes: drain soon after recovery


@dataclass(frozen=True)
class Attempts:
    schedule_attempt: int  # 1-based number of the attempt about to be made, within the retry schedule
    lifetime: int  # counting the attempts before a DLQ replay too


def attempts(task: DeliveryTask, receive_count: int, deferrals: int = 0) -> Attempts:
    """The attempt numbers for this receive (see the module docstring)."""
    receive_count = max(int(receive_count), 1)
    made_before = task.schedule_attempts + (receive_count - 1) - max(int(deferrals), 0)
    number = max(made_before, 0) + 1
    return Attempts(number, task.prior_attempts + number)


def requeued_task(task: DeliveryTask, receive_count: int, held_since: float | None = None) -> DeliveryTask:
    """The copy a deferral re-enqueues on the standard queue: the attempts made so far carried on, and a
    chain of its own that takes the route over from the deferring message's (core/chains.py)."""
    made = attempts(task, receive_count).schedule_attempt - 1
    return task.model_copy(update={"schedule_attempts": made,
                                   "held_since": held_since if held_since is not None else task.held_since,
                                   "chain": secrets.token_hex(8), "parent": task.chain})


def dead_letter_task(task: DeliveryTask, lifetime_attempts: int) -> DeliveryTask:
    """The DLQ body: a replay counts on from the lifetime total and starts a fresh schedule."""
    return task.model_copy(update={"prior_attempts": lifetime_attempts, "schedule_attempts": 0, "held_since": None})


def hold_delay(held_for: float, cool_down: float, until_probe: float | None = None) -> int:
    """Seconds before a held event looks again: the next probe, growing with the hold, at most 5 minutes."""
    base = max(float(cool_down), until_probe or 0.0, held_for / 4)
    return int(min(max(base, 1.0), MAX_HOLD_DELAY_SECONDS))


def queue_delay(seconds: float) -> int:
    """A deferral's delay as SQS takes it (whole seconds, 0..900 for DelaySeconds)."""
    return int(min(max(round(seconds + 0.499), 0), MAX_DELAY_SECONDS))
