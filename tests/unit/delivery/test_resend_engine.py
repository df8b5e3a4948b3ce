"""A re-send (operations/resend.py) through the delivery engine on fakes: its own claim and event log entry,
the ordered route's stale guard (an older version is `stale` unless `force`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hookline.core.archive import event_record
from hookline.core.messages import DeliveryTask
from hookline.operations.resend import ArchivedEvent, build_task, next_resend
from tests.unit.delivery.test_engine import ROUTE, Engine, record, task

VERSIONED = {"key": "body.id", "version": "body.v"}


@pytest.fixture
def engines() -> Iterator[Any]:
    made: list[Engine] = []

    def make(*answers: int, **kwargs: Any) -> Engine:
        made.append(Engine(*answers, **kwargs))
        return made[-1]

    yield make
    for e in made:
        e.close()


def archived(t: DeliveryTask) -> ArchivedEvent:
    line = event_record(t, time.time())
    return ArchivedEvent(id=line["id"], source=line["source"], type=line["type"], received_at=line["received_at"],
                         headers=json.loads(line["headers"]), body=line["body"], body_encoding=line["body_encoding"],
                         s3_key=None, routes=[line["route"]])


def resent(e: Any, original: DeliveryTask, *, force: bool = False) -> DeliveryTask:
    event = archived(original)
    n = next_resend(e.events.get(event.id), ROUTE)
    return build_task(event, ROUTE, n, event.raw_body(None), force=force)


def test_a_resend_is_its_own_delivery_and_leaves_the_original_entry_as_it_was(engines: Any) -> None:
    e = engines(200, 200, 200)
    original = task("evt-1", {"id": 1001, "total": 42})
    assert e.handle(record(original, "m-1")) == []
    before = dict(e.item("evt-1"))
    first = resent(e, original)
    assert e.handle(record(first, "m-2")) == []
    second = resent(e, original)
    assert e.handle(record(second, "m-3")) == []
    # Three requests, each its own key: without the marker the claim answered the re-sends and sent nothing
    assert [c["route"] for c in e.sender.calls] == [ROUTE, f"{ROUTE}#resend-1", f"{ROUTE}#resend-2"]
    assert [json.loads(c["body"]) for c in e.sender.calls] == [{"id": 1001, "total": 42}] * 3
    assert e.item("evt-1") == before
    log = {i["route"]: i for i in e.events.get("evt-1")}
    assert log[f"{ROUTE}#resend-1"]["status"] == log[f"{ROUTE}#resend-2"]["status"] == "delivered"


def test_a_resend_message_handed_back_is_not_sent_twice(engines: Any) -> None:
    e = engines(200, 200)
    original = task("evt-1")
    e.handle(record(original, "m-1"))
    again = resent(e, original)
    assert e.handle(record(again, "m-2", receive_count=1)) == []
    assert e.handle(record(again, "m-2", receive_count=2)) == []
    assert len(e.sender.calls) == 2


def test_an_ordered_routes_resend_of_an_older_version_is_stale_unless_forced(engines: Any) -> None:
    e = engines(200, 200, 200, 200, breaker=True, route=VERSIONED)
    older, newer = task("evt-1", {"id": 7, "v": 1}), task("evt-2", {"id": 7, "v": 2})
    assert e.handle(record(older, "m-1")) == []
    assert e.handle(record(newer, "m-2")) == []
    # The older version again: stale, not sent, and the original's entry untouched
    assert e.handle(record(resent(e, older), "m-3")) == []
    assert len(e.sender.calls) == 2
    log = {i["route"]: i for i in e.events.get("evt-1")}
    assert log[f"{ROUTE}#resend-1"]["status"] == "stale" and log[ROUTE]["status"] == "delivered"
    # The latest version again is sent (it is the delivered one)
    assert e.handle(record(resent(e, newer), "m-4")) == []
    assert e.sender.calls[-1]["route"] == f"{ROUTE}#resend-1" and len(e.sender.calls) == 3
    # --force: the older version goes
    assert e.handle(record(resent(e, older, force=True), "m-5")) == []
    assert len(e.sender.calls) == 4 and e.sender.calls[-1]["route"] == f"{ROUTE}#resend-2"
    assert json.loads(e.sender.calls[-1]["body"]) == {"id": 7, "v": 1}
    # and a forced older version does not become the delivered one: v1 again without force is still stale
    assert e.handle(record(resent(e, older), "m-6")) == []
    assert len(e.sender.calls) == 4
