"""One SQS message of the delivery queue while the engine works on it, and the event log entries it writes.

The engine (engine.py) fills a `Message` as it goes (prepare, guards, the send); the outcomes
(outcomes/settle.py) read it to write the event log and the DLQ message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from hookline.core import outcomes
from hookline.core.chains import Claimant
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult
from hookline.delivery.send.http import idempotency_key


@dataclass
class Message:
    record: SQSRecord
    task: DeliveryTask
    receive_count: int
    attempt: int
    schedule: list[int]
    started: float
    enriched: dict[str, Any] | None = None  # enrichment results, kept in the DLQ task for --dry-run
    schedule_attempt: int = 1  # within the retry schedule, deferrals not counted (outcomes/deferral.py)
    held_since: float | None = None
    envelope: dict[str, Any] | None = None  # built once by Preparer.prepare; the stale guard reads the record's version
    probe: bool = False  # this request is the circuit breaker's probe
    gate: Any = None  # the guards' gate that let it through: its rate slot is judged again at the send
    claimed: bool = False  # the delivery claim was asked for (a dead letter before it checks its terms first)

    @property
    def key(self) -> str:
        return idempotency_key(self.task.event_id, self.task.log_route)

    @property
    def claimant(self) -> Claimant:
        """This message, as the route's claim and the writes that share its terms see it (core/chains.py)."""
        return Claimant(self.record.message_id, self.task.chain, self.task.parent,
                        received_before=self.receive_count > 1)

    @property
    def item_fields(self) -> dict[str, Any]:
        return item_fields(self.task)


def item_fields(task: DeliveryTask) -> dict[str, Any]:
    # Ingress writes these when it records the event; repeating them keeps an item filterable
    # by `hookline events` even when it was created here (e.g. a replay after the log expired).
    return {"source": task.source, "received_at": task.received_at}


def attempt_entry(msg: Message, http: HttpResult | None, error: str, verdict: outcomes.Verdict) -> dict[str, Any]:
    """One attempt as the event log lists it."""
    return {
        "at": http.started_at if http else msg.started,
        "status_code": http.status_code if http else None,
        "latency_ms": round(http.latency_ms, 1) if http else None,
        "error": error or None,
        "outcome": verdict.value,
        # Which SQS message made the attempt: a DLQ replay, or a second queueing of the event, is another.
        "message_id": msg.record.message_id,
    }


def delivered_entry(saved: dict[str, Any], message_id: str | None) -> dict[str, Any]:
    """The delivered attempt, from what the idempotency record saved of it."""
    return {"at": saved.get("at"), "status_code": saved.get("status_code"), "latency_ms": saved.get("latency_ms"),
            "error": None, "outcome": outcomes.Verdict.DELIVERED.value, "message_id": message_id}


def first_receive(record: SQSRecord, default: float) -> float:
    try:
        return int(record.attributes.approximate_first_receive_timestamp) / 1000
    except (TypeError, ValueError, KeyError):
        return default
