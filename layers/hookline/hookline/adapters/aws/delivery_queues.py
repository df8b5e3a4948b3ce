"""The SQS requests delivery makes itself (ports.DeliveryQueues): a dead letter, a retry's delay, a deferred
event's copy. Each refusal raises core's QueueUnavailable with AWS's code, operation and message.

A record names its queue by ARN; the URL is the delivery queue's or the ordered queue's when the name
matches (no request), else GetQueueUrl once per ARN.
"""

from __future__ import annotations

import threading
from typing import Any

from hookline.adapters.aws.errors import translated
from hookline.core.errors import QueueUnavailable


class SqsDeliveryQueues:
    def __init__(self, client: Any, *, dlq_url: str, queue_url: str = "", ordered_queue_url: str = "") -> None:
        self.client = client  # a boto3 SQS client
        self.dlq_url = dlq_url
        self.queue_url = queue_url
        self.ordered_queue_url = ordered_queue_url
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()  # the engine's worker threads share the cache

    @translated(QueueUnavailable)
    def dead_letter(self, body: str, attributes: dict[str, Any]) -> None:
        self.client.send_message(QueueUrl=self.dlq_url, MessageBody=body, MessageAttributes=attributes)

    @translated(QueueUnavailable)
    def change_visibility(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(QueueUrl=self._url(queue_arn), ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=seconds)

    @translated(QueueUnavailable)
    def requeue(self, queue_arn: str, body: str, delay_seconds: int) -> None:
        self.client.send_message(QueueUrl=self._url(queue_arn), MessageBody=body, DelaySeconds=delay_seconds)

    def _url(self, arn: str) -> str:
        with self._lock:
            url = self._urls.get(arn)
        if url is not None:
            return url
        parts = (arn or "").split(":")
        name = parts[-1] if parts else ""
        known = [u for u in (self.queue_url, self.ordered_queue_url) if u]
        if known and not name:
            url = known[0]
        elif any(u.rstrip("/").endswith("/" + name) for u in known if name):
            url = next(u for u in known if u.rstrip("/").endswith("/" + name))
        else:
            kwargs = {"QueueName": name}
            if len(parts) >= 6 and parts[4]:
                kwargs["QueueOwnerAWSAccountId"] = parts[4]
            url = self.client.get_queue_url(**kwargs)["QueueUrl"]
        with self._lock:
            self._urls[arn] = url
        return url
