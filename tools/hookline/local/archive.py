"""`hookline dev` and the integration tests: the event archive's Firehose stream, made in the emulator.

moto's CloudFormation makes no Firehose stream (cfn.NOT_DEPLOYED): the stack's ArchiveStream stands in by
its logical id, the name the deliver function's ARCHIVE_STREAM and IAM policy then carry. This creates
that stream with the template's own S3 configuration (prefix, partitioning query, compression), delivering
to the stack's ArchiveBucket, so the deliver function's PutRecordBatch really lands as objects in the
emulator's S3 (moto_firehose.py renders the partitioned prefix), where `hookline events search` reads them.
"""

from __future__ import annotations

from typing import Any

STREAM = "ArchiveStream"


def provision_archive(stack: Any, firehose: Any) -> str | None:
    """Create the archive's stream when the stack has one; the banner's line, or None (archive off)."""
    resource = (stack.transformed.get("Resources") or {}).get(STREAM)
    bucket = stack.outputs.get("ArchiveBucketName")
    name = stack.outputs.get("ArchiveStreamName")
    if resource is None or not bucket or not name:
        return None
    config = dict(resource["Properties"]["ExtendedS3DestinationConfiguration"])
    config["BucketARN"] = f"arn:aws:s3:::{bucket}"
    config["RoleARN"] = f"arn:aws:iam::{stack.account_id}:role/hookline-local-archive"
    if name not in firehose.list_delivery_streams().get("DeliveryStreamNames", []):
        firehose.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                        ExtendedS3DestinationConfiguration=config)
    return f"archive -> firehose {name} -> s3://{bucket}/archive/events/ (hookline events search)"
