"""The delivery engine archives each SQS batch in one put, after the batch's deliveries, and a failed archive
changes no delivery (core/archive.py; the engine on fakes as in test_engine.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookline.observability import metrics
from tests.support.fakes import FakeArchive
from tests.unit.delivery.test_engine import ROUTE, Engine, record, task


class Watching(FakeArchive):
    """Notes how many requests the destination had seen when the archive was written."""

    def __init__(self, sender: Any) -> None:
        super().__init__()
        self.sender = sender
        self.sent_before_put: list[int] = []

    def put(self, lines: list[bytes]) -> int:
        self.sent_before_put.append(len(self.sender.calls))
        return super().put(lines)


@pytest.fixture
def engine() -> Any:
    made: list[Engine] = []

    def make(*answers: int) -> tuple[Engine, Watching]:
        e = Engine(*answers)
        e.delivery.deps.archive = Watching(e.sender)
        made.append(e)
        return e, e.delivery.deps.archive

    yield make
    for e in made:
        e.close()


def test_a_batch_of_ten_is_archived_in_one_put_after_its_ten_deliveries(engine: Any) -> None:
    e, archive = engine(*[200] * 10)
    batch = [record(task(f"evt-{i}"), message_id=f"m-{i}") for i in range(10)]
    assert e.handle(*batch) == []
    assert len(archive.calls) == 1 and archive.sent_before_put == [10]  # 0.1 requests per event
    lines = archive.records()
    assert sorted((r["kind"], r["id"]) for r in lines) == sorted(
        (k, f"evt-{i}") for i in range(10) for k in ("event", "attempt"))
    attempt = next(r for r in lines if r["kind"] == "attempt")
    assert attempt["status"] == "delivered" and attempt["status_code"] == 200 and attempt["route"] == ROUTE
    assert "body" not in attempt
    event = next(r for r in lines if r["kind"] == "event" and r["id"] == "evt-3")
    assert json.loads(event["body"]) == {"id": 1001, "total": 42}


def test_a_failed_archive_write_changes_no_delivery(engine: Any) -> None:
    metrics.clear_metrics()
    e, archive = engine(200, 503)
    archive.raise_error = ConnectionError("firehose unreachable")
    failures = e.handle(record(task("evt-1"), message_id="m-1"), record(task("evt-2"), message_id="m-2"))
    assert len(e.sender.calls) == 2
    assert failures == ["m-2"]  # the 503 is retried, as without an archive; the 200 is delivered
    assert e.item("evt-1")["status"] == "delivered"
    assert metrics.metric_set["ArchiveFailed"]["Value"] == [4.0]  # 2 events + 2 attempts not archived
    metrics.clear_metrics()


def test_a_retry_archives_its_attempt_and_not_the_event_again(engine: Any) -> None:
    e, archive = engine(503, 200)
    t = task("evt-1")
    assert e.handle(record(t, receive_count=1)) == ["m-1"]
    assert e.handle(record(t, receive_count=2)) == []
    kinds = [(r["kind"], r.get("status"), r.get("status_code")) for r in archive.records()]
    assert kinds == [("event", None, None), ("attempt", "retrying", 503), ("attempt", "delivered", 200)]


def test_without_an_archive_nothing_is_archived(engine: Any) -> None:
    e, archive = engine(200)
    e.delivery.deps.archive = None
    assert e.handle(record(task())) == []
    assert archive.calls == []
