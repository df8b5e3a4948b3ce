"""What becomes of a message once the engine knows: delivered, retried, dead-lettered, refused, held back.

`Outcomes` is the engine's collaborator for every write that follows a decision (engine.py owns one):
the event log's entry, the message's visibility (a retry's delay), the DLQ message (core/dlq.py), and
the claim's terms checked before a dead letter sent without a claim (core/chains.py). The event log is
best effort where the queue and the DLQ are the truth; a DLQ that refuses fails the message, so SQS
hands it back. What happens to messages the guards stop is in held_back.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from hookline.core import dlq, outcomes, ports
from hookline.core.chains import AlreadyDeadLettered, HandedOver, NotThisMessage
from hookline.core.config import HooklineConfig
from hookline.core.errors import QueueUnavailable, StoreUnavailable
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult, truncate
from hookline.delivery.context import Message, attempt_entry, delivered_entry, first_receive, item_fields
from hookline.delivery.guards import guards
from hookline.delivery.outcomes import deferral, held_back, retry
from hookline.delivery.outcomes.results import (
    ALREADY_DEAD,
    DEAD,
    DELIVERED,
    RETRYING,
    SUPERSEDED,
    RecordResult,
)
from hookline.observability import logger


class Outcomes:
    def __init__(self, *, config: HooklineConfig, events: ports.EventLog, queues: ports.DeliveryQueues,
                 claims: Any, guard_store: ports.GuardStore | None = None, clock: Callable[[], float] = time.time,
                 rng: retry.Uniform, binding_seconds: float) -> None:
        self.config = config
        self.events = events
        self.queues = queues
        self.claims = claims  # the engine's persistence layer: a ports.ClaimStore when it offers the extra terms
        self.guard_store = guard_store  # deferral counters of ordered (FIFO) messages
        self.clock = clock
        self.rng = rng
        self.binding_seconds = binding_seconds  # the idempotency window

    # -- delivered

    def delivered(self, msg: Message, saved: dict[str, Any]) -> RecordResult:
        """`saved`: what the idempotency record keeps of the send."""
        task = msg.task
        replayed = bool(saved.get("replayed"))
        delivered_at = float(saved.get("delivered_at") or self.clock())
        if not getattr(self.claims, "logs_delivery", False):  # else: written with the claim's completion
            # Not best-effort: if this write fails the message is retried, and the retry sends nothing
            # (the idempotency record answers) but records the delivery.
            self.events.record_attempt(event_id=task.event_id, route=task.log_route, status=DELIVERED,
                                       attempt=None if replayed else delivered_entry(saved, msg.record.message_id),
                                       delivered_at=delivered_at, **item_fields(task))
        return RecordResult(msg.record.message_id, DELIVERED, task.event_id, task.route, msg.attempt,
                            status_code=saved.get("status_code"),
                            latency_ms=None if replayed else saved.get("latency_ms"),
                            end_to_end_ms=None if replayed else max(delivered_at - task.received_at, 0) * 1000,
                            replayed=replayed)

    # -- not delivered

    def retry_or_dead(self, msg: Message, *, error: str, category: str | None, http: HttpResult | None = None,
                      status_code: int | None = None, retry_after: str | None = None,
                      mapped_text: str | None = None) -> RecordResult:
        now = self.clock()
        delay = retry.next_delay(msg.schedule_attempt, msg.schedule, retry_after, rng=self.rng, now=now)
        if delay is None:
            return self.dead(msg, outcomes.RETRIES_EXHAUSTED, error, http=http, status_code=status_code,
                             mapped_text=mapped_text)
        self.change_visibility(msg.record, delay)
        task = msg.task
        attempt = attempt_entry(msg, http, error, outcomes.Verdict.RETRY)
        # The delay chosen, kept as chosen: a reader working it out later from next_attempt_at and its own
        # clock gets less (a 1 s retry read half a second late showed as "retry in 0 s").
        attempt["retry_in"] = delay
        self.log(task, RETRYING, attempt, last_error=error, next_attempt_at=now + delay)
        return RecordResult(msg.record.message_id, RETRYING, task.event_id, task.route, msg.attempt,
                            reason=category, status_code=status_code, error=error, delay=delay,
                            latency_ms=http.latency_ms if http else None)

    def dead(self, msg: Message, reason: str, error: str, *, http: HttpResult | None = None,
             status_code: int | None = None, mapped_text: str | None = None) -> RecordResult:
        refused = self._dead_letter_refused(msg)
        if refused is not None:
            return refused
        task, now = msg.task, self.clock()
        error = error or reason
        first = self._first_attempt_at(msg)
        dead = deferral.dead_letter_task(task, msg.attempt)
        enriched = None
        if msg.enriched and len(json.dumps(msg.enriched, default=str)) <= dlq.MAX_MAPPED_BODY_ATTR_BYTES:
            enriched = msg.enriched
        body = dead.model_copy(update={"enriched": enriched}).model_dump_json(exclude_none=True)
        attrs = dlq.dlq_attributes(
            route=task.route, source=task.source, event_id=task.event_id, reason=reason, status_code=status_code,
            last_error=error, attempts=msg.attempt, first_attempt_at=first,
            last_attempt_at=http.started_at if http else msg.started,
        )
        attrs = dlq.with_mapped_body(attrs, body, mapped_text)
        # Must succeed: if the DLQ cannot take it, the record fails and SQS hands it back later.
        self.queues.dead_letter(body, attrs)
        # Only now, naming the message: handed back after this (its acknowledgement lost), it is not
        # attempted again (core/chains.py).
        self.log(task, DEAD, attempt_entry(msg, http, error, outcomes.Verdict.PERMANENT),
                 reason=reason, last_error=error, dead_at=now, dead_message_id=msg.record.message_id)
        return RecordResult(msg.record.message_id, DEAD, task.event_id, task.route, msg.attempt, reason=reason,
                            status_code=status_code, error=error, latency_ms=http.latency_ms if http else None)

    def unreadable(self, record: SQSRecord, receive_count: int, exc: ValidationError) -> RecordResult:
        """A body that is no DeliveryTask: to the DLQ as it came (`invalid_task`)."""
        first = exc.errors()[0] if exc.errors() else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        error = truncate(f"not a DeliveryTask: {where + ': ' if where else ''}{first['msg'] if first else exc}")
        now = self.clock()
        attrs = dlq.dlq_attributes(reason=outcomes.INVALID_TASK, last_error=error, attempts=receive_count,
                                   first_attempt_at=first_receive(record, now), last_attempt_at=now)
        self.queues.dead_letter(record.body or "{}", attrs)
        return RecordResult(record.message_id, DEAD, attempt=receive_count, reason=outcomes.INVALID_TASK, error=error)

    def refused(self, msg: Message, refused: NotThisMessage) -> RecordResult:
        """The claim's terms refused this message (core/chains.py)."""
        if isinstance(refused, HandedOver):  # its copy may never have been sent: send one (again)
            return held_back.defer_again(self, msg)
        # The pair is another message's to deliver, or in the DLQ already: acknowledge this one.
        return RecordResult(msg.record.message_id, ALREADY_DEAD if isinstance(refused, AlreadyDeadLettered)
                            else SUPERSEDED, msg.task.event_id, msg.task.route, msg.attempt - 1, error=str(refused))

    # -- held back by the guards (held_back.py)

    def not_sent(self, msg: Message, gate: guards.Gate) -> RecordResult:
        return held_back.not_sent(self, msg, gate)

    def probe_failed(self, msg: Message, http: HttpResult) -> RecordResult:
        return held_back.probe_failed(self, msg, http, attempt_entry(msg, http, http.error or "",
                                                                      outcomes.Verdict.RETRY))

    # -- the writes they share

    def change_visibility(self, record: SQSRecord, seconds: int) -> None:
        try:
            self.queues.change_visibility(record.event_source_arn, record.receipt_handle, retry.clamp(seconds))
        except QueueUnavailable as e:
            # The record is still reported failed: SQS retries it after the queue's own visibility timeout.
            logger.warning("could not set the retry delay; the queue's visibility timeout applies",
                           extra={"message_id": record.message_id, "delay_seconds": seconds, "error": str(e)})

    def log(self, task: DeliveryTask, status: str, attempt: dict[str, Any] | None, **fields: Any) -> None:
        """The route's entry in the event log, best effort: the queue and the DLQ are the truth for retrying
        and dead, and a failed log write must not change them."""
        try:
            self.events.record_attempt(event_id=task.event_id, route=task.log_route, status=status, attempt=attempt,
                                       **fields, **item_fields(task))
        except StoreUnavailable as e:
            logger.warning("event log not updated", extra={"event_id": task.event_id, "route": task.route,
                                                           "status": status, "error": str(e)})

    def binding_until(self) -> float:
        """When a binding of the route to a message's chain, written now, lapses: with the idempotency window."""
        return self.clock() + self.binding_seconds

    def _dead_letter_refused(self, msg: Message) -> RecordResult | None:
        """Before a dead letter sent without a claim: the claim's terms, checked in one write (None: go on).
        A failed check is logged and the dead letter sent: a second DLQ entry is better than none."""
        check = getattr(self.claims, "before_dead_letter", None)
        if msg.claimed or check is None:
            return None
        try:
            check(msg.key, msg.claimant, until=self.binding_until(), fields=msg.item_fields)
        except NotThisMessage as refused:
            return self.refused(msg, refused)
        except StoreUnavailable as e:
            logger.warning("could not check the route before dead-lettering it; dead-lettering anyway",
                           extra={"event_id": msg.task.event_id, "route": msg.task.route, "error": str(e)})
        return None

    def _first_attempt_at(self, msg: Message) -> float:
        if msg.task.prior_attempts == 0 and msg.receive_count == 1:
            return msg.started
        try:
            for item in self.events.get(msg.task.event_id):
                if item.get("route") == msg.task.log_route:
                    times = [a["at"] for a in item.get("attempts") or [] if isinstance(a.get("at"), int | float)]
                    if times:
                        return float(min(times))
        except StoreUnavailable:
            pass  # the first receive's time below is the next best
        return first_receive(msg.record, msg.started)
