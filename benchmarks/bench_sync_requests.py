"""Sync request budget: AWS requests per record for a 1,000-record sync, counted with botocore hooks.

The real sync runner (hookline.sync) pulls 1,000 orders in pages of 100 from a real local paged
API (tests/support/paged_api.py) into moto (tables and queue from template.yaml), one route per
record. Every HTTP request boto3 sends to SQS and DynamoDB is counted by a `before-send` hook on
the clients the sync uses (so retries count too). Goals (issue 11): <= 0.15 SQS and <= 1.5
DynamoDB requests per record. Printed for the first (full) run and for a re-run (all unchanged).

    .venv/bin/python benchmarks/bench_sync_requests.py [--records 1000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ["BENCH_SHOP_SECRET"] = "bench-secret"  # noqa: S105 - a dummy secret

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from hookline.adapters.aws.stores import EventLog, PayloadStore, QueuePublisher  # noqa: E402
from hookline.adapters.aws.sync_state import SyncStore  # noqa: E402
from hookline.local import cfn  # noqa: E402
from hookline.secrets import SecretResolver  # noqa: E402
from hookline.sync.fetch import HttpFetcher  # noqa: E402
from hookline.sync.recorder import Recorder  # noqa: E402
from hookline.sync.runner import Runtime, run_sync  # noqa: E402
from hookline.validation import parse_config  # noqa: E402
from tests.support.paged_api import PagedApi, sync_spec  # noqa: E402

GOAL_SQS = 0.15
GOAL_DYNAMODB = 1.5


class RequestCounter:
    def __init__(self) -> None:
        self.by_op: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-send", self._count)
        return client

    def _count(self, event_name: str = "", **kwargs: Any) -> None:
        # before-send.<service>.<Operation>: one per HTTP request sent (retries included)
        _, service, op = [*event_name.split("."), "", ""][:3]
        self.by_op[f"{service}:{op}"] += 1

    def total(self, service: str) -> int:
        return sum(n for k, n in self.by_op.items() if k.startswith(service + ":"))


def measure(records: int, page_size: int) -> list[dict[str, Any]]:
    """Two runs (full, then re-run); per run: the request counts per service and operation."""
    api = PagedApi(page_size=page_size)
    api.add(records)
    results = []
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        resources = cfn.deploy(session.client, ROOT / "template.yaml", stack_name=f"b{uuid.uuid4().hex[:8]}",
                               region="us-east-1").resources
        counter = RequestCounter()
        sqs = counter.attach(session.client("sqs"))
        ddb = session.resource("dynamodb")
        counter.attach(ddb.meta.client)
        s3 = counter.attach(session.client("s3"))
        cfg = parse_config({
            "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:BENCH_SHOP_SECRET"],
                                            "header": "x-sig"}}},
            "destinations": {"wh": {"url": "http://127.0.0.1:9/in"}},
            "routes": [{"name": "orders-to-wh", "source": "shop", "destination": "wh"}],
            "syncs": {"orders": sync_spec(api, "page", max_pages=1000)},
        })
        store = SyncStore(EventLog(resources["EventsTable"].name, resource=ddb).table)
        recorder = Recorder(cfg, store, QueuePublisher(resources["DeliveryQueue"].url or "", client=sqs),
                            PayloadStore(resources["PayloadBucket"].name, client=s3))
        for label in ("full sync", "re-run (nothing changed)"):
            counter.by_op.clear()
            run = run_sync("orders", cfg.syncs["orders"],
                           Runtime(store=store, recorder=recorder, fetch=HttpFetcher(SecretResolver())))
            results.append({"label": label, "run": run, "ops": dict(counter.by_op),
                            "sqs": counter.total("sqs"), "dynamodb": counter.total("dynamodb")})
    api.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)
    ok = True
    print(f"sync request budget: {args.records} records, pages of {args.page_size}, 1 route, moto + local paged API")
    for r in measure(args.records, args.page_size):
        run = r["run"]
        sqs, ddb = r["sqs"] / args.records, r["dynamodb"] / args.records
        print(f"\n{r['label']}: status {run.status}, pages {run.pages}, seen {run.seen}, queued {run.queued}, "
              f"unchanged {run.unchanged}")
        print(f"  SQS       {r['sqs']:5d} requests = {sqs:.3f} per record   (goal <= {GOAL_SQS})"
              f"  {'OK' if sqs <= GOAL_SQS else 'OVER'}")
        print(f"  DynamoDB  {r['dynamodb']:5d} requests = {ddb:.3f} per record   (goal <= {GOAL_DYNAMODB})"
              f"  {'OK' if ddb <= GOAL_DYNAMODB else 'OVER'}")
        print("  by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(r["ops"].items())))
        ok = ok and sqs <= GOAL_SQS and ddb <= GOAL_DYNAMODB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
