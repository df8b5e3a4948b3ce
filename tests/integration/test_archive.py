"""The event archive as deployed (template.yaml, on moto with IAM enforced): its bucket and lifecycle, the deliver
role's PutRecordBatch scoped to the archive's stream, the objects Firehose writes (partitioned by day and source,
GZIP), no planted secret in any of them, and `hookline events search`'s DuckDB engine reading them back."""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from hookline.adapters.aws.archive import FirehoseArchive
from hookline.core.archive import ArchiveBatch, write
from hookline.core.messages import DeliveryTask
from hookline.local.archive import provision_archive
from hookline.operations.archive_query import Search
from hookline.operations.archive_search import ARCHIVE_PREFIX, DuckDbArchive
from hookline.wiring import Services
from tests.integration.conftest import Stack, deploy_with_iam

SECRET = "whsec_planted_never_archived_7781"


def objects(stack: Stack, bucket: str) -> dict[str, bytes]:
    found = {}
    for page in stack.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = stack.s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return found


def batch_of(n: int, received_at: float) -> ArchiveBatch:
    batch = ArchiveBatch()
    for i in range(n):
        source = "stripe" if i % 2 else "github"
        task = DeliveryTask(event_id=f"evt-{i}", source=source, route="crm", type="order.paid", received_at=received_at,
                            headers={"x-api-token": SECRET, "user-agent": "test"},
                            body=json.dumps({"order": {"id": i, "customer": f"cus_{i % 3}"},
                                             "client_secret": SECRET}))
        batch.note(task.model_dump_json(), 1, status="delivered", attempt=1, status_code=200, latency_ms=4.0,
                   reason=None)
    return batch


def test_the_archive_is_deployed_with_its_lifecycle_and_the_deliver_function_names_its_stream(stack: Stack) -> None:
    outputs = stack.local.outputs
    bucket = outputs["ArchiveBucketName"]
    stack.s3.head_bucket(Bucket=bucket)
    # moto's CloudFormation does not apply a bucket's lifecycle: the template's rule, as deployed, is read
    lifecycle = stack.local.transformed["Resources"]["ArchiveBucket"]["Properties"]["LifecycleConfiguration"]
    rules = {r["Id"]: r for r in lifecycle["Rules"]}
    assert rules["expire-archive"]["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert rules["expire-archive"]["Prefix"] == "archive/"
    assert stack.settings.archive_stream == outputs["ArchiveStreamName"]
    assert isinstance(Services(stack.settings).archive, FirehoseArchive)


def test_the_deliver_role_writes_the_archive_and_no_other_stream_nor_role_does(stack: Stack) -> None:
    firehose = stack.admin.client("firehose")
    provision_archive(stack.local, firehose)
    name = stack.local.outputs["ArchiveStreamName"]
    firehose.create_delivery_stream(DeliveryStreamName="other-stream", ExtendedS3DestinationConfiguration={
        "RoleARN": stack.resources["DeliverFunctionRole"].arn, "BucketARN": stack.resources["PayloadBucket"].arn})
    records = [b'{"kind":"event"}\n']
    deliver = stack.function("DeliverFunction").client("firehose")
    assert FirehoseArchive(name, client=deliver).put(records) == 0
    with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
        FirehoseArchive("other-stream", client=deliver).put(records)
    for function in ("IngressFunction", "SyncFunction"):
        with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
            FirehoseArchive(name, client=stack.function(function).client("firehose")).put(records)


def test_archived_objects_are_partitioned_compressed_searchable_and_hold_no_secret(stack: Stack) -> None:
    provision_archive(stack.local, stack.admin.client("firehose"))
    name, bucket = stack.local.outputs["ArchiveStreamName"], stack.local.outputs["ArchiveBucketName"]
    received_at = time.time()
    sink = FirehoseArchive(name, client=stack.function("DeliverFunction").client("firehose"))
    assert write(sink, batch_of(40, received_at)) == 0
    found = objects(stack, bucket)
    day = time.strftime("%Y-%m-%d", time.gmtime(received_at))
    # one object per (day, source) of the call, under Firehose's rendered prefix, GZIP
    assert sorted(k.rsplit("/", 1)[0] for k in found) == [f"{ARCHIVE_PREFIX}dt={day}/source=github",
                                                          f"{ARCHIVE_PREFIX}dt={day}/source=stripe"]
    texts = {k: gzip.decompress(v) for k, v in found.items()}
    assert all(k.endswith(".gz") for k in found)
    for key, text in texts.items():
        assert SECRET.encode() not in text, key
        assert all(json.loads(line)["source"] in key for line in text.splitlines())
    assert sum(len(t.splitlines()) for t in texts.values()) == 80  # 40 events + 40 attempts
    # a second batch within the stream's buffering interval goes into the same objects, as Firehose buffers
    assert write(sink, batch_of(10, received_at)) == 0
    again = objects(stack, bucket)
    assert sorted(again) == sorted(found)
    assert sum(len(gzip.decompress(v).splitlines()) for v in again.values()) == 100
    archive = DuckDbArchive.on_s3(stack.s3, bucket)
    hits = archive.search(Search(where='body.order.customer = "cus_1" and source = "stripe"', since=received_at - 60))
    assert [h.id for h in hits] == sorted(f"evt-{i}" for i in range(40) if i % 3 == 1 and i % 2)  # same time: by id
    assert hits[0].routes["crm"]["status"] == "delivered"


@pytest.fixture
def no_archive_stack() -> Any:
    with mock_aws():
        yield from deploy_with_iam(ArchiveRetentionDays="0")


def test_retention_0_deploys_no_archive_and_delivery_writes_none(no_archive_stack: Stack) -> None:
    assert "ArchiveBucketName" not in no_archive_stack.local.outputs
    assert no_archive_stack.settings.archive_stream == ""
    assert Services(no_archive_stack.settings).archive is None
