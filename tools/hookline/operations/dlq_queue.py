"""The dead letter queues over SQS: read without consuming, hold while replaying, send back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hookline.core.dlq import REPLAY_ATTR_AT, REPLAY_ATTR_FROM, DlqEntry
from hookline.operations.dlq import SQS_MAX_VISIBILITY, ReplayError


class DeadLetterQueue:
    """The DLQ (and the way back to the delivery queue) over an SQS client."""

    def __init__(self, sqs: Any, dlq_url: str, delivery_queue_url: str | None = None, *,
                 dlq_arn: str | None = None, delivery_queue_arn: str | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time) -> None:
        self.sqs = sqs
        self.dlq_url = dlq_url
        self.delivery_queue_url = delivery_queue_url
        self.dlq_arn = dlq_arn
        self.delivery_queue_arn = delivery_queue_arn
        self._clock = clock
        self._wall_clock = wall_clock
        self._held: dict[str, DlqEntry] = {}
        self._visibility = 0
        self._hidden_at = 0.0

    # -- reading

    def approximate_count(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url,
                                              AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attrs.get("ApproximateNumberOfMessages", 0))

    def _receive(self, visibility_timeout: int, wait: int) -> list[dict[str, Any]]:
        resp = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                        VisibilityTimeout=visibility_timeout, WaitTimeSeconds=wait,
                                        MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
        return resp.get("Messages") or []

    def receive_all(self, visibility_timeout: int = 60, limit: int | None = None) -> list[DlqEntry]:
        """Every visible message, each hidden for `visibility_timeout` s (call `release` to show them again).

        SQS returns at most 10 per receive, sometimes fewer, sometimes none while messages
        remain (short polling samples a subset of servers): receive until the approximate
        count is reached, retrying an empty receive once with a long poll.
        """
        expected = self.approximate_count()
        seen: dict[str, DlqEntry] = {}
        self._visibility = visibility_timeout
        self._hidden_at = self._clock()
        long_polled = False
        while limit is None or len(seen) < limit:
            messages = self._receive(visibility_timeout, wait=1 if long_polled else 0)
            if not messages:
                if len(seen) >= expected or long_polled:
                    break
                long_polled = True
                continue
            long_polled = False
            fresh = 0
            for message in messages:
                entry = DlqEntry.from_sqs(message)
                if entry.message_id in seen:  # it became visible again: only the newest receipt handle is good
                    seen[entry.message_id].receipt_handle = entry.receipt_handle
                else:
                    seen[entry.message_id] = entry
                    fresh += 1
            self._held.update(seen)
            if not fresh:
                break
        return list(seen.values())

    def release(self, entries: Iterable[DlqEntry]) -> None:
        """Make entries visible again (best effort: if this fails they reappear after their timeout)."""
        batch = [e for e in entries if e.receipt_handle]
        for start in range(0, len(batch), 10):
            chunk = batch[start:start + 10]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.dlq_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": e.receipt_handle, "VisibilityTimeout": 0}
                    for i, e in enumerate(chunk)])
            except Exception:  # noqa: S112 - best effort by design (see docstring) # nosec B112
                continue
        for e in batch:
            self._held.pop(e.message_id, None)

    def peek(self, limit: int | None = None) -> list[DlqEntry]:
        """List without consuming: receive everything, then make it visible again."""
        with self.held(visibility_timeout=self._listing_timeout(), limit=limit) as entries:
            return list(entries)

    def _listing_timeout(self) -> int:
        try:
            expected = self.approximate_count()
        except Exception:
            expected = 0
        return min(SQS_MAX_VISIBILITY, 30 + expected // 20)

    @contextmanager
    def held(self, visibility_timeout: int = 120, limit: int | None = None,
             keep: Callable[[DlqEntry], bool] | None = None) -> Iterator[list[DlqEntry]]:
        """Receive every message and keep the ones `keep` accepts hidden; on exit, release what is left."""
        entries: list[DlqEntry] = []
        try:
            entries = self.receive_all(visibility_timeout, limit=limit)
            if keep is not None:
                self.release([e for e in entries if not keep(e)])
                entries = [e for e in entries if keep(e)]
            yield entries
        finally:
            self.release(list(self._held.values()))

    def _keep_hidden(self) -> None:
        """During a long replay, extend the hold before it lapses (another reader would see them)."""
        if not self._held or not self._visibility or self._clock() - self._hidden_at < self._visibility / 2:
            return
        held = [e for e in self._held.values() if e.receipt_handle]
        for start in range(0, len(held), 10):
            chunk = held[start:start + 10]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self.dlq_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": e.receipt_handle, "VisibilityTimeout": self._visibility}
                    for i, e in enumerate(chunk)])
            except Exception:  # noqa: S112 - a lapsed hold only lets another reader see the message # nosec B112
                continue
        self._hidden_at = self._clock()

    # -- replay target

    def send(self, entry: DlqEntry) -> None:
        if not self.delivery_queue_url:
            raise ReplayError("no delivery queue URL")
        self._keep_hidden()
        try:
            self.sqs.send_message(QueueUrl=self.delivery_queue_url, MessageBody=entry.body, MessageAttributes={
                REPLAY_ATTR_FROM: {"DataType": "String", "StringValue": entry.message_id},
                REPLAY_ATTR_AT: {"DataType": "Number", "StringValue": f"{self._wall_clock():.3f}"},
            })
        except (ClientError, BotoCoreError) as e:
            raise ReplayError(_aws_error(e)) from e

    def delete(self, entry: DlqEntry) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=entry.receipt_handle)
        except (ClientError, BotoCoreError) as e:
            raise ReplayError(_aws_error(e)) from e
        self._held.pop(entry.message_id, None)

    # -- whole-queue redrive on AWS

    def start_redrive(self, max_per_second: int | None = None) -> str:
        """An SQS message move task DLQ -> delivery queue; returns its task handle."""
        if not (self.dlq_arn and self.delivery_queue_arn):
            raise ReplayError("the stack outputs lack DeadLetterQueueArn / DeliveryQueueArn")
        kwargs: dict[str, Any] = {"SourceArn": self.dlq_arn, "DestinationArn": self.delivery_queue_arn}
        if max_per_second:
            kwargs["MaxNumberOfMessagesPerSecond"] = max(1, min(500, int(max_per_second)))
        return self.sqs.start_message_move_task(**kwargs)["TaskHandle"]


def _aws_error(e: Exception) -> str:
    """'RequestThrottled: slow down' rather than botocore's long sentence."""
    response = getattr(e, "response", None)
    if isinstance(response, dict) and response.get("Error"):
        err = response["Error"]
        return f"{err.get('Code')}: {err.get('Message')}".rstrip(": ")
    return f"{type(e).__name__}: {e}"


