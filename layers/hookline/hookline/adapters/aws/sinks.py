"""Warehouse senders (adapters): `type: firehose` (PutRecordBatch) and `type: s3` (PutObject).

`Warehouse.send` has the HTTP sender's shape (-> HttpResult), so the engine's outcome rules
apply unchanged: stored = delivered (reported as 200); throttling, service errors and a record
Firehose rejected = retried on the schedule; a missing stream or bucket, or access denied =
permanent (DLQ reason `config`: the configuration or the stack's IAM must change).
One Coalescer per destination batches the records of a delivery batch into one call.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.core.outcomes import HttpResult, truncate
from hookline.delivery.send.warehouse import Coalescer, PutResult, ndjson_line, s3_key

# Errors no retry can fix: the stream or bucket is not there, or the role may not write to it.
PERMANENT_CODES = frozenset({"ResourceNotFoundException", "NoSuchBucket", "AccessDenied", "AccessDeniedException",
                             "InvalidArgumentException", "InvalidBucketName", "UnauthorizedOperation"})


class Warehouse:
    def __init__(self, firehose: Any = None, s3: Any = None, *, window: float = 0.05,
                 clock: Any = time.time, sleep: Any = time.sleep) -> None:
        self._clients = {"firehose": firehose, "s3": s3}
        self._lock = threading.Lock()
        self._coalescers: dict[str, Coalescer] = {}
        self._window = window
        self._clock = clock
        self._sleep = sleep  # a batch's first line waits this long (the window) for the others to join

    def _client(self, service: str) -> Any:
        with self._lock:  # boto3 client creation is not thread-safe
            if self._clients[service] is None:
                self._clients[service] = boto3.session.Session().client(service)
            return self._clients[service]

    def _coalescer(self, name: str, dest: DestinationConfig) -> Coalescer:
        with self._lock:
            c = self._coalescers.get(name)
            if c is None:
                put = (lambda lines, d=dest: self._put_firehose(d, lines)) if dest.type == "firehose" \
                    else (lambda lines, d=dest: self._put_s3(d, lines))
                c = self._coalescers[name] = Coalescer(put, window=self._window, sleep=self._sleep)
            return c

    def pending(self) -> int:
        """Lines waiting, across destinations, for their batch's call."""
        with self._lock:
            coalescers = list(self._coalescers.values())
        return sum(c.pending() for c in coalescers)

    def send(self, dest: DestinationConfig, *, body: bytes, name: str | None = None) -> HttpResult:
        started, t0 = self._clock(), time.perf_counter()
        key = name or f"{dest.type}:{dest.stream or ''}:{dest.bucket or ''}:{dest.prefix}"
        error = self._coalescer(key, dest).submit(ndjson_line(body))
        latency = (time.perf_counter() - t0) * 1000
        if error is None:
            return HttpResult(started_at=started, latency_ms=latency, status_code=200, requests_made=1)
        text, permanent = error
        return HttpResult(started_at=started, latency_ms=latency, error=truncate(text), requests_made=1,
                          error_kind=outcomes.INVALID_REQUEST if permanent else outcomes.CONNECTION)

    # -- the calls

    def _put_firehose(self, dest: DestinationConfig, lines: list[bytes]) -> PutResult:
        try:
            resp = self._client("firehose").put_record_batch(DeliveryStreamName=dest.stream,
                                                              Records=[{"Data": line} for line in lines])
        except (ClientError, BotoCoreError) as e:
            return PutResult([_describe("firehose PutRecordBatch", dest.stream, e)] * len(lines))
        answers = resp.get("RequestResponses") or []
        errors: list[tuple[str, bool] | None] = []
        for i in range(len(lines)):
            r = answers[i] if i < len(answers) else {"ErrorCode": "Missing", "ErrorMessage": "no answer"}
            errors.append((f"firehose {dest.stream}: {r['ErrorCode']}: {r.get('ErrorMessage', '')}", False)
                          if r.get("ErrorCode") else None)
        return PutResult(errors)

    def _put_s3(self, dest: DestinationConfig, lines: list[bytes]) -> PutResult:
        key = s3_key(dest.prefix, self._clock())
        try:
            self._client("s3").put_object(Bucket=dest.bucket, Key=key, Body=b"".join(lines),
                                          ContentType="application/x-ndjson")
        except (ClientError, BotoCoreError) as e:
            return PutResult([_describe("s3 PutObject", dest.bucket, e)] * len(lines))
        return PutResult([None] * len(lines))


def _describe(call: str, target: str | None, e: Exception) -> tuple[str, bool]:
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "")
        return f"{call} {target}: {code}: {e.response.get('Error', {}).get('Message', '')}", code in PERMANENT_CODES
    return f"{call} {target}: {type(e).__name__}", False
