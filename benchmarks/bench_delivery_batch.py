"""Batch concurrency benchmark: 10 deliveries in one batch vs 1, to a destination answering in 200 ms.

Runs the real delivery engine (hookline.delivery.engine.Delivery.handle) against moto (queues and
tables provisioned from template.yaml) and a real HTTP server
(tests/support/receiver.py) that takes 200 ms per request, in a process of its own as a real
destination would be. Each round sends real SQS messages, receives them with all attributes,
and times only the handler call. The goal: a batch of 10 takes at most 1.5x a single delivery.

The third figure, the same batch to a destination answering at once, is the fixed cost of the
batch.

Backends (--backend): `server` runs moto as a server in another process, so each AWS call is an
HTTP round trip whose work runs outside this process's GIL, as a real endpoint's does;
`inprocess` runs moto in this process, where every DynamoDB call is CPU work under the GIL (a few
ms per call, two calls per delivery) that no real endpoint costs the caller; `stub` (the default) serialises
each DynamoDB call the handler makes as botocore does, then answers it after sleeping
--aws-latency-ms (a network wait: the GIL is released) instead of sending it. A moto server on
this 2-core machine, shared with other work, answers one call at a time under its own GIL, which
no real endpoint does either: `stub` is the closest to DynamoDB's parallel ~5-10 ms answers.

    .venv/bin/python benchmarks/bench_delivery_batch.py [--rounds 5] [--delay 0.2] [--backend stub|server|inprocess]
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.connection
import os
import statistics
import sys
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ["BENCH_TOKEN"] = "bench-token"  # noqa: S105 - a dummy header secret

from _support import moto_server_stack, moto_stack, write_json  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

from hookline.adapters.aws.claims import RouteClaims  # noqa: E402
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues  # noqa: E402
from hookline.adapters.aws.stores import EventLog, PayloadStore  # noqa: E402
from hookline.core.messages import DeliveryTask  # noqa: E402
from hookline.delivery.engine import Delivery, DeliveryDeps  # noqa: E402
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records  # noqa: E402
from hookline.observability import metrics  # noqa: E402
from hookline.secrets import SecretResolver  # noqa: E402
from hookline.validation import parse_config  # noqa: E402
from tests.support.receiver import Receiver, Script  # noqa: E402

REGION = "us-east-1"
GOAL = 1.5


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _serve(delay: float, conn: multiprocessing.connection.Connection) -> None:
    """The destination, in a child process: sends its URL, serves until told to stop, reports its count."""
    with Receiver(Script(delay_seconds=delay)) as dest:
        conn.send(dest.url)
        conn.recv()
        conn.send(len(dest.requests))


class Destination:
    def __init__(self, delay: float) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(delay, child), daemon=True)

    def __enter__(self) -> Destination:
        self._proc.start()
        self.url: str = self._conn.recv()
        return self

    def stop(self) -> int:
        self._conn.send("stop")
        count: int = self._conn.recv()
        self._proc.join(5)
        return count

    def __exit__(self, *exc: object) -> None:
        if self._proc.is_alive():
            self._proc.kill()


class StubbedCalls:
    """A botocore `before-call` hook answering a service's calls after a network-like sleep.

    The request has been built and serialised by then; only signing and the HTTP exchange are
    replaced. Write calls answer {} (PutItem, UpdateItem without ReturnValues do).
    """

    def __init__(self, latency: float, service: str) -> None:
        self.latency, self.service = latency, service
        self.active = False
        self.calls = 0

    def answer(self, model: Any, **_: Any) -> Any:
        if not self.active or model.service_model.service_name != self.service:
            return None
        self.calls += 1
        time.sleep(self.latency)
        return AWSResponse("https://stub", 200, {}, None), {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per case (median reported)")
    parser.add_argument("--delay", type=float, default=0.2, help="destination response time in seconds")
    parser.add_argument("--backend", choices=("stub", "server", "inprocess"), default="stub")
    parser.add_argument("--aws-latency-ms", type=float, default=8.0, help="stub backend: time per AWS call")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    backend: AbstractContextManager = moto_server_stack() if args.backend == "server" else moto_stack()
    with backend as stack, Destination(args.delay) as dest, Destination(0.0) as instant:
        session, res = stack.session, stack.resources
        stub = StubbedCalls(args.aws_latency_ms / 1000, "dynamodb")
        if args.backend == "stub":
            session.events.register("before-call.*.*", stub.answer)
        sqs = session.client("sqs")
        queue_url, queue_arn = res["DeliveryQueue"].url, res["DeliveryQueue"].arn
        cfg = parse_config({
            "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:BENCH_TOKEN"],
                                            "header": "X-Sig"}}},
            "destinations": {"crm": {"url": f"{dest.url}/contacts",
                                     "headers": {"Authorization": "Bearer {secret:env:BENCH_TOKEN}"}}},
            "routes": [{"name": "orders", "source": "shop", "destination": "crm",
                        "transform": {"order": {"path": "body.id", "type": "string"}, "email": "body.email"}}],
        })
        cfg_instant = parse_config({**cfg.model_dump(by_alias=True, exclude_none=True),
                                    "destinations": {"crm": {"url": f"{instant.url}/contacts"}}})
        deps = DeliveryDeps(
            config=cfg, secrets=SecretResolver(),
            payloads=PayloadStore(res["PayloadBucket"].name, client=session.client("s3")),
            events=EventLog(res["EventsTable"].name, resource=session.resource("dynamodb")),
            queues=SqsDeliveryQueues(sqs, dlq_url=res["DeadLetterQueue"].url or "", queue_url=queue_url or ""),
            persistence=RouteClaims(res["EventsTable"].name, boto3_client=session.client("dynamodb")),
        )
        delivery = Delivery(deps)
        delivery_instant = Delivery(DeliveryDeps(**{**deps.__dict__, "config": cfg_instant}))

        def batch_of(n: int, engine: Delivery = delivery) -> float:
            for _ in range(n):
                body = f'{{"id": 1, "email": "a@example.com", "n": "{uuid.uuid4().hex}"}}'
                task = DeliveryTask(event_id=uuid.uuid4().hex, source="shop", route="orders", received_at=time.time(),
                                    content_type="application/json", body=body)
                sqs.send_message(QueueUrl=queue_url, MessageBody=task.model_dump_json(exclude_none=True))
            messages: list[dict] = []
            while len(messages) < n:
                messages += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                **RECEIVE_ATTRIBUTES).get("Messages", [])
            event = to_lambda_records(messages, queue_arn, REGION)
            stub.active = True
            started = time.perf_counter()
            response = engine.handle(event, Context())
            elapsed = time.perf_counter() - started
            stub.active = False
            if response["batchItemFailures"]:
                raise SystemExit(f"benchmark delivery failed: {response}")
            delete_processed(sqs, queue_url, messages, response)
            metrics.clear_metrics()  # no Lambda here to flush them: keep stdout for the figures
            return elapsed

        for engine in (delivery, delivery_instant):  # warm up: imports, connection pools, moto tables
            batch_of(1, engine)
            batch_of(10, engine)
        singles, batches, fixed = [], [], []
        for _ in range(args.rounds):
            singles.append(batch_of(1))
            batches.append(batch_of(10))
            fixed.append(batch_of(10, delivery_instant))
        single, batch = statistics.median(singles), statistics.median(batches)
        overhead = statistics.median(fixed)
        requests_seen = dest.stop()

    ratio = batch / single
    # Rounds are side by side: a round's batch over the same round's single delivery.
    ratios = [b / s for s, b in zip(singles, batches, strict=True)]
    backend_name = {"server": "moto server in another process", "inprocess": "moto in-process",
                    "stub": f"DynamoDB calls stubbed, each sleeping {args.aws_latency_ms:.0f} ms "
                            f"({stub.calls} calls), SQS setup in moto"}[args.backend]
    print(f"backend                   : {backend_name}")
    print(f"destination response time : {args.delay * 1000:.0f} ms   ({args.rounds} rounds, median; "
          f"{requests_seen} requests in all)")
    print(f"single delivery (batch 1) : {single * 1000:7.1f} ms")
    print(f"batch of 10 deliveries    : {batch * 1000:7.1f} ms   (sequential would be ~{10 * single * 1000:.0f} ms)")
    print(f"batch of 10, 0 ms dest.   : {overhead * 1000:7.1f} ms   (fixed cost per batch: engine + AWS calls)")
    print(f"ratio batch/single        : {ratio:7.2f}   (per round: median {statistics.median(ratios):.2f}, "
          f"min {min(ratios):.2f}; goal <= {GOAL}) {'PASS' if ratio <= GOAL else 'FAIL'}")
    write_json(args.json, {"backend": backend_name, "rounds": args.rounds, "delay_ms": args.delay * 1000,
                           "single_ms": single * 1000, "batch_ms": batch * 1000, "fixed_ms": overhead * 1000,
                           "fixed_ms_min": min(fixed) * 1000, "ratio_median": statistics.median(ratios),
                           "ratio_min": min(ratios)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
