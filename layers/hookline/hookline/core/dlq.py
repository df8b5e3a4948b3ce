"""The DLQ message of an (event, route) that ends there: one owner for both its writer and its reader.

The body is the DeliveryTask JSON with `prior_attempts` set to the attempts made so far (a replay
counts on) and `enriched` (the enrichment results, when the route has steps). The attributes are
route, source, event_id, reason (String); status_code, attempts, first_attempt_at,
last_attempt_at (Number, times in epoch seconds); last_error (String, <= 500 chars, no secrets);
and, when a transform produced the body that failed, mapped_body (the JSON sent, for
`hookline dlq replay --dry-run`). Delivery writes it (`dlq_attributes`, `with_mapped_body`); the
operators' tools read it (`DlqEntry.from_sqs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import truncate

# DLQ message attributes: what `hookline dlq list` shows without opening the body.
DLQ_ATTR_ROUTE = "route"
DLQ_ATTR_SOURCE = "source"
DLQ_ATTR_EVENT_ID = "event_id"
DLQ_ATTR_REASON = "reason"
DLQ_ATTR_STATUS_CODE = "status_code"
DLQ_ATTR_LAST_ERROR = "last_error"
DLQ_ATTR_ATTEMPTS = "attempts"
DLQ_ATTR_FIRST_ATTEMPT = "first_attempt_at"
DLQ_ATTR_LAST_ATTEMPT = "last_attempt_at"
# The body the failed attempt sent: `dlq replay --dry-run` compares it with the mapping now.
DLQ_ATTR_MAPPED_BODY = "mapped_body"

# Set on a replayed message, for traceability in the deliver function's logs.
REPLAY_ATTR_FROM = "replayed_from"
REPLAY_ATTR_AT = "replayed_at"

# Reasons the reader assigns when the delivery engine recorded none.
REASON_MAX_RECEIVES = "max_receives"  # SQS moved it after maxReceiveCount receives (the function kept crashing)
REASON_UNREADABLE = "invalid_task"  # the body is not a DeliveryTask (outcomes.INVALID_TASK): not replayable

MAX_MAPPED_BODY_ATTR_BYTES = 64 * 1024
MAX_DLQ_MESSAGE_BYTES = 250 * 1024  # SQS allows 256 KiB in all; keep room for the attributes' names


def with_mapped_body(attrs: dict[str, Any], body: str, mapped_text: str | None) -> dict[str, Any]:
    """The attributes plus `mapped_body` (the JSON a transform produced, for `dlq replay --dry-run`) when
    it fits in an attribute and in the message."""
    if mapped_text is not None and len(mapped_text.encode()) <= MAX_MAPPED_BODY_ATTR_BYTES \
            and len(body.encode()) + len(mapped_text.encode()) + 2048 <= MAX_DLQ_MESSAGE_BYTES:
        attrs[DLQ_ATTR_MAPPED_BODY] = {"DataType": "String", "StringValue": mapped_text}
    return attrs


def dlq_attributes(*, reason: str, last_error: str, attempts: int, first_attempt_at: float,
                   last_attempt_at: float, route: str | None = None, source: str | None = None,
                   event_id: str | None = None, status_code: int | None = None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}

    def text(name: str, value: str | None) -> None:
        if value:  # SQS refuses empty attribute values
            attrs[name] = {"DataType": "String", "StringValue": value}

    def number(name: str, value: float | None) -> None:
        if value is not None:
            attrs[name] = {"DataType": "Number",
                           "StringValue": str(value) if isinstance(value, int) else f"{value:.3f}"}

    text(DLQ_ATTR_ROUTE, route)
    text(DLQ_ATTR_SOURCE, source)
    text(DLQ_ATTR_EVENT_ID, event_id)
    text(DLQ_ATTR_REASON, reason)
    number(DLQ_ATTR_STATUS_CODE, status_code)
    text(DLQ_ATTR_LAST_ERROR, truncate(last_error) if last_error else reason)
    number(DLQ_ATTR_ATTEMPTS, attempts)
    number(DLQ_ATTR_FIRST_ATTEMPT, first_attempt_at)
    number(DLQ_ATTR_LAST_ATTEMPT, last_attempt_at)
    return attrs


# ---------------------------------------------------------------- reading


def _attr(attrs: dict[str, Any], name: str) -> str | None:
    value = attrs.get(name)
    if not isinstance(value, dict):
        return None
    text = value.get("StringValue")
    return text if text not in (None, "") else None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    number = _number(text)
    return int(number) if number is not None else None


@dataclass
class DlqEntry:
    """One DLQ message: what failed (attributes) and what to send again (the DeliveryTask body)."""

    message_id: str
    receipt_handle: str | None
    body: str
    task: DeliveryTask | None
    event_id: str | None
    source: str | None
    route: str | None
    reason: str
    status_code: int | None = None
    last_error: str | None = None
    attempts: int | None = None
    first_attempt_at: float | None = None
    last_attempt_at: float | None = None
    mapped_body: str | None = None
    sent_at: float | None = None  # when the message entered the DLQ (SQS SentTimestamp)
    receive_count: int | None = None
    problem: str | None = None  # why the body is not a DeliveryTask

    @classmethod
    def from_sqs(cls, message: dict[str, Any]) -> DlqEntry:
        attrs = message.get("MessageAttributes") or {}
        system = message.get("Attributes") or {}
        body = message.get("Body") or ""
        task: DeliveryTask | None = None
        problem = None
        try:
            task = DeliveryTask.model_validate_json(body)
        except ValidationError as e:
            problem = f"not a DeliveryTask: {e.errors()[0]['msg'] if e.errors() else e}"
        reason = _attr(attrs, DLQ_ATTR_REASON) or (REASON_UNREADABLE if task is None else REASON_MAX_RECEIVES)
        sent = _number(system.get("SentTimestamp"))
        attempts = _int(_attr(attrs, DLQ_ATTR_ATTEMPTS))
        if attempts is None and task is not None and task.prior_attempts:
            attempts = task.prior_attempts
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message.get("ReceiptHandle"),
            body=body,
            task=task,
            event_id=_attr(attrs, DLQ_ATTR_EVENT_ID) or (task.event_id if task else None),
            source=_attr(attrs, DLQ_ATTR_SOURCE) or (task.source if task else None),
            route=_attr(attrs, DLQ_ATTR_ROUTE) or (task.route if task else None),
            reason=reason,
            status_code=_int(_attr(attrs, DLQ_ATTR_STATUS_CODE)),
            last_error=_attr(attrs, DLQ_ATTR_LAST_ERROR) or problem,
            attempts=attempts,
            first_attempt_at=_number(_attr(attrs, DLQ_ATTR_FIRST_ATTEMPT)),
            last_attempt_at=_number(_attr(attrs, DLQ_ATTR_LAST_ATTEMPT)),
            mapped_body=_attr(attrs, DLQ_ATTR_MAPPED_BODY),
            sent_at=sent / 1000 if sent is not None else None,
            receive_count=_int(system.get("ApproximateReceiveCount")),
            problem=problem,
        )

    @property
    def key(self) -> str:
        """`event_id:route`, the Idempotency-Key the destination sees."""
        return f"{self.event_id}:{self.route}"

    @property
    def failed_at(self) -> float | None:
        """When it was dead-lettered: the last attempt, else when SQS received it."""
        return self.last_attempt_at if self.last_attempt_at is not None else self.sent_at

    @property
    def replayable(self) -> bool:
        return self.task is not None

    def to_dict(self) -> dict[str, Any]:
        """The `dlq list --json` record (times are epoch seconds)."""
        return {
            "id": self.event_id, "message_id": self.message_id, "source": self.source, "route": self.route,
            "reason": self.reason, "status_code": self.status_code, "attempts": self.attempts,
            "first_attempt_at": self.first_attempt_at, "last_attempt_at": self.last_attempt_at,
            "last_error": self.last_error, "dead_lettered_at": self.sent_at,
            "type": self.task.type if self.task else None,
            "received_at": self.task.received_at if self.task else None,
            "s3_key": self.task.s3_key if self.task else None,
            "has_mapped_body": self.mapped_body is not None, "replayable": self.replayable,
        }
