"""`hookline events search` on `hookline dev`'s engine: --where over 100,000 archived events (goal: < 3 s).

The archive is filled as the deliver function fills it: core/archive.py's lines for 100,000 events (each an
event line and an attempt line, bodies of a Stripe-like shape), put with PutRecordBatch through the
archive's Firehose stream into moto's S3 (local/moto_firehose.py partitions by day and source and GZIPs, as
Firehose does). The figure is `DuckDbArchive.search` as the CLI runs it: listing and downloading every
object through boto3, decompressing, loading the lines into DuckDB and answering the query; the best and
the median of --rounds. Moto runs in this process (no HTTP hop), so the download is the cheapest it gets:
a real S3 adds its latency per object.

    .venv/bin/python benchmarks/bench_search.py [--events 100000] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _support import write_json  # noqa: E402

GOAL_SECONDS = 3.0
WHERE = 'body.data.object.customer = "cus_42" and body.data.object.amount > 500 and not type = "invoice.paid"'


def fill(events: int, firehose: Any, stream: str, now: float) -> int:
    from hookline.adapters.aws.archive import FirehoseArchive
    from hookline.core.archive import ArchiveBatch, write
    from hookline.core.messages import DeliveryTask

    sink = FirehoseArchive(stream, client=firehose)
    types = ("invoice.paid", "charge.succeeded", "customer.updated")
    for start in range(0, events, 1000):  # 4 PutRecordBatch calls of 500 lines: fewer appends in moto
        batch = ArchiveBatch(clock=lambda: now)
        for i in range(start, min(start + 1000, events)):
            body = {"id": f"evt_{i}", "object": "event", "type": types[i % 3], "data": {"object": {
                "id": f"in_{i}", "customer": f"cus_{i % 1000}", "amount": (i * 37) % 2000, "currency": "usd",
                "lines": [{"description": "Plan", "amount": (i * 37) % 2000}], "metadata": {"order": str(i)}}}}
            task = DeliveryTask(event_id=f"evt_{i}", source="stripe" if i % 4 else "shop", route="crm",
                                type=types[i % 3], received_at=now - (i % 3600), headers={"user-agent": "Stripe/1.0"},
                                body=json.dumps(body))
            batch.note(task.model_dump_json(), 1, status="delivered", attempt=1, status_code=200, latency_ms=40.0,
                       reason=None)
        assert write(sink, batch) == 0
    return events


def measure(events: int, rounds: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from hookline.local import moto_fixes
    from hookline.operations.archive_query import Search
    from hookline.operations.archive_search import DuckDbArchive

    moto_fixes.install()
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        s3, firehose = session.client("s3"), session.client("firehose")
        s3.create_bucket(Bucket="archive")
        from hookline.local.cfn import load_template

        config = load_template(ROOT / "template.yaml")["Resources"]["ArchiveStream"]["Properties"][
            "ExtendedS3DestinationConfiguration"]
        firehose.create_delivery_stream(DeliveryStreamName="archive", DeliveryStreamType="DirectPut",
                                        ExtendedS3DestinationConfiguration={
                                            **config, "BucketARN": "arn:aws:s3:::archive",
                                            "RoleARN": "arn:aws:iam::123456789012:role/archive"})
        now = time.time()
        t0 = time.perf_counter()
        fill(events, firehose, "archive", now)
        filled = time.perf_counter() - t0
        keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="archive")
                for o in p.get("Contents", [])]
        archive = DuckDbArchive.on_s3(s3, "archive")
        search = Search(where=WHERE, since=now - 86400, limit=100_000)
        times, found = [], 0
        for _ in range(rounds):
            t0 = time.perf_counter()
            found = len(archive.search(search))
            times.append(time.perf_counter() - t0)
    expected = sum(1 for i in range(events) if i % 1000 == 42 and (i * 37) % 2000 > 500 and i % 3 != 0)
    assert found == expected, (found, expected)
    return {"events": events, "objects": len(keys), "found": found, "best_s": round(min(times), 3),
            "median_s": round(statistics.median(times), 3), "goal_s": GOAL_SECONDS, "fill_s": round(filled, 1),
            "where": WHERE}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    r = measure(args.events, args.rounds)
    verdict = "within" if r["median_s"] < GOAL_SECONDS else "OVER"
    print(f"events search --where on {r['events']:,} archived events ({r['objects']} objects): "
          f"median {r['median_s']:.2f} s, best {r['best_s']:.2f} s over {args.rounds} rounds, {r['found']} found "
          f"({verdict} the {GOAL_SECONDS:.0f} s goal; filling the archive took {r['fill_s']} s)")
    write_json(args.json, {"search": r})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
