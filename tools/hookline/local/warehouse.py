"""`hookline dev`: the warehouse the configuration's firehose / s3 destinations write to, in the emulator.

A deployed stack writes to a stream and bucket the user owns (template parameters
WarehouseStreamName, WarehouseBucketName). Locally they are created here: each `type: s3`
bucket, and each `type: firehose` stream as a DirectPut stream delivering to the local bucket
LOCAL_BUCKET under `<stream>/` (moto writes one object per PutRecordBatch under
`<stream>/YYYY/MM/DD/HH/`), so `aws s3 ls` against the emulator shows what arrived.
"""

from __future__ import annotations

from typing import Any

LOCAL_BUCKET = "hookline-warehouse-local"


def provision_warehouse(cfg: Any, session: Any, account_id: str = "123456789012") -> list[str]:
    """Create what the warehouse destinations need; one line per destination for the banner."""
    lines: list[str] = []
    s3 = session.client("s3")
    firehose = session.client("firehose")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}

    def bucket(name: str) -> None:
        if name not in existing:
            s3.create_bucket(Bucket=name)
            existing.add(name)

    streams = set(firehose.list_delivery_streams().get("DeliveryStreamNames", []))
    for name, dest in cfg.destinations.items():
        if dest.type == "s3" and dest.bucket:
            bucket(dest.bucket)
            lines.append(f"{name} -> s3://{dest.bucket}/{dest.prefix}dt=YYYY-MM-DD/ (one NDJSON object per batch)")
        elif dest.type == "firehose" and dest.stream:
            bucket(LOCAL_BUCKET)
            if dest.stream not in streams:
                firehose.create_delivery_stream(
                    DeliveryStreamName=dest.stream, DeliveryStreamType="DirectPut",
                    ExtendedS3DestinationConfiguration={
                        "RoleARN": f"arn:aws:iam::{account_id}:role/hookline-local-firehose",
                        "BucketARN": f"arn:aws:s3:::{LOCAL_BUCKET}", "Prefix": f"{dest.stream}/",
                        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}})
                streams.add(dest.stream)
            lines.append(f"{name} -> firehose {dest.stream} -> s3://{LOCAL_BUCKET}/{dest.stream}/")
    return lines
