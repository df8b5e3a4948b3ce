"""A firehose/s3 destination goes through the engine's ports.WarehouseSink, which wiring builds (the engine
no longer imports the boto3 sender itself: issue 23 item 2)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hookline.adapters.aws.sinks import Warehouse
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
    FakeWarehouse,
    MemoryTable,
)
from tests.unit.delivery.test_engine import DLQ_URL, QUEUE_URL, ROUTE, Fixed, record, task


def lake_config() -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X-Sig"}}},
        "destinations": {"lake": {"type": "firehose", "stream": "orders"}},
        "routes": [{"name": ROUTE, "source": "shop", "destination": "lake"}],
    })


def engine(warehouse: Any) -> tuple[Delivery, FakeQueue]:
    clock, table, queue = Clock(time.time()), MemoryTable(), FakeQueue()
    return Delivery(DeliveryDeps(
        config=lake_config(), secrets=FakeSecrets({"CRM_TOKEN": "t" * 16}),  # type: ignore[arg-type]
        payloads=FakePayloadStore(), events=FakeEventLog(table, clock=clock), queues=queue,
        persistence=FakeClaimStore(table, clock=clock),  # type: ignore[arg-type]
        clock=clock, rng=Fixed(), max_workers=2, warehouse=warehouse,
    )), queue


def test_a_firehose_destination_is_sent_through_the_warehouse_port() -> None:
    lake = FakeWarehouse()
    delivery, _ = engine(lake)
    try:
        failures = delivery.handle({"Records": [record(task(body={"id": 7}))]})["batchItemFailures"]
    finally:
        delivery.close()
    assert failures == []
    assert list(lake.lines) == ["lake"] and len(lake.lines["lake"]) == 1
    assert b'"id": 7' in lake.lines["lake"][0] or b'"id":7' in lake.lines["lake"][0]


def test_without_a_warehouse_the_message_is_not_acknowledged() -> None:
    delivery, queue = engine(None)
    try:
        failures = delivery.handle({"Records": [record(task())]})["batchItemFailures"]
    finally:
        delivery.close()
    assert failures == [{"itemIdentifier": "m-1"}]  # SQS gives it back; nothing is lost
    assert queue.dead_letters() == []


def test_wiring_gives_the_engine_the_boto3_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    services = Services(Settings(events_table="events", delivery_queue_url=QUEUE_URL, dlq_url=DLQ_URL),
                        config=lake_config())
    assert isinstance(services.delivery.deps.warehouse, Warehouse)
    services.delivery.close()
