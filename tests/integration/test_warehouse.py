"""Warehouse destinations through the delivery engine, with moto's Firehose and S3.

Given tasks for `type: firehose` / `type: s3` destinations on the template's queue (moto), when
the deliver handler runs a batch, then the records arrive as NDJSON, one call per batch, and
each record gets its own outcome (a record Firehose rejects is retried alone; a missing stream
is a configuration problem: DLQ `config`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from hookline.adapters.aws.sinks import Warehouse
from hookline.core.messages import DeliveryTask
from hookline.validation import parse_config
from tests.integration.conftest import Stack, deploy_with_iam
from tests.support.moto_delivery import deliver_batch


@pytest.fixture
def stack() -> Any:
    """The stack deployed with its warehouse parameters: the deliver role may write to this stream and prefix only."""
    from moto import mock_aws

    with mock_aws():
        yield from deploy_with_iam(WarehouseStreamName="orders", WarehouseBucketName="small-lake",
                                   WarehousePrefix="orders/")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SECRET", "x-secret")


def config(dest: dict[str, Any]) -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x-sig"}}},
        "destinations": {"wh": dest},
        "routes": [{"name": "orders-to-wh", "source": "shop", "destination": "wh",
                    "transform": {"order": "body.id", "total": "body.total"}}],
    })


def enqueue(stack: Any, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        task = DeliveryTask(event_id=f"o:{i}@1", source="shop", route="orders-to-wh", received_at=1.0,
                            content_type="application/json", body=json.dumps({"id": i, "total": i * 100}))
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=task.model_dump_json(exclude_none=True))


def deliver(stack: Stack, cfg: Any, warehouse: Warehouse) -> dict[str, Any]:
    return deliver_batch(stack, cfg, warehouse=warehouse)


def all_join(lines: int, **clients: Any) -> Warehouse:
    """A Warehouse whose coalescing window lasts until the batch's `lines` have joined: the test is about
    one call per delivery batch, not about how fast a loaded machine gets six records to the window."""
    def window(_seconds: float) -> None:
        deadline = time.monotonic() + 30
        while warehouse.pending() < lines and time.monotonic() < deadline:
            time.sleep(0.01)

    warehouse = Warehouse(**clients, sleep=window)
    return warehouse


def objects(stack: Any, bucket: str, prefix: str = "") -> list[tuple[str, bytes]]:
    listing = stack.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [(o["Key"], stack.s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listing]


def test_firehose_one_put_record_batch_per_delivery_batch(stack: Any) -> None:
    stack.s3.create_bucket(Bucket="lake")
    stack.admin.client("firehose").create_delivery_stream(
        DeliveryStreamName="orders", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/f",
                                            "BucketARN": "arn:aws:s3:::lake", "Prefix": "orders/"})
    enqueue(stack, 6)
    firehose = stack.function("DeliverFunction").client("firehose")
    out = deliver(stack, config({"type": "firehose", "stream": "orders"}), all_join(6, firehose=firehose))
    assert out["response"] == {"batchItemFailures": []}
    [(_key, body)] = objects(stack, "lake", "orders/")  # moto: one object per PutRecordBatch
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert sorted(line["order"] for line in lines) == [1, 2, 3, 4, 5, 6]
    assert {"order": 2, "total": 200} in lines


def test_s3_one_ndjson_object_per_batch_partitioned_by_day(stack: Any) -> None:
    stack.s3.create_bucket(Bucket="small-lake")
    enqueue(stack, 4)
    deliver(stack, config({"type": "s3", "bucket": "small-lake", "prefix": "orders/"}),
            all_join(4, s3=stack.function("DeliverFunction").s3))
    [(key, body)] = objects(stack, "small-lake")
    assert key.startswith("orders/dt=") and key.endswith(".ndjson")
    assert sorted(json.loads(line)["order"] for line in body.decode().splitlines()) == [1, 2, 3, 4]


class RejectingFirehose:
    """Answers like Firehose when it refuses some records of a batch (FailedPutCount > 0)."""

    def __init__(self) -> None:
        self.calls: list[list[bytes]] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls.append([r["Data"] for r in Records])
        answers = [{"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}
                   if b'"order":3' in r["Data"] else {"RecordId": "x"} for r in Records]
        return {"FailedPutCount": sum("ErrorCode" in a for a in answers), "RequestResponses": answers}


def test_a_record_firehose_rejects_is_retried_alone_and_a_missing_stream_is_dead(stack: Any) -> None:
    enqueue(stack, 4)
    fake = RejectingFirehose()
    out = deliver(stack, config({"type": "firehose", "stream": "orders"}), Warehouse(firehose=fake, window=0.2))
    failed = {f["itemIdentifier"] for f in out["response"]["batchItemFailures"]}
    by_id = {m["MessageId"]: json.loads(m["Body"])["event_id"] for m in out["messages"]}
    assert {by_id[f] for f in failed} == {"o:3@1"}
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 4

    stack.sqs.purge_queue(QueueUrl=stack.queue_url)  # the retrying record, not needed further
    enqueue(stack, 1, start=10)
    missing = stack.function("DeliverFunction").client("firehose")  # the stream it may write to was never created
    out = deliver(stack, config({"type": "firehose", "stream": "orders"}), Warehouse(firehose=missing, window=0.01))
    assert out["response"] == {"batchItemFailures": []}  # not retried: dead-lettered
    dlq = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10,
                                    MessageAttributeNames=["All"]).get("Messages", [])
    [dead] = dlq
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["reason"] == "config" and "ResourceNotFoundException" in attrs["last_error"]
