"""An AWS target destination goes through the engine's ports.TargetSender (wiring builds adapters.aws.targets):
the message carries the delivery key and the record key's FIFO group, a throttled call is retried on the
schedule, a config refusal is dead-lettered `config`, and a copy of a delivered message sends nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookline.adapters.aws.targets import AwsTargets
from hookline.core import outcomes
from hookline.core.outcomes import HttpResult
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.settings import Settings
from hookline.validation import parse_config
from hookline.wiring import Services
from tests.support.aging import Clock
from tests.support.fakes import (
    FakeClaimStore,
    FakeEventLog,
    FakePayloadStore,
    FakeQueue,
    FakeSecrets,
    FakeTargets,
    MemoryTable,
)
from tests.unit.delivery.test_engine import DLQ_URL, QUEUE_URL, ROUTE, Fixed, record, task


def queue_config() -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X-Sig"}}},
        "destinations": {"inbox": {"type": "sqs", "queue": "orders.fifo"}},
        "routes": [{"name": ROUTE, "source": "shop", "destination": "inbox", "key": "body.customer",
                    "transform": {"order": "body.id"}}],
    })


def engine(targets: Any) -> tuple[Delivery, FakeQueue]:
    clock, table, queue = Clock(time.time()), MemoryTable(), FakeQueue()
    return Delivery(DeliveryDeps(
        config=queue_config(), secrets=FakeSecrets({"CRM_TOKEN": "t" * 16}),  # type: ignore[arg-type]
        payloads=FakePayloadStore(), events=FakeEventLog(table, clock=clock), queues=queue,
        persistence=FakeClaimStore(table, clock=clock),  # type: ignore[arg-type]
        clock=clock, rng=Fixed(), max_workers=2, targets=targets,
    )), queue


def test_an_sqs_destination_gets_the_mapped_body_with_the_delivery_key_and_record_group() -> None:
    targets = FakeTargets()
    delivery, _ = engine(targets)
    try:
        first = delivery.handle({"Records": [record(task(body={"id": 7, "customer": "c-1"}))]})
        again = delivery.handle({"Records": [record(task(body={"id": 7, "customer": "c-1"}), receive_count=2)]})
    finally:
        delivery.close()
    assert first["batchItemFailures"] == [] and again["batchItemFailures"] == []
    (m,) = targets.sent["inbox"]  # the copy found the delivery done: nothing sent twice
    assert m.body == '{"order": 7}' or m.body.replace(" ", "") == '{"order":7}'
    assert m.group_id == f"{ROUTE}#c-1" and m.delivery_key.endswith(f":{ROUTE}")


def test_throttling_is_retried_and_access_denied_is_dead_lettered_config() -> None:
    throttled = HttpResult(started_at=1.0, latency_ms=1.0, error="sqs SendMessageBatch: Throttling", requests_made=1,
                           error_kind="sqs_error")
    denied = HttpResult(started_at=1.0, latency_ms=1.0, error="AccessDenied", requests_made=1,
                        error_kind=outcomes.INVALID_REQUEST)
    delivery, queue = engine(FakeTargets([throttled, denied]))
    try:
        retried = delivery.handle({"Records": [record(task(body={"id": 1, "customer": "a"}))]})
        dead = delivery.handle({"Records": [record(task(body={"id": 1, "customer": "a"}), receive_count=2)]})
    finally:
        delivery.close()
    assert retried["batchItemFailures"] == [{"itemIdentifier": "m-1"}]
    assert dead["batchItemFailures"] == []
    (letter,) = queue.dead_letters()
    assert "config" in str(letter) and "AccessDenied" in str(letter)


def test_without_targets_the_message_is_not_acknowledged() -> None:
    delivery, queue = engine(None)
    try:
        failures = delivery.handle({"Records": [record(task())]})["batchItemFailures"]
    finally:
        delivery.close()
    assert failures == [{"itemIdentifier": "m-1"}] and queue.dead_letters() == []


def test_wiring_gives_the_engine_the_aws_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    services = Services(Settings(events_table="events", delivery_queue_url=QUEUE_URL, dlq_url=DLQ_URL),
                        config=queue_config())
    assert isinstance(services.delivery.deps.targets, AwsTargets)
    services.delivery.close()
