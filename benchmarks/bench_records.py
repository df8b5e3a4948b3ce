"""Billable AWS requests per event with each records feature off and on.

Runs the real ingress (`Ingress.record`) and deliver handler (`Delivery.handle`) in-process
against moto (tables and queues provisioned from template.yaml), delivering to a real local
HTTP server that answers 200 at once. Every request a boto3 client sends is counted with a
botocore `before-send` hook (tests/support/request_count.py), per phase: ingress, deliver, and
the SQS event source mapping's receives and deletes. Events use 5 record keys.

With every feature off the figures must equal the pre-records baseline: ingress 5 (idempotency
put + save, event log x2, SendMessageBatch), deliver 3 (idempotency put + save, event log);
tests/integration/test_guard_store.py asserts that exact budget.

    .venv/bin/python benchmarks/bench_records.py [--events 50]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ["BENCH_SECRET"] = "bench-secret"  # noqa: S105 - a dummy signing secret reference target

from tests.support.receiver import Receiver  # noqa: E402
from tests.support.request_count import FEATURES, count_requests  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    n = args.events
    print(f"Billable AWS requests per event ({n} events, 5 record keys, destination answering 200)")
    print(f"{'feature':<28} {'ingress':>8} {'deliver':>8} {'event src':>9} {'total':>7}  deliver operations")
    baseline = None
    with Receiver() as dest:
        for name, (route_opts, dest_opts) in FEATURES.items():
            counted = count_requests(route_opts, dest_opts, f"{dest.url}/crm", events=n)
            phases = counted.by_phase()
            ingress, deliver, source = (phases.get(p, 0) / n for p in ("ingress", "deliver", "event source"))
            total = ingress + deliver + source
            baseline = total if baseline is None else baseline
            ops = ", ".join(f"{op.split('.')[1]} {c / n:.2f}" for op, c in counted.operations("deliver").items())
            extra = "" if name == "all off" else f" ({total - baseline:+.2f})"
            print(f"{name:<28} {ingress:>8.2f} {deliver:>8.2f} {source:>9.2f} {total:>7.2f}{extra:<9} {ops}")
    print("event src = ReceiveMessage + DeleteMessageBatch of the event source mappings, here one poll per batch; "
          "on AWS an idle FIFO event source also long-polls (about 650k requests a month, ~$0.26).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
