"""AWS requests per event (ingress, delivery), warm ingress CPU against a hand-written handler, log bytes.

Both handlers run as Lambda runs them (functions/ingress/app.py and functions/deliver/app.py with
their decorators) against moto in-process (tables, queues and bucket from template.yaml), with
signed 1.9 KB GitHub `issues` events and one route to a local HTTP receiver. AWS calls are counted
per operation with a botocore `before-call` hook. The delivery side counts the handler's own calls
and, apart, the ReceiveMessage / DeleteMessageBatch that Lambda's event source mapping makes for
it (batches of 10).

The baseline is the least an ingress can do with the same guarantees' shape: HMAC compare,
json.loads, one conditional PutItem, one SendMessage, same moto, same session. CPU is
process_time (moto's work included on both sides). Within each round the handlers take turns, ten
events each (a VM's speed drifts over the seconds a round takes: measured one after the other, a
round's ratio swung between 0.7 and 2.0), and each timed pass starts from a collected, frozen heap
(benchmarks/_support.py `settle_heap`).
The same ratio is then measured with every AWS call answered at once (no moto: each side's own
CPU and botocore's client side), since in-process moto's work per call differs by operation (a
TransactWriteItems parses its conditions four times, a PutItem once) in a way no endpoint does.
A GitHub delivery id is not signed, so ingress writes a replay guard with its record (one
TransactWriteItems); the same figures are also printed for a source whose signature covers the id
(Standard Webhooks, signed with the `standardwebhooks` library: one conditional PutItem).

    .venv/bin/python benchmarks/bench_requests.py [--events 200] [--rounds 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import (
    GITHUB_CONFIG,
    LambdaContext,
    Stack,
    github_payload,
    http_event,
    load_handler,
    logs_counted,
    moto_stack,
    settle_heap,
    write_json,
)

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")  # template.yaml's LOG_LEVEL


SW_SECRET = "whsec_" + base64.b64encode(b"bench-standard-webhooks-key").decode()
os.environ["BENCH_SW_SECRET"] = SW_SECRET


def _config(dest_url: str) -> dict[str, Any]:
    """The GitHub source and route, plus the same route from a Standard Webhooks source (to another app)."""
    github_route = GITHUB_CONFIG["routes"][0]
    return {
        "sources": {**GITHUB_CONFIG["sources"],
                    "sw": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:BENCH_SW_SECRET"]}}},
        "destinations": {"crm": {"url": f"{dest_url}/contacts"}, "tickets": {"url": f"{dest_url}/tickets"}},
        "routes": [github_route, {**github_route, "name": "sw-to-tickets", "source": "sw", "destination": "tickets",
                                  "when": "type == 'issues'"}],
    }


def sw_event(payload: bytes) -> dict[str, Any]:
    """A Standard Webhooks request (the signature covers the id), signed by the `standardwebhooks` library."""
    from standardwebhooks.webhooks import Webhook

    from hookline.local.apigw_events import http_api_event

    body = json.dumps({"type": "issues", "data": json.loads(payload)}).encode()
    msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(SW_SECRET).sign(msg_id, now, body.decode())}
    return http_api_event(method="POST", path="/webhooks/sw", headers=headers, body=body,
                          path_parameters={"source": "sw"})


class ArchiveBytes:
    """The event archive's PutRecordBatch records, their bytes, and the bytes Firehose bills (each record
    rounded up to 5 KB), through a botocore `before-parameter-build` hook."""

    def __init__(self, session: Any) -> None:
        self.records = self.bytes = self.billed = 0
        session.events.register("before-parameter-build.firehose.PutRecordBatch", self._seen)

    def _seen(self, params: Any = None, **_: Any) -> None:
        for record in (params or {}).get("Records") or []:
            size = len(record["Data"])
            self.records += 1
            self.bytes += size
            self.billed += -(-size // 5120) * 5120

    def take(self) -> tuple[int, int, int]:
        out = (self.records, self.bytes, self.billed)
        self.records = self.bytes = self.billed = 0
        return out


def _services(stack: Stack, dest_url: str) -> Any:
    from hookline.adapters.aws.archive import FirehoseArchive
    from hookline.adapters.aws.claims import RouteClaims
    from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
    from hookline.adapters.aws.event_log_entries import EventLogEntries
    from hookline.adapters.aws.stores import EventLog, PayloadStore, QueuePublisher, hot_path_config
    from hookline.local.archive import provision_archive
    from hookline.secrets import SecretResolver
    from hookline.settings import Settings
    from hookline.validation import parse_config
    from hookline.wiring import Services

    s, r = stack.session, stack.resources
    env = next(f for f in stack.deployed.functions() if f.logical_id == "DeliverFunction").environment
    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    config = parse_config(_config(dest_url))
    ddb = s.client("dynamodb")
    provision_archive(stack.deployed, s.client("firehose"))  # moto's CloudFormation makes no Firehose stream
    return Services(
        settings, config=config, secrets=SecretResolver(),
        publisher=QueuePublisher(stack.url("DeliveryQueue"), client=s.client("sqs", config=hot_path_config())),
        payloads=PayloadStore(r["PayloadBucket"].name, client=s.client("s3")),
        events=EventLog(r["EventsTable"].name, resource=s.resource("dynamodb")),
        event_log_entries=EventLogEntries(r["EventsTable"].name, client=s.client("dynamodb", config=hot_path_config())),
        delivery_persistence=RouteClaims(r["EventsTable"].name, boto3_client=ddb),
        delivery_queues=SqsDeliveryQueues(s.client("sqs"), dlq_url=settings.dlq_url,
                                          queue_url=settings.delivery_queue_url,
                                          ordered_queue_url=settings.ordered_queue_url),
        archive=FirehoseArchive(settings.archive_stream, client=s.client("firehose", config=hot_path_config())),
    )


class Baseline:
    """A hand-written ingress: verify, parse, one conditional PutItem, one SendMessage.

    With `replay_guard`, the record and a guard keyed on the body's digest are written in one
    TransactWriteItems instead of the PutItem: the least a hand-written handler does to keep the
    guarantee hookline keeps for a GitHub event (the same signed bytes under a new delivery id are a
    duplicate). That pair of figures splits hookline's gap into its own code and the guarantee's cost.
    """

    def __init__(self, stack: Stack, replay_guard: bool = False) -> None:
        self.ddb = stack.session.client("dynamodb")
        self.sqs = stack.session.client("sqs")
        self.table = stack.resources["EventsTable"].name
        self.queue_url = ""
        self.secret = os.environ["BENCH_GH_SECRET"].encode()
        self.replay_guard = replay_guard

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        headers = event["headers"]
        body = event["body"].encode()
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-hub-signature-256", "")):
            return {"statusCode": 401}
        payload = json.loads(body)
        event_id = headers["x-github-delivery"]
        record = {"event_id": {"S": event_id}, "route": {"S": "#event"}}
        once = "attribute_not_exists(event_id)"
        try:
            if self.replay_guard:
                guard = {"event_id": {"S": "#sha256:" + hashlib.sha256(body).hexdigest()}, "route": {"S": "#guard"}}
                self.ddb.transact_write_items(TransactItems=[
                    {"Put": {"TableName": self.table, "Item": record, "ConditionExpression": once}},
                    {"Put": {"TableName": self.table, "Item": guard, "ConditionExpression": once}}])
            else:
                self.ddb.put_item(TableName=self.table, Item=record, ConditionExpression=once)
        except (self.ddb.exceptions.ConditionalCheckFailedException,
                self.ddb.exceptions.TransactionCanceledException):
            return {"statusCode": 200}
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(
            {"id": event_id, "type": headers.get("x-github-event"), "body": payload}))
        return {"statusCode": 202}


# Events each side handles before the next side takes its turn.
CHUNK = 10


class Side:
    """One handler's share of a pass: its requests, and what its turns cost (CPU, log bytes, AWS calls)."""

    def __init__(self, handle: Callable[[dict[str, Any]], dict[str, Any]], reqs: list[dict[str, Any]]) -> None:
        self.handle, self.reqs = handle, reqs
        self.cpu = 0.0
        self.log_bytes = 0
        self.ops: Counter[str] = Counter()
        self.units = 0


