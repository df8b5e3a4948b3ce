"""The DLQ message of an (event, route) that ends there: body and attributes.

The body is the DeliveryTask JSON with `prior_attempts` set to the attempts made
so far (a replay counts on) and `enriched` (the enrichment results, when the route has steps);
the attributes (names in hookline.messages) are route, source,
event_id, reason (String); status_code, attempts, first_attempt_at, last_attempt_at (Number,
times in epoch seconds); last_error (String, <= 500 chars, no secrets); and, when a transform
produced the body that failed, mapped_body (the JSON sent, for `hookline dlq replay --dry-run`).
"""

from __future__ import annotations

from typing import Any

from hookline.delivery.http import truncate
from hookline.messages import (
    DLQ_ATTR_ATTEMPTS,
    DLQ_ATTR_EVENT_ID,
    DLQ_ATTR_FIRST_ATTEMPT,
    DLQ_ATTR_LAST_ATTEMPT,
    DLQ_ATTR_LAST_ERROR,
    DLQ_ATTR_MAPPED_BODY,
    DLQ_ATTR_REASON,
    DLQ_ATTR_ROUTE,
    DLQ_ATTR_SOURCE,
    DLQ_ATTR_STATUS_CODE,
)

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
