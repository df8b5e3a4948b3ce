"""The event archive's records: every accepted event, and every delivery attempt's outcome, as NDJSON lines.

Delivery writes them (one Firehose PutRecordBatch per SQS batch, after the batch's deliveries: never a
request per event, never before a delivery); Firehose partitions them into S3 under
`archive/events/dt=YYYY-MM-DD/source=S/` (template.yaml), where `hookline events search` reads them
(Athena deployed, DuckDB under `hookline dev`).

Two kinds of line, told apart by `kind`:

- `event`: id, source, type, route, received_at (epoch seconds), the forwardable headers and the body,
  both redacted as the DLQ's readers redact them (core/redaction.py), each as JSON text (`headers`,
  `body`) so one Glue column type serves any shape of body (`body_encoding`: `json`, or the sender's
  text / base64 as one JSON string). Written on the first receive of the event's
  message for a route: an event with two routes has two event lines (`route` differs), and a line written
  twice (a crash between the put and the acknowledgement) is the same line: readers take DISTINCT.
  A later re-send finds here what it needs: id, source, type, received_at, headers, body, routes. A
  re-send's own lines name its route as `<route>#resend-<n>` (DeliveryTask.log_route).
- `attempt`: id, route, attempt number, status (delivered / retrying / dead), status_code, latency_ms,
  reason and when: never the body.

`dt` is the event's reception day (UTC) on both kinds, so an event's attempts share its partition.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from hookline.core.messages import DeliveryTask
from hookline.core.redaction import redact, redact_headers
from hookline.observability import count, logger

KIND_EVENT, KIND_ATTEMPT = "event", "attempt"
# The record statuses that are attempts (a request was made, or the event ended there). Others (stale,
# held, deferred, superseded, in progress) sent nothing: no attempt line.
ATTEMPT_STATUSES = frozenset({"delivered", "retrying", "dead"})

# PutRecordBatch's limits: 500 records, 4 MiB a call, 1,000 KiB a record.
MAX_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024


def day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def _body_text(task: DeliveryTask) -> tuple[str | None, str]:
    """The body as archived, always JSON text (so the engines' JSON functions never meet malformed JSON), and
    its encoding: `json` (redacted), else the text (`utf-8`) or its base64 (`base64`) as one JSON string."""
    if task.body is None:
        return None, task.body_encoding
    if task.body_encoding == "utf-8":
        try:
            value = json.loads(task.body)
        except (ValueError, RecursionError):
            pass
        else:
            return json.dumps(redact(value), separators=(",", ":"), ensure_ascii=False), "json"
    return json.dumps(task.body, ensure_ascii=False), task.body_encoding


def event_record(task: DeliveryTask, now: float) -> dict[str, Any]:
    body, encoding = _body_text(task)
    record: dict[str, Any] = {
        "kind": KIND_EVENT, "id": task.event_id, "source": task.source, "type": task.type, "route": task.log_route,
        "received_at": task.received_at, "dt": day(task.received_at),
        "headers": json.dumps(redact_headers(task.headers), separators=(",", ":"), ensure_ascii=False),
        "body": body, "body_encoding": encoding,
        "archived_at": round(now, 3),
    }
    if task.s3_key is not None:  # over the inline limit: the body stays in the payload bucket
        record["s3_key"] = task.s3_key
    return record


def attempt_record(task: DeliveryTask, *, status: str, attempt: int, status_code: int | None,
                   latency_ms: float | None, reason: str | None, at: float) -> dict[str, Any]:
    return {
        "kind": KIND_ATTEMPT, "id": task.event_id, "source": task.source, "type": task.type, "route": task.log_route,
        "received_at": task.received_at, "dt": day(task.received_at), "attempt": attempt, "status": status,
        "status_code": status_code, "latency_ms": round(latency_ms, 1) if latency_ms is not None else None,
        "reason": reason, "at": round(at, 3),
    }


def line(record: dict[str, Any]) -> bytes:
    data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    if len(data) > MAX_RECORD_BYTES and record.get("body") is not None:
        # Firehose refuses the record whole: keep the event findable by its fields, without the body.
        return line({**record, "body": None, "body_truncated": True})
    return data


def chunks(lines: list[bytes]) -> list[list[bytes]]:
    """Lines grouped within PutRecordBatch's record count and size."""
    out: list[list[bytes]] = []
    size = 0
    for data in lines:
        if not out or len(out[-1]) >= MAX_RECORDS or size + len(data) > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(data)
        size += len(data)
    return out


class ArchiveBatch:
    """The lines of one SQS batch, noted by the worker threads as each record finishes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._lines: list[bytes] = []

    def note(self, body: str, receive_count: int, *, status: str, attempt: int, status_code: int | None,
             latency_ms: float | None, reason: str | None, replayed: bool = False) -> None:
        try:
            task = DeliveryTask.model_validate_json(body)
        except ValidationError:
            return  # dead-lettered as invalid_task: nothing of an event to keep
        now = self._clock()
        lines = []
        # The first receive of the event's own message for this route (not a replay, not a deferral's copy).
        if receive_count <= 1 and task.prior_attempts == 0 and task.schedule_attempts == 0 and task.parent is None:
            lines.append(line(event_record(task, now)))
        if status in ATTEMPT_STATUSES and not replayed:
            lines.append(line(attempt_record(task, status=status, attempt=attempt, status_code=status_code,
                                             latency_ms=latency_ms, reason=reason, at=now)))
        if lines:
            with self._lock:
                self._lines.extend(lines)

    def lines(self) -> list[bytes]:
        with self._lock:
            return list(self._lines)


def write(sink: Any, batch: ArchiveBatch) -> int:
    """Put the batch's lines, one PutRecordBatch per MAX_RECORDS; the number of lines not archived.

    Never raises: the deliveries are done and acknowledged by their own outcome, and the archive is a
    record of them, not a step of them. A failure is logged (no body, no headers) and counted as the
    `ArchiveFailed` metric, per line lost.
    """
    lines = batch.lines()
    lost = 0
    for part in chunks(lines):
        try:
            lost += sink.put(part)
        except Exception as e:  # any failure of the archive's call: the batch's outcome must not change
            lost += len(part)
            logger.warning("event archive not written",
                           extra={"lines": len(part), "error": f"{type(e).__name__}: {e}"[:300]})
    if lost:
        count("ArchiveFailed", value=lost)
    return lost