def take_turns(stack: Stack, sides: list[Side]) -> None:
    """The sides take turns, CHUNK events each: a drift in the machine's speed (a VM's neighbours) over the
    seconds a pass takes falls on every side alike, instead of on whichever ran during it."""
    with logs_counted() as sink:
        settle_heap()
        stack.counter.take()
        stack.counter.take_write_units()
        for start in range(0, len(sides[0].reqs), CHUNK):
            for side in sides:
                logged = sink.bytes
                started = time.process_time()
                for ev in side.reqs[start:start + CHUNK]:
                    response = side.handle(ev)
                    if response["statusCode"] != 202:
                        raise SystemExit(f"ingress answered {response}")
                side.cpu += time.process_time() - started
                side.log_bytes += sink.bytes - logged
                side.ops.update(stack.counter.take())
                side.units += stack.counter.take_write_units()


def measure(events: int, rounds: int) -> dict[str, Any]:
    from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
    from hookline.wiring import install
    from tests.support.receiver import Receiver

    with moto_stack() as stack, Receiver() as receiver:
        archived = ArchiveBytes(stack.session)  # before the clients are made: each copies the session's hooks
        svc = _services(stack, receiver.url)
        install(svc)
        ingress_app, deliver_app = load_handler("ingress"), load_handler("deliver")
        sqs = stack.session.client("sqs")
        queue_url, queue_arn = stack.url("DeliveryQueue"), stack.resources["DeliveryQueue"].arn
        ctx = LambdaContext()
        payloads = [github_payload(i) for i in range(events)]
        serial = iter(range(events, 10**9))

        def hookline(ev: dict[str, Any]) -> dict[str, Any]:
            return ingress_app.handler(ev, ctx)

        def fresh(make: Any = http_event) -> list[dict[str, Any]]:
            # New bytes: the same signed bytes under a new delivery id are a duplicate (replay guard).
            return [make(github_payload(next(serial))) for _ in range(events)]

        def baseline(replay_guard: bool = False, instant: bool = False) -> Baseline:
            handler = Baseline(stack, replay_guard=replay_guard)
            # Its own new queue each pass: the same empty-queue start as hookline's (moto slows as a queue grows).
            handler.queue_url = "https://instant/queue" if instant else sqs.create_queue(
                QueueName=f"baseline-{uuid.uuid4().hex[:8]}")["QueueUrl"]
            return handler

        delivery_ops: Counter[str] = Counter()
        delivery_units = [0]
        archive_sizes = [0, 0, 0]  # records, bytes, billed bytes of the counted deliveries

        def run_delivery(counted: bool = True) -> tuple[int, dict[str, int], int]:
            """Drain the queue as the event source mapping does; `counted`: into the delivery figures."""
            delivered, poller_calls, handler_calls = 0, 0, 0
            with logs_counted() as sink:
                while delivered < events:
                    msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                               **RECEIVE_ATTRIBUTES).get("Messages", [])
                    poller_calls += 1
                    if not msgs:
                        continue
                    stack.counter.take()
                    response = deliver_app.handler(to_lambda_records(msgs, queue_arn, "us-east-1"), ctx)
                    ops = stack.counter.take()
                    units = stack.counter.take_write_units()
                    records, size, billed = archived.take()
                    if counted:
                        delivery_units[0] += units
                        delivery_ops.update(ops)
                        archive_sizes[0] += records
                        archive_sizes[1] += size
                        archive_sizes[2] += billed
                    handler_calls += sum(ops.values())
                    if response["batchItemFailures"]:
                        raise SystemExit(f"delivery failed: {response}")
                    delete_processed(sqs, queue_url, msgs, response)
                    poller_calls += 1
                    delivered += len(msgs)
            stack.counter.take()
            return handler_calls, {"poller": poller_calls}, sink.bytes

        def github_pass(instant: bool = False) -> tuple[Side, Side, Side]:
            """GitHub events through hookline, the hand-written handler and the one with the replay guard."""
            ours = Side(hookline, fresh())
            base = Side(baseline(instant=instant).handle, [http_event(p) for p in payloads])
            guard = Side(baseline(replay_guard=True, instant=instant).handle, fresh())
            take_turns(stack, [ours, base, guard])
            return ours, base, guard

        def signed_id_pass(instant: bool = False) -> tuple[Side, Side]:
            """Standard Webhooks events through hookline, against the hand-written handler (its own pass: one
            queue each, as in the GitHub pass)."""
            ours, base = Side(hookline, fresh(sw_event)), Side(baseline(instant=instant).handle,
                                                              [http_event(p) for p in payloads])
            take_turns(stack, [ours, base])
            return ours, base

        # Warm up: imports, clients, connection pools, the first-call wiring.
        github_pass()
        run_delivery()
        signed_id_pass()
        run_delivery()
        delivery_units[0] = 0
        delivery_ops.clear()
        archive_sizes[:] = [0, 0, 0]

        ratios, ingress_cpu, base_cpu = [], [], []
        sw_ratios: list[float] = []
        guarded_ratios: list[float] = []
        guarded_cpu: list[float] = []
        sw_cpu: list[float] = []
        sw_units = 0
        sw_ops: dict[str, int] = {}
        ingress_units = 0
        ingress_ops: dict[str, int] = {}
        ingress_calls = handler_calls = poller_calls = 0
        ingress_log = delivery_log = 0
        for _ in range(rounds):
            ours, base, guard = github_pass()
            ingress_units += ours.units
            ingress_ops = dict(ours.ops)
            ingress_calls += sum(ours.ops.values())
            ingress_log += ours.log_bytes
            h, p, dlog = run_delivery()
            handler_calls += h
            poller_calls += p["poller"]
            delivery_log += dlog
            sw, sw_base = signed_id_pass()
            sw_units += sw.units
            sw_ops = dict(sw.ops)
            run_delivery(counted=False)
            ingress_cpu.append(ours.cpu / events)
            sw_cpu.append(sw.cpu / events)
            base_cpu.append(base.cpu / events)
            guarded_cpu.append(guard.cpu / events)
            ratios.append(ours.cpu / base.cpu)
            sw_ratios.append(sw.cpu / sw_base.cpu)
            guarded_ratios.append(ours.cpu / guard.cpu)
        # The same handlers with AWS answered at once.
        instant_ratios: list[float] = []
        instant_cpu: list[float] = []
        instant_base: list[float] = []
        instant_sw: list[float] = []
        instant_guarded: list[float] = []
        assert stack.instant is not None
        stack.instant.active = True
        for _ in range(rounds):
            ours, base, guard = github_pass(instant=True)
            sw, sw_base = signed_id_pass(instant=True)
            instant_cpu.append(ours.cpu / events)
            instant_base.append(base.cpu / events)
            instant_ratios.append(ours.cpu / base.cpu)
            instant_sw.append(sw.cpu / sw_base.cpu)
            instant_guarded.append(ours.cpu / guard.cpu)
        stack.instant.active = False
        stack.counter.take()
        stack.counter.take_write_units()
        install(None)

    total = events * rounds
    return {
        "events_per_round": events, "rounds": rounds, "turn_events": CHUNK,
        "ingress_requests_per_event": ingress_calls / total,
        "ingress_operations_last_round": {k: v / events for k, v in sorted(ingress_ops.items())},
        "delivery_requests_per_event": handler_calls / total,
        "delivery_operations": {k: v / total for k, v in sorted(delivery_ops.items())},
        "delivery_poller_requests_per_event": poller_calls / total,
        "ingress_write_units_per_event": ingress_units / total,
        "delivery_write_units_per_event": delivery_units[0] / total,
        "archive_records_per_event": archive_sizes[0] / total,
        "archive_bytes_per_event": archive_sizes[1] / total,
        "archive_billed_bytes_per_event": archive_sizes[2] / total,
        "ingress_cpu_ms_median": statistics.median(ingress_cpu) * 1000,
        "baseline_cpu_ms_median": statistics.median(base_cpu) * 1000,
        "cpu_ratio_median": statistics.median(ratios), "cpu_ratio_min": min(ratios),
        "cpu_ratios": [round(x, 3) for x in ratios],
        "guarded_baseline_cpu_ms_median": statistics.median(guarded_cpu) * 1000,
        "guarded_cpu_ratio_median": statistics.median(guarded_ratios), "guarded_cpu_ratio_min": min(guarded_ratios),
        "instant_guarded_cpu_ratio_median": statistics.median(instant_guarded),
        "signed_id_operations_last_round": {k: v / events for k, v in sorted(sw_ops.items())},
        "signed_id_write_units_per_event": sw_units / total,
        "signed_id_cpu_ms_median": statistics.median(sw_cpu) * 1000,
        "signed_id_cpu_ratio_median": statistics.median(sw_ratios), "signed_id_cpu_ratio_min": min(sw_ratios),
        "instant_signed_id_cpu_ratio_median": statistics.median(instant_sw),
        "instant_ingress_cpu_ms_median": statistics.median(instant_cpu) * 1000,
        "instant_baseline_cpu_ms_median": statistics.median(instant_base) * 1000,
        "instant_cpu_ratio_median": statistics.median(instant_ratios), "instant_cpu_ratio_min": min(instant_ratios),
        "ingress_log_bytes_per_event": ingress_log / total,
        "delivery_log_bytes_per_event": delivery_log / total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="events per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    r = measure(args.events, args.rounds)
    print(f"{args.rounds} rounds x {args.events} signed 1.9 KB GitHub events, one route, moto in-process")
    print(f"AWS requests per event, ingress  : {r['ingress_requests_per_event']:.2f}  "
          f"{r['ingress_operations_last_round']}")
    print(f"DynamoDB write units per event   : ingress {r['ingress_write_units_per_event']:.2f}, "
          f"delivery {r['delivery_write_units_per_event']:.2f}")
    print(f"AWS requests per event, delivery : {r['delivery_requests_per_event']:.2f} "
          f"+ {r['delivery_poller_requests_per_event']:.2f} receive/delete (event source mapping, batch 10)")
    print(f"event archive per event          : {r['delivery_operations'].get('firehose:PutRecordBatch', 0):.2f} "
          f"PutRecordBatch, {r['archive_records_per_event']:.1f} records, {r['archive_bytes_per_event']:.0f} B "
          f"({r['archive_billed_bytes_per_event'] / 1024:.0f} KB billed)")
    print(f"warm ingress CPU per event       : {r['ingress_cpu_ms_median']:.2f} ms vs hand-written "
          f"{r['baseline_cpu_ms_median']:.2f} ms -> ratio median {r['cpu_ratio_median']:.2f}, "
          f"min {r['cpu_ratio_min']:.2f}")
    print(f"  same, AWS answered at once     : {r['instant_ingress_cpu_ms_median']:.2f} ms vs hand-written "
          f"{r['instant_baseline_cpu_ms_median']:.2f} ms -> ratio median {r['instant_cpu_ratio_median']:.2f}, "
          f"min {r['instant_cpu_ratio_min']:.2f}")
    print(f"  over a hand-written handler with the same replay guard (one TransactWriteItems): "
          f"{r['guarded_baseline_cpu_ms_median']:.2f} ms -> ratio median {r['guarded_cpu_ratio_median']:.2f}, "
          f"min {r['guarded_cpu_ratio_min']:.2f}; AWS answered at once {r['instant_guarded_cpu_ratio_median']:.2f}")
    print(f"  signed id (Standard Webhooks)  : {r['signed_id_cpu_ms_median']:.2f} ms -> ratio median "
          f"{r['signed_id_cpu_ratio_median']:.2f}, min {r['signed_id_cpu_ratio_min']:.2f}; AWS answered at once "
          f"{r['instant_signed_id_cpu_ratio_median']:.2f}; {r['signed_id_operations_last_round']}, "
          f"{r['signed_id_write_units_per_event']:.2f} write units")
    print(f"log bytes per event              : ingress {r['ingress_log_bytes_per_event']:.0f}, "
          f"delivery {r['delivery_log_bytes_per_event']:.0f}")
    write_json(args.json, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