class DeadLetterQueues:
    """The standard DLQ and the ordered routes' FIFO DLQ (the FIFO delivery queue's redrive target: what
    outlived OrderedMaxReceiveCount) read as one, so `hookline dlq` and the console see every dead
    letter. Each entry is held, released and deleted in its own queue; every replay goes to the standard
    delivery queue (a replay is not ordered). A whole-queue move task covers the standard DLQ only."""

    def __init__(self, primary: DeadLetterQueue, *others: DeadLetterQueue) -> None:
        self.primary = primary
        self.queues = [primary, *others]
        self._origin: dict[str, DeadLetterQueue] = {}

    @property
    def dlq_arn(self) -> str | None:
        return self.primary.dlq_arn

    @property
    def delivery_queue_url(self) -> str | None:
        return self.primary.delivery_queue_url

    @property
    def delivery_queue_arn(self) -> str | None:
        return self.primary.delivery_queue_arn

    def approximate_count(self) -> int:
        return sum(q.approximate_count() for q in self.queues)

    def counts(self) -> list[int]:
        return [q.approximate_count() for q in self.queues]

    def _from(self, queue: DeadLetterQueue, entries: list[DlqEntry]) -> list[DlqEntry]:
        for entry in entries:
            self._origin[entry.message_id] = queue
        return entries

    def peek(self, limit: int | None = None) -> list[DlqEntry]:
        out: list[DlqEntry] = []
        for queue in self.queues:
            left = None if limit is None else limit - len(out)
            if left is not None and left <= 0:
                break
            out += self._from(queue, queue.peek(limit=left))
        return out

    @contextmanager
    def held(self, visibility_timeout: int = 120, limit: int | None = None,
             keep: Callable[[DlqEntry], bool] | None = None) -> Iterator[list[DlqEntry]]:
        with ExitStack() as stack:
            entries: list[DlqEntry] = []
            for queue in self.queues:
                left = None if limit is None else limit - len(entries)
                if left is not None and left <= 0:
                    break
                entries += self._from(queue, stack.enter_context(
                    queue.held(visibility_timeout=visibility_timeout, limit=left, keep=keep)))
            yield entries

    def release(self, entries: Iterable[DlqEntry]) -> None:
        for queue in self.queues:
            queue.release([e for e in entries if self._origin.get(e.message_id) is queue])

    def send(self, entry: DlqEntry) -> None:
        for queue in self.queues:  # a long replay from one queue must not let the other's hold lapse
            queue._keep_hidden()
        self.primary.send(entry)

    def delete(self, entry: DlqEntry) -> None:
        self._origin.get(entry.message_id, self.primary).delete(entry)

    def start_redrive(self, max_per_second: int | None = None) -> str:
        return self.primary.start_redrive(max_per_second=max_per_second)
