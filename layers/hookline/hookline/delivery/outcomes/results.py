"""What happened to one SQS record of the delivery queue: its status, and the metrics and log line it gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from hookline.core import outcomes
from hookline.observability import count, logger, metrics

# Record statuses (also the event log's, except in_progress which is not recorded).
DELIVERED, RETRYING, DEAD, IN_PROGRESS = "delivered", "retrying", "dead", "in_progress"
# Not sent, and not attempts (deferral.py): stale is final; held and deferred look again later.
STALE, HELD, DEFERRED = "stale", "held", "deferred"
# Not sent (core/chains.py): another message of the same event (a second queueing, or another copy
# of a deferral) owns this route's delivery; this message was dead-lettered already (its acknowledgement
# was lost).
SUPERSEDED, ALREADY_DEAD = "superseded", "already_dead_lettered"


@dataclass
class RecordResult:
    """What happened to one SQS record (returned by `Delivery.process`)."""

    message_id: str
    status: str  # delivered | retrying | dead | in_progress
    event_id: str | None = None
    route: str | None = None
    attempt: int = 0  # lifetime attempt number
    reason: str | None = None  # DLQ reason when dead; retry category when retrying
    status_code: int | None = None
    error: str | None = None
    delay: int | None = None  # seconds until the retry
    latency_ms: float | None = None  # HTTP round trips of this attempt
    end_to_end_ms: float | None = None  # received at ingress -> 2xx
    replayed: bool = False  # delivered earlier: no request made this time
    left_on_queue: bool = False  # a deferral that kept its message (FIFO) instead of re-enqueueing it
    open_seconds: float | None = None  # held: how long the destination's breaker has been open

    @property
    def report_failure(self) -> bool:
        """Left on the queue (SQS redelivers it after the visibility timeout we set)."""
        return self.status in (RETRYING, IN_PROGRESS) or self.left_on_queue

    def log_fields(self) -> dict[str, Any]:
        fields = {"event_id": self.event_id, "route": self.route, "message_id": self.message_id,
                  "attempt": self.attempt, "status_code": self.status_code, "reason": self.reason,
                  "delay_seconds": self.delay, "error": self.error,
                  "latency_ms": round(self.latency_ms, 1) if self.latency_ms is not None else None,
                  "end_to_end_ms": round(self.end_to_end_ms, 1) if self.end_to_end_ms is not None else None}
        return {k: v for k, v in fields.items() if v is not None}


def observe(r: RecordResult) -> None:
    """The record's metrics and log line (event-loop thread only: Metrics is not thread-safe)."""
    fields = r.log_fields()
    if r.status == DELIVERED:
        if r.replayed:
            count("DeliveryDeduplicated")
            logger.info("already delivered; no request sent", extra=fields)
            return
        count("Delivered")
        if r.end_to_end_ms is not None:
            metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Milliseconds, value=r.end_to_end_ms)
        if r.latency_ms is not None:
            metrics.add_metric(name="DestinationLatency", unit=MetricUnit.Milliseconds, value=r.latency_ms)
        logger.info("delivered", extra=fields)
    elif r.status == RETRYING:
        count("Retried")
        logger.warning("delivery failed; retrying", extra=fields)
    elif r.status == DEAD:
        count("DeadLettered", reason=r.reason)
        if r.reason in (outcomes.SCHEMA, outcomes.MAPPING):
            count("SchemaDrift")
        logger.error("dead-lettered", extra=fields)
    elif r.status == IN_PROGRESS:
        count("DeliveryInProgress")
        logger.info("another copy is being delivered; checking again shortly", extra=fields)
    elif r.status == SUPERSEDED:
        count("DeliverySuperseded")
        logger.info("another message of this event owns the delivery; message dropped", extra=fields)
    elif r.status == ALREADY_DEAD:
        logger.warning("message handed back after it was dead-lettered; not attempted again", extra=fields)
    elif r.status == STALE:
        count("Stale")
        logger.info("stale version; not sent", extra=fields)
    elif r.status == HELD:
        count("Held")
        if r.open_seconds is not None:
            metrics.add_metric(name="BreakerOpenSeconds", unit=MetricUnit.Seconds, value=r.open_seconds)
        logger.info("held: circuit breaker open", extra=fields)
    elif r.status == DEFERRED:
        count("Deferred", reason=r.reason)
        logger.info("deferred (not an attempt)", extra=fields)
