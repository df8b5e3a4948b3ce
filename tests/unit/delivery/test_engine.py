"""The delivery engine on in-memory fakes of its ports (tests/support/fakes.py): no moto, no AWS client.

The moto-backed tests (tests/integration/test_delivery*.py) stay the proof against AWS semantics and IAM;
these show the engine's decisions, fast: delivered, retried on the schedule, dead-lettered with a reason,
stale, held by the breaker, and sent once however many copies of a message arrive, from several threads.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from hookline.budget import NominalContext
from hookline.core.messages import DeliveryTask
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.delivery.guards.guards import Guards
from hookline.validation import parse_config
from tests.support.aging import Clock, together
from tests.support.fakes import (
    FakeClaimStore,
    FakeEventLog,
    FakeGuardStore,
    FakePayloadStore,
    FakeQueue,
    FakeSecrets,
    FakeSender,
    MemoryTable,
)

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-delivery"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:hookline-delivery"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-dlq"
ROUTE = "orders-to-crm"


class Fixed:
    """Retry jitter pinned to the schedule's own value (retry.jittered draws from [0.9 d, 1.1 d])."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def config(*, route: dict[str, Any] | None = None, dest: dict[str, Any] | None = None,
           retry: list[int] | None = None) -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X-Sig"}}},
        "destinations": {"crm": {"url": "http://crm.invalid/contacts", **(dest or {})}},
        "routes": [{"name": ROUTE, "source": "shop", "destination": "crm", **(route or {})}],
        "retry": {"schedule_seconds": retry or [10, 60]},
    })


class Engine:
    """A Delivery on fakes, the fakes kept at hand."""

    def __init__(self, *answers: int, clock: Clock | None = None, breaker: bool = False, **cfg: Any) -> None:
        self.clock = clock or Clock(time.time())
        self.table = MemoryTable()
        self.events = FakeEventLog(self.table, clock=self.clock)
        self.claims = FakeClaimStore(self.table, clock=self.clock)
        self.queue = FakeQueue()
        self.sender = FakeSender(*answers, clock=self.clock)
        self.guard_store = FakeGuardStore(self.clock) if breaker else None
        self.delivery = Delivery(DeliveryDeps(
            config=config(**cfg), secrets=FakeSecrets({"CRM_TOKEN": "t" * 16}),  # type: ignore[arg-type]
            payloads=FakePayloadStore(), events=self.events, queues=self.queue,
            persistence=self.claims, sender=self.sender,  # type: ignore[arg-type]
            clock=self.clock, rng=Fixed(), max_workers=4,
            guards=Guards(self.guard_store, clock=self.clock, sleep=self.clock.sleep) if breaker else None,
        ))

    def handle(self, *records: dict[str, Any]) -> list[str]:
        """The batch's failures (message ids), as the event source mapping reads them."""
        return [f["itemIdentifier"] for f in self.delivery.handle({"Records": list(records)})["batchItemFailures"]]

    def item(self, event_id: str = "evt-1") -> dict[str, Any]:
        return next(i for i in self.events.get(event_id) if i["route"] == ROUTE)

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.queue.dead_letters()

    def close(self) -> None:
        self.delivery.close()


