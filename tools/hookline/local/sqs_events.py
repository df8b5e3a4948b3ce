"""Play the Lambda SQS event source mapping locally: messages in, batch response applied.

`hookline dev`'s poller and the integration tests receive real messages from the (emulated)
queue, hand them to the deliver handler in the shape Lambda uses, and then do what the
event source mapping does with a ReportBatchItemFailures response: delete every message
that is not listed as failed, leave the failed ones for SQS to redeliver.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

# What to ask `receive_message` for so the records carry everything Lambda's do.
RECEIVE_ATTRIBUTES = {"MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}


def _b64(value: bytes | str) -> str:
    raw = value if isinstance(value, bytes) else value.encode()
    return base64.b64encode(raw).decode("ascii")


def _message_attributes(attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """SendMessage/ReceiveMessage attribute shape -> Lambda's (camelCase keys, binaries base64)."""
    out: dict[str, Any] = {}
    for name, value in (attrs or {}).items():
        item: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = _b64(value["BinaryValue"])
        out[name] = item
    return out


def to_lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One `receive_message` message -> one record of a Lambda SQS event."""
    system = dict(message.get("Attributes") or {})
    system.setdefault("ApproximateReceiveCount", "1")
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {k: str(v) for k, v in system.items()},
        "messageAttributes": _message_attributes(message.get("MessageAttributes")),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def to_lambda_records(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """`receive_message(...)["Messages"]` -> the event a Lambda SQS trigger would pass."""
    return {"Records": [to_lambda_record(m, queue_arn, region) for m in messages]}


def failed_ids(response: Mapping[str, Any] | None) -> set[str]:
    return {str(f.get("itemIdentifier")) for f in (response or {}).get("batchItemFailures") or []}


def delete_processed(sqs: Any, queue_url: str, messages: Iterable[Mapping[str, Any]],
                     response: Mapping[str, Any] | None) -> list[str]:
    """Delete the messages the handler did not report as failed (what the event source mapping does).

    Returns the deleted message ids. A response that is not a batch response (the handler raised)
    must not be passed here: then nothing is deleted and every message comes back.
    """
    failed = failed_ids(response)
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        chunk = done[start:start + 10]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
    return [m["MessageId"] for m in done]
