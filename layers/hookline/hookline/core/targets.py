"""AWS-native destinations (`type: eventbridge | sqs | sns | lambda | stepfunctions`): what one delivery hands
the target adapter (adapters/aws/targets.py), and the names that make a retry land once where AWS allows it.

- SQS FIFO: MessageDeduplicationId = sha256 of the delivery key (`event_id:route`): a retry within SQS's
  5-minute deduplication interval is dropped by SQS. MessageGroupId = the route's record key (`key:`), else
  the route's name, so one record's events stay in order.
- SNS FIFO topics: the same two ids.
- Step Functions: the execution name is derived from the delivery key; StartExecution with a name already used
  fails with ExecutionAlreadyExists, which the adapter reads as delivered when the execution's input is this one.
- EventBridge and SNS standard topics cannot deduplicate: a retry after a lost answer can land twice
  (docs/targets.md says so).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

AWS_TARGET_TYPES = ("eventbridge", "sqs", "sns", "lambda", "stepfunctions")
BATCHED_TYPES = ("eventbridge", "sqs", "sns")  # PutEvents, SendMessageBatch, PublishBatch
MAX_BATCH_ENTRIES = 10  # all three APIs
MAX_BATCH_BYTES = 256 * 1024  # a whole PutEvents / SendMessageBatch / PublishBatch request
MAX_EXECUTION_NAME = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class TargetMessage:
    """One event for an AWS target: the body as JSON text and the ids derived from its delivery."""

    body: str  # JSON text (a body that is not JSON travels as a JSON string)
    delivery_key: str  # `event_id:route`
    group_id: str  # FIFO MessageGroupId
    detail_type: str  # eventbridge's DetailType

    @property
    def deduplication_id(self) -> str:
        return hashlib.sha256(self.delivery_key.encode()).hexdigest()

    @property
    def execution_name(self) -> str:
        return execution_name(self.delivery_key)


def execution_name(delivery_key: str) -> str:
    """A Step Functions execution name for the delivery key: <= 80 characters of [A-Za-z0-9_-], readable where it
    can be, and unique through a digest of the whole key (two keys that read alike never share a name)."""
    digest = hashlib.sha256(delivery_key.encode()).hexdigest()[:32]
    readable = _NAME_UNSAFE.sub("-", delivery_key)[:MAX_EXECUTION_NAME - len(digest) - 1]
    return f"{readable}-{digest}"


def json_text(body: bytes) -> str:
    """The body as JSON text: itself when it is JSON, else its text as a JSON string."""
    text = body.decode("utf-8", "replace")
    try:
        json.loads(text)
    except ValueError:
        return json.dumps(text, ensure_ascii=False)
    return text


def detail_object(text: str) -> str:
    """EventBridge's Detail must be a JSON object: anything else is wrapped as {"value": ...}."""
    value: Any = json.loads(text)
    return text if isinstance(value, dict) else json.dumps({"value": value}, ensure_ascii=False)