@pytest.fixture
def engines() -> Any:
    made: list[Engine] = []

    def make(*answers: int, **kwargs: Any) -> Engine:
        made.append(Engine(*answers, **kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def task(event_id: str = "evt-1", body: Any = None, **fields: Any) -> DeliveryTask:
    text, encoding = DeliveryTask.encode_body(json.dumps(body or {"id": 1001, "total": 42}).encode())
    return DeliveryTask(event_id=event_id, source="shop", route=ROUTE, type="order.created",
                        received_at=time.time() - 1, headers={"content-type": "application/json"},
                        content_type="application/json", body=text, body_encoding=encoding, **fields)


def record(t: DeliveryTask, message_id: str = "m-1", receive_count: int = 1) -> dict[str, Any]:
    """The Lambda SQS event shape of one message."""
    return {"messageId": message_id, "receiptHandle": f"rh-{message_id}-{receive_count}",
            "body": t.model_dump_json(exclude_none=True),
            "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "0",
                           "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": QUEUE_ARN,
            "awsRegion": "us-east-1"}


def reason(message: dict[str, Any]) -> str:
    return message["MessageAttributes"]["reason"]["StringValue"]


def test_a_2xx_is_delivered_acknowledged_and_logged_on_the_claims_item(engines: Any) -> None:
    e = engines(200)
    assert e.handle(record(task())) == []
    assert [c["event_id"] for c in e.sender.calls] == ["evt-1"]
    item = e.item()
    assert item["status"] == "delivered"
    assert [a["outcome"] for a in item["attempts"]] == ["delivered"]
    assert not any(k.startswith("idem_") for k in item)  # readers never see the claim
    assert e.dead_letters() == [] and e.queue.visibility == []


def test_a_5xx_is_retried_on_the_schedule_then_dead_lettered_as_retries_exhausted(engines: Any) -> None:
    e = engines(503, retry=[10, 60])
    t = task()
    assert e.handle(record(t, receive_count=1)) == ["m-1"]  # reported failed: SQS hands it back
    assert e.queue.visibility == [10]
    assert e.item()["status"] == "retrying"
    assert e.handle(record(t, receive_count=2)) == ["m-1"]
    assert e.queue.visibility == [10, 60]
    assert e.handle(record(t, receive_count=3)) == []  # the last scheduled retry failed too
    [dead] = e.dead_letters()
    assert reason(dead) == "retries_exhausted"
    assert dead["MessageAttributes"]["status_code"]["StringValue"] == "503"
    assert len(e.sender.calls) == 3
    item = e.item()
    assert item["status"] == "dead" and item["dead_message_id"] == "m-1"
    assert [a["outcome"] for a in item["attempts"]] == ["retry", "retry", "permanent"]


def test_a_4xx_goes_to_the_dlq_at_once_with_its_reason_and_never_again(engines: Any) -> None:
    e = engines(422)
    t = task()
    assert e.handle(record(t)) == []
    [dead] = e.dead_letters()
    assert reason(dead) == "permanent_http"
    assert DeliveryTask.model_validate_json(dead["MessageBody"]).event_id == "evt-1"
    # The same message handed back (its acknowledgement lost): not attempted, not dead-lettered twice.
    assert e.handle(record(t, receive_count=2)) == []
    assert len(e.sender.calls) == 1 and len(e.dead_letters()) == 1


def test_an_older_version_of_a_record_is_stale_and_not_sent(engines: Any) -> None:
    e = engines(200, breaker=True, route={"key": "body.id", "version": "body.v"})
    assert e.handle(record(task("evt-2", {"id": 7, "v": 2}), "m-2")) == []
    assert e.handle(record(task("evt-1", {"id": 7, "v": 1}), "m-1")) == []
    assert [c["event_id"] for c in e.sender.calls] == ["evt-2"]
    assert e.item("evt-1")["status"] == "stale"
    assert e.dead_letters() == []


def test_an_open_breaker_holds_events_without_sending_and_a_probe_after_the_cool_down_closes_it(engines: Any) -> None:
    e = engines(500, breaker=True, dest={"circuit_breaker": {"failures": 3, "cool_down_seconds": 60}})
    for i in range(3):
        assert e.handle(record(task(f"evt-{i}"), f"m-{i}")) == [f"m-{i}"]
    assert len(e.sender.calls) == 3
    e.handle(record(task("evt-9"), "m-9"))
    assert len(e.sender.calls) == 3  # held: no request to a destination known to be down
    assert e.item("evt-9")["status"] == "held"
    held = [m for m in e.queue.requeued if m["queue_arn"] == QUEUE_ARN]
    assert len(held) == 1 and DeliveryTask.model_validate_json(held[0]["MessageBody"]).event_id == "evt-9"
    e.sender.answers = [200]
    e.clock.advance(61)  # the cool-down is over: the next event is the probe
    copy = DeliveryTask.model_validate_json(held[0]["MessageBody"])
    assert e.handle(record(copy, "m-10")) == []
    assert len(e.sender.calls) == 4 and e.item("evt-9")["status"] == "delivered"


def test_the_same_message_handed_back_after_its_delivery_is_not_sent_again(engines: Any) -> None:
    e = engines(200)
    t = task()
    assert e.handle(record(t, receive_count=1)) == []
    assert e.handle(record(t, receive_count=2)) == []  # at-least-once: SQS delivered it again
    assert e.handle(record(t, "m-other")) == []  # or the event was queued twice
    assert len(e.sender.calls) == 1
    assert len(e.item()["attempts"]) == 1


def test_ten_copies_at_once_from_ten_threads_make_one_request(engines: Any) -> None:
    e = engines(200)
    t = task()
    gate = threading.Event()
    e.sender.before_answer = lambda: gate.wait(5)  # the winner is still sending while the others arrive

    e.delivery.idempotency.register_lambda_context(NominalContext(time.monotonic))

    def copy(i: int) -> Any:
        result = e.delivery.process(_sqs(record(t, f"m-{i}")))
        if result.status == "in_progress":
            gate.set()
        return result

    results = together(copy)
    assert len(e.sender.calls) == 1
    statuses = sorted(r.status for r in results)
    assert statuses.count("delivered") >= 1 and set(statuses) <= {"delivered", "in_progress"}
    assert [r.replayed for r in results if r.status == "delivered"].count(False) == 1
    assert e.queue.visibility.count(5) == statuses.count("in_progress")  # those look again in 5 s


def test_a_crash_after_the_send_is_recorded_does_not_send_again(engines: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    e = engines(200)
    t = task()
    crash = RuntimeError("the invocation died after the destination answered 2xx")

    def die(*_: Any, **__: Any) -> Any:
        raise crash

    monkeypatch.setattr(e.delivery.outcomes, "delivered", die)
    assert e.handle(record(t, receive_count=1)) == ["m-1"]  # unacknowledged: SQS hands it back
    monkeypatch.undo()
    assert e.handle(record(t, receive_count=2)) == []
    assert len(e.sender.calls) == 1
    assert e.item()["status"] == "delivered"


def test_a_send_that_died_in_flight_is_sent_again_only_after_its_invocation_is_over(engines: Any) -> None:
    e = engines(200)
    t = task()
    e.claims.save_inprogress(data="evt-1:" + ROUTE, remaining_time_in_millis=60_000)  # killed mid-request
    assert e.handle(record(t, receive_count=2)) == ["m-1"]
    assert e.sender.calls == [] and e.queue.visibility == [5]  # in progress: look again shortly
    e.clock.advance(61)  # that invocation's time is over: its claim lapsed
    assert e.handle(record(t, receive_count=3)) == []
    assert len(e.sender.calls) == 1


def _sqs(raw: dict[str, Any]) -> Any:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    return SQSRecord(raw)
