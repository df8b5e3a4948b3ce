"""Warehouse destinations (`type: firehose`, `type: s3`): NDJSON lines, batched per delivery batch.

Firehose is AWS's own loader (buffering, conversion, S3 / Redshift / Snowflake): hookline only
hands it records with PutRecordBatch, one NDJSON line per event. `type: s3` is for small setups
without a stream: one NDJSON object per delivery batch under `<prefix>dt=YYYY-MM-DD/`.

The delivery engine sends one record at a time (each on its own thread, each inside its own
idempotency record). `Coalescer` turns the records that reach one warehouse destination at
about the same time (a delivery batch runs its records concurrently) into one call, and gives
each record its own outcome back: a record Firehose rejects is retried alone.

This module is pure: the Firehose / S3 calls are the `put` callables given by the adapters
(delivery/firehose.py, delivery/s3sink.py).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hookline.core.config import DestinationConfig
from hookline.core.errors import Problem

FIREHOSE_MAX_RECORDS = 500  # PutRecordBatch limits
FIREHOSE_MAX_BYTES = 4 * 1024 * 1024
FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024


def destination_problems(name: str, dest: DestinationConfig) -> list[Problem]:
    if dest.type not in ("http", "firehose", "s3"):
        return []  # an AWS target: send/targets.py checks it
    p = f"destinations.{name}"
    problems: list[Problem] = []
    needs = {"http": ("url",), "firehose": ("stream",), "s3": ("bucket",)}[dest.type]
    for key in needs:
        if getattr(dest, key) in (None, ""):
            example = {"url": 'url: "https://crm.example.com/contacts"', "stream": "stream: orders-to-warehouse",
                       "bucket": "bucket: my-warehouse-bucket"}[key]
            problems.append(Problem(f"{p}.{key}", f"a destination of type {dest.type} needs `{key}`",
                                    f"add e.g. {example}"))
    unused = [k for k in ("url", "stream", "bucket") if k not in needs and getattr(dest, k) not in (None, "")]
    if dest.type != "http":
        unused += [k for k in ("signing", "oauth2") if getattr(dest, k) is not None]
        unused += ["headers"] if dest.headers else []
    if dest.prefix and dest.type != "s3":
        unused.append("prefix")
    for key in unused:
        problems.append(Problem(f"{p}.{key}", f"not used by a destination of type {dest.type}",
                                "remove it, or change `type`"))
    return problems


def ndjson_line(body: bytes) -> bytes:
    """One compact JSON line; a body that is not JSON travels as a JSON string."""
    try:
        value: Any = json.loads(body)
    except ValueError:
        value = body.decode("utf-8", "replace")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def s3_key(prefix: str, now: float, token: str | None = None) -> str:
    """`<prefix>dt=YYYY-MM-DD/<HHMMSS>-<unique>.ndjson` (UTC): Hive-style, so Athena/Glue partition on dt."""
    t = datetime.fromtimestamp(now, tz=UTC)
    return f"{prefix}dt={t:%Y-%m-%d}/{t:%H%M%S}-{token or uuid.uuid4().hex}.ndjson"


@dataclass(frozen=True)
class PutResult:
    """Per record: None = stored, else (error text, permanent?)."""

    errors: list[tuple[str, bool] | None]


# put(lines) -> one PutResult entry per line, in order; raises on a call that failed as a whole.
Put = Callable[[list[bytes]], PutResult]


@dataclass
class _Pending:
    line: bytes
    done: threading.Event = field(default_factory=threading.Event)
    error: tuple[str, bool] | None = None


class Coalescer:
    """Collects lines for one destination for up to `window` seconds, then makes one `put` call."""

    def __init__(self, put: Put, *, window: float = 0.05, max_records: int = FIREHOSE_MAX_RECORDS,
                 max_bytes: int = FIREHOSE_MAX_BYTES, sleep: Callable[[float], None] = time.sleep) -> None:
        self._put = put
        self._window = window
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._sleep = sleep
        self._lock = threading.Lock()
        self._batch: list[_Pending] = []
        self._bytes = 0

    def pending(self) -> int:
        """Lines waiting for the current batch's call."""
        with self._lock:
            return len(self._batch)

    def submit(self, line: bytes) -> tuple[str, bool] | None:
        """Blocks until this line's batch is written; None when stored, else (error, permanent)."""
        item = _Pending(line)
        with self._lock:
            if self._batch and (len(self._batch) >= self._max_records or self._bytes + len(line) > self._max_bytes):
                self._flush_locked()
            leader = not self._batch
            self._batch.append(item)
            self._bytes += len(line)
        if leader:
            self._sleep(self._window)  # the others of this delivery batch join in the meantime
            with self._lock:
                if not item.done.is_set():
                    self._flush_locked()
        item.done.wait()
        return item.error

    def _flush_locked(self) -> None:
        batch, self._batch, self._bytes = self._batch, [], 0
        if not batch:
            return
        try:
            result = self._put([p.line for p in batch])
            errors = result.errors
        except Exception as e:  # the whole call failed: every record in it is retried
            errors = [(f"{type(e).__name__}: {e}", False)] * len(batch)
        for p, err in zip(batch, errors, strict=True):
            p.error = err
            p.done.set()
