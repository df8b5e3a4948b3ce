"""What becomes of a message its guards did not let through (guards/guards.py): stale, deferred, held, down.

- stale: acknowledged, status `stale` in the event log (reason and the versions compared), metric Stale.
- deferred (rate limit, concurrency cap, another delivery of the key in flight) and held (breaker
  open): not an attempt (deferral.py). On the standard queue the task is re-enqueued with a delay
  and the attempts made so far; on a FIFO queue the message stays (visibility extended) and the
  deferral is counted in the records table. Held events get status `held` (once, when first held)
  and the metric BreakerOpenSeconds (the `<stack>-breaker-open` alarm watches its maximum).
- destination_down: held past max_hold_seconds -> the DLQ with that reason.

Each function takes the engine's `Outcomes` (settle.py) and uses its public writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hookline.core import outcomes
from hookline.core.errors import QueueUnavailable, StoreUnavailable
from hookline.core.outcomes import HttpResult
from hookline.delivery import ordering
from hookline.delivery.context import Message
from hookline.delivery.guards import guards
from hookline.delivery.outcomes import deferral, retry
from hookline.delivery.outcomes.results import DEFERRED, HELD, STALE, SUPERSEDED, RecordResult
from hookline.observability import logger

if TYPE_CHECKING:
    from hookline.delivery.outcomes.settle import Outcomes


def not_sent(out: Outcomes, msg: Message, gate: guards.Gate) -> RecordResult:
    task = msg.task
    message_id = msg.record.message_id
    if gate.verdict == guards.STALE:
        _log(out, task, STALE, reason="stale", last_error=gate.message)
        return RecordResult(message_id, STALE, task.event_id, task.route, msg.attempt - 1, reason="stale",
                            error=gate.message)
    if gate.verdict == guards.DOWN:
        return out.dead(msg, outcomes.DESTINATION_DOWN, gate.message)
    now = out.clock()
    held = gate.verdict == guards.HOLD
    if held:
        held_for = now - (gate.held_since or now)
        delay = retry.jittered(deferral.hold_delay(held_for, gate.extras.get("cool_down") or 1, gate.delay),
                               out.rng)
    else:
        delay = max(gate.delay, 0.0)
    kept = _defer(out, msg, delay, gate.held_since if held else None)
    if kept is None:
        return _superseded(msg)
    if held and msg.held_since is None:
        _log(out, task, HELD, held_since=gate.held_since, last_error="the destination's circuit breaker is open",
             next_attempt_at=now + delay)
    opened_at = gate.extras.get("opened_at")
    return RecordResult(message_id, HELD if held else DEFERRED, task.event_id, task.route, msg.attempt - 1,
                        reason=gate.reason, delay=deferral.queue_delay(delay), left_on_queue=kept,
                        open_seconds=(now - opened_at) if held and opened_at else None)


def defer_again(out: Outcomes, msg: Message) -> RecordResult:
    """A message handed back after it re-enqueued its event (core/chains.py, `HandedOver`): whether its
    copy was sent is unknown, so it sends one now; if copies meet, the first to claim or defer wins."""
    kept = _defer(out, msg, 0, msg.held_since)
    if kept is None:
        return _superseded(msg)
    task = msg.task
    return RecordResult(msg.record.message_id, DEFERRED, task.event_id, task.route, msg.attempt - 1,
                        reason="handed_back", delay=0, left_on_queue=kept)


def probe_failed(out: Outcomes, msg: Message, http: HttpResult, attempt: dict[str, Any]) -> RecordResult:
    """The breaker's probe failed: a real request (logged as an attempt), but the event goes back to
    being held, without spending its retry schedule: one probe per cool-down must not dead-letter it.
    It comes back just after the cool-down, neither jittered nor grown with the hold: the next probe
    is kept for it (breaker.py), and it must be there to send it."""
    task = msg.task
    now = out.clock()
    held_since = msg.held_since if msg.held_since is not None else now
    try:
        out.events.record_attempt(event_id=task.event_id, route=task.log_route, status=HELD, attempt=attempt,
                                  source=task.source, received_at=task.received_at, held_since=held_since,
                                  last_error=http.error or f"probe failed: HTTP {http.status_code}")
    except StoreUnavailable as e:
        logger.warning("event log not updated", extra={"event_id": task.event_id, "error": str(e)})
    route = out.config.route(task.route)
    cool_down = out.config.destinations[route.destination].breaker.cool_down_seconds
    delay = cool_down + 1
    kept = _defer(out, msg, delay, held_since)
    if kept is None:  # not expected: this message's claim, moments ago, bound the route to it
        return _superseded(msg)
    return RecordResult(msg.record.message_id, HELD, task.event_id, task.route, msg.attempt, reason="probe_failed",
                        status_code=http.status_code, error=http.error, delay=delay,
                        latency_ms=http.latency_ms, left_on_queue=kept)


def _log(out: Outcomes, task: Any, status: str, **fields: Any) -> None:
    out.log(task, status, None, **{k: v for k, v in fields.items() if v is not None})


def _superseded(msg: Message) -> RecordResult:
    task = msg.task
    return RecordResult(msg.record.message_id, SUPERSEDED, task.event_id, task.route, msg.attempt - 1,
                        error="another message of this event owns the route's delivery")


def _defer(out: Outcomes, msg: Message, delay: float, held_since: float | None) -> bool | None:
    """Put the event back for later without spending an attempt. True when its message stays on the queue,
    False when a copy was re-enqueued, None when another message owns the route (nothing to do)."""
    record, task = msg.record, msg.task
    if ordering.is_fifo_record(record):
        if out.guard_store is not None:
            out.guard_store.add_deferral(task.route, task.event_id, held_since)
        out.change_visibility(record, deferral.queue_delay(delay))
        return True
    hand_over = getattr(out.claims, "hand_over", None)
    if hand_over is not None and not hand_over(msg.key, msg.claimant, until=out.binding_until(),
                                               fields=msg.item_fields):
        return None
    copy = deferral.requeued_task(task, msg.receive_count, held_since)
    try:
        out.queues.requeue(record.event_source_arn, copy.model_dump_json(exclude_none=True),
                           deferral.queue_delay(delay))
        return False
    except QueueUnavailable as e:
        # Keep the message instead: this receive will then count as an attempt (MaxReceiveCount is the backstop).
        logger.warning("could not re-enqueue a deferred event; keeping its message", extra={
            "event_id": task.event_id, "route": task.route, "error": str(e)})
        out.change_visibility(record, deferral.queue_delay(delay))
        return True
