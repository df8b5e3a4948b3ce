"""Billable AWS requests per event, counted with botocore event hooks against moto in-process.

Used by benchmarks/bench_records.py (prints the table) and tests/integration/test_guard_store.py (asserts
that with every records feature off the default path costs exactly what it did before them).

Events go the real way: `Ingress.record` (idempotency record, event log, queue), then the
deliver handler with batches received from the template's queues, the batch response applied
as the event source mapping does. Requests are counted per phase:

- ingress: what the ingress function sends (DynamoDB, SQS);
- deliver: what the deliver function sends;
- event source: the SQS event source mapping's ReceiveMessage / DeleteMessageBatch (billed too).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class RequestCounter:
    def __init__(self) -> None:
        self.phase = "setup"
        self.ops: Counter[tuple[str, str]] = Counter()

    def attach(self, *clients: Any) -> None:
        for client in clients:
            # First, so moto's own before-send handler (which answers the request) cannot hide it.
            client.meta.events.register_first("before-send", self._sent)

    def _sent(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        _, service, op = [*event_name.split("."), "", ""][:3]
        self.ops[(self.phase, f"{service}.{op}")] += 1

    @contextmanager
    def in_phase(self, name: str) -> Any:
        previous, self.phase = self.phase, name
        try:
            yield
        finally:
            self.phase = previous

    def by_phase(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (phase, _), n in self.ops.items():
            out[phase] += n
        return dict(out)

    def operations(self, phase: str) -> dict[str, int]:
        return {op: n for (p, op), n in sorted(self.ops.items()) if p == phase}


FEATURES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (route options, destination options)
    "all off": ({}, {"circuit_breaker": "off"}),
    "circuit_breaker (default)": ({}, {}),
    "rate_limit 1000/s": ({}, {"circuit_breaker": "off", "rate_limit": "1000/s"}),
    "max_concurrency 10": ({}, {"circuit_breaker": "off", "max_concurrency": 10}),
    "version (stale guard)": ({"key": "body.id", "version": "body.v"}, {"circuit_breaker": "off"}),
    "ordered": ({"key": "body.id", "ordered": True}, {"circuit_breaker": "off"}),
    "all on": ({"key": "body.id", "version": "body.v", "ordered": True},
               {"rate_limit": "1000/s", "max_concurrency": 10}),
}


def count_requests(route_opts: dict[str, Any], dest_opts: dict[str, Any], url: str, events: int = 20,
                   keys: int = 5) -> RequestCounter:
    """Deliver `events` events (over `keys` record keys) with these options; the counted requests."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "1")
    import boto3
    from moto import mock_aws

    from hookline.adapters.aws.claims import RouteClaims
    from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
    from hookline.adapters.aws.event_log_entries import EventLogEntries
    from hookline.adapters.aws.guard_store import GuardStore
    from hookline.adapters.aws.stores import EventLog, FifoPublisher, PayloadStore, QueuePublisher
    from hookline.delivery.engine import Delivery, DeliveryDeps
    from hookline.delivery.guards.guards import Guards
    from hookline.ingress.ingress import Ingress, IngressDeps
    from hookline.local import cfn
    from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
    from hookline.observability import metrics
    from hookline.secrets import SecretResolver
    from hookline.validation import parse_config

    cfg = parse_config({
        "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:BENCH_SECRET"]}}},
        "destinations": {"crm": {"url": url, **dest_opts}},
        "routes": [{"name": "to-crm", "source": "shop", "destination": "crm", **route_opts}],
    })
    counter = RequestCounter()
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        resources = cfn.deploy(session.client, ROOT / "template.yaml", stack_name=f"b{uuid.uuid4().hex[:6]}",
                               region="us-east-1").resources
        sqs, ddb, ddb_client, s3 = (session.client("sqs"), session.resource("dynamodb"), session.client("dynamodb"),
                                    session.client("s3"))
        counter.attach(sqs, ddb.meta.client, ddb_client, s3)
        queue, fifo = resources["DeliveryQueue"], resources["OrderedDeliveryQueue"]
        events_log = EventLog(resources["EventsTable"].name, resource=ddb)
        records = GuardStore(resources["RecordsTable"].name, resource=ddb)
        ingress = Ingress(IngressDeps(
            config=cfg, secrets=SecretResolver(), publisher=QueuePublisher(queue.url, client=sqs),
            ordered_publisher=FifoPublisher(fifo.url, client=sqs), payloads=PayloadStore("unused", client=s3),
            entries=EventLogEntries(resources["EventsTable"].name, client=ddb_client)))
        delivery = Delivery(DeliveryDeps(
            config=cfg, secrets=SecretResolver(), payloads=PayloadStore("unused", client=s3), events=events_log,
            queues=SqsDeliveryQueues(sqs, dlq_url=resources["DeadLetterQueue"].url, queue_url=queue.url,
                                     ordered_queue_url=fifo.url),
            persistence=RouteClaims(resources["EventsTable"].name, boto3_client=ddb_client),
            guards=Guards(records), guard_store=records, rng=random.Random(1)))
        _ = events_log.table, records.table
        with counter.in_phase("ingress"):
            for i in range(events):
                body = json.dumps({"id": f"k{i % keys}", "v": i}).encode()
                resp = ingress.record("shop", f"evt-{i}", "order", {"content-type": "application/json"}, body,
                                      json.loads(body))
                assert resp.status == 202, resp
            metrics.clear_metrics()
        delivered = 0
        deadline = time.monotonic() + 60
        while delivered < events and time.monotonic() < deadline:
            for q in (queue, fifo):
                with counter.in_phase("event source"):
                    messages = sqs.receive_message(QueueUrl=q.url, MaxNumberOfMessages=10,
                                                   **RECEIVE_ATTRIBUTES).get("Messages", [])
                if not messages:
                    continue
                with counter.in_phase("deliver"):
                    response = delivery.handle(to_lambda_records(messages, q.arn, "us-east-1"))
                metrics.clear_metrics()  # no Lambda here to flush them: keep stdout for the figures
                with counter.in_phase("event source"):
                    delete_processed(sqs, q.url, messages, response)
                delivered += len(messages) - len(response["batchItemFailures"])
        delivery.close()
        assert delivered == events, f"{delivered} of {events} delivered"
    return counter
