"""An SQS event source mapping, run locally: poll, batch, invoke, delete what succeeded.

As Lambda's SQS poller does:

- long-polls the queue (here at most `wait_seconds` per call, so Ctrl-C is prompt) with
  all system and message attributes; messages become invisible for the queue's
  VisibilityTimeout on receipt, exactly as with Lambda;
- gathers up to `BatchSize` messages, waiting at most `MaximumBatchingWindowInSeconds`
  after the first one (and never over the 6 MB invocation payload);
- invokes the function with the SQS event (checked against Powertools' `SqsModel`) and a
  context whose remaining time counts down from the function's Timeout;
- on success deletes every message, except, with `ReportBatchItemFailures`, those listed in
  `batchItemFailures` (an unknown or empty `itemIdentifier` fails the whole batch);
- on an error or timeout deletes nothing: the messages reappear after their visibility
  timeout (or whatever visibility the function set) and, past the queue's
  maxReceiveCount, SQS itself moves them to the dead letter queue.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookline.local import faults
from hookline.local.runtime import LAMBDA_PAYLOAD_LIMIT
from hookline.local.shapes import shape_problem
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, to_lambda_records


@dataclass
class BatchResult:
    records: list[dict[str, Any]]
    invocation: Any  # runtime.Invocation
    failed_ids: set[str] = field(default_factory=set)
    deleted: int = 0
    problem: str = ""  # the batch response was invalid, deletes failed, ...


def validate_sqs_event(event: dict[str, Any]) -> str:
    """'' when Powertools' SqsModel accepts the event, else the reason."""
    # lazy: Powertools' parser models (~180 ms) load with the first event built.
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    return shape_problem(SqsModel, event)


def failed_item_ids(result: Any, message_ids: set[str]) -> tuple[set[str], str]:
    """The message ids a ReportBatchItemFailures response marks failed, and a problem ('' if valid).

    Lambda treats a missing / null / empty response (or an empty list) as full success, and
    a response naming an id that is empty or not in the batch as a failure of the whole batch.
    """
    if result is None or result == {} or result == "":
        return set(), ""
    if not isinstance(result, dict):
        return set(message_ids), f"batch response is a {type(result).__name__}, not an object"
    items = result.get("batchItemFailures")
    if items is None:
        return set(), ""
    if not isinstance(items, list):
        return set(message_ids), "batchItemFailures is not a list"
    failed: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in message_ids:
            return set(message_ids), f"batchItemFailures names an unknown itemIdentifier {ident!r}"
        failed.add(ident)
    return failed, ""


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        function: Any,  # runtime.LocalFunction
        batch_size: int = 10,
        window_seconds: float = 0.0,
        report_batch_item_failures: bool = False,
        listener: Callable[[BatchResult], None] | None = None,
        wait_seconds: int = 1,
        validate: bool = True,
        name: str = "",
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.function = function
        self.batch_size = max(1, batch_size)
        self.window_seconds = max(0.0, window_seconds)
        self.report_batch_item_failures = report_batch_item_failures
        self.listener = listener
        self.wait_seconds = wait_seconds
        self.validate = validate
        self.name = name or f"{function.logical_id}<-{queue_arn.rsplit(':', 1)[-1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller {self.name}", daemon=True)

    # -- lifecycle
    def start(self) -> SqsPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                result = self.poll_once()
            except Exception as e:  # the emulator going away at shutdown, a transient error
                if self._stop.is_set():
                    return
                print(f"poller {self.name}: {type(e).__name__}: {e}", flush=True)
                self._stop.wait(1.0)
                continue
            if result is not None and self.listener is not None:
                try:
                    self.listener(result)
                except Exception as e:
                    print(f"(console error: {e})", flush=True)

    # -- one batch
    def _receive(self, max_messages: int, wait: int) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=max(1, min(10, max_messages)), WaitTimeSeconds=wait,
            **RECEIVE_ATTRIBUTES)
        return list(resp.get("Messages") or [])

    def collect(self) -> list[dict[str, Any]]:
        """One batch: first messages within `wait_seconds`, then more until full or the window closes."""
        messages = self._receive(self.batch_size, self.wait_seconds)
        if not messages:
            return []
        size = sum(len(json.dumps(m)) for m in messages)
        deadline = time.monotonic() + self.window_seconds
        while len(messages) < self.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(self.batch_size - len(messages), 1 if remaining >= 1 else 0)
            if not more:
                if remaining < 1:
                    self._stop.wait(min(0.1, remaining))
                continue
            added = sum(len(json.dumps(m)) for m in more)
            if size + added > LAMBDA_PAYLOAD_LIMIT:
                # Over the invocation payload: these go back for the next batch.
                self._release(more)
                break
            messages += more
            size += added
        return messages

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for m in messages:
            with contextlib.suppress(Exception):  # else it reappears after its visibility timeout anyway
                self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)

    def poll_once(self) -> BatchResult | None:
        messages = self.collect()
        if not messages:
            return None
        event = to_lambda_records(messages, self.queue_arn, self.region)
        if self.validate:
            problem = validate_sqs_event(event)
            if problem:
                raise RuntimeError(f"emulator built an SQS event Powertools rejects: {problem}")
        inv = self.function.invoke(event)
        ids = {m["MessageId"] for m in messages}
        result = BatchResult(records=event["Records"], invocation=inv)
        if not inv.ok:
            result.failed_ids = ids
        elif self.report_batch_item_failures:
            result.failed_ids, result.problem = failed_item_ids(inv.result, ids)
        killed = inv.ok and faults.kill_before_ack(self, messages, result)  # HOOKLINE_FAULTS (chaos run) only
        faults.record_batch(self, messages, result, killed)
        if inv.ok and not killed:
            done = [m for m in messages if m["MessageId"] not in result.failed_ids]
            result.deleted = self._delete(done, result)
        return result

    def _delete(self, messages: list[dict[str, Any]], result: BatchResult) -> int:
        deleted = 0
        for start in range(0, len(messages), 10):
            chunk = messages[start:start + 10]
            resp = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
            deleted += len(resp.get("Successful") or [])
            for failure in resp.get("Failed") or []:
                result.problem = f"delete failed: {failure.get('Code')}: {failure.get('Message')}"
        return deleted
