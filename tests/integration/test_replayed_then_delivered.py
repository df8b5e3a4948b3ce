"""An event dead-lettered, replayed and then delivered shows as delivered, without the dead letter's reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hookline.adapters.aws.stores import EventLog
from hookline.operations.report import list_events
from tests.support import moto_delivery as md
from tests.support.receiver import Receiver, Script


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(Script(statuses=[422, 200], body=b'{"error": "owner required"}')) as r:
        yield r


def test_a_replayed_event_once_delivered_has_no_failure_reason(stack: Any, receiver: Receiver,
                                                               lambda_context: Any) -> None:
    # Given an event the CRM refused (422: permanent_http), dead-lettered
    delivery = md.make_delivery(stack, md.config(receiver.url))
    md.enqueue(stack, md.task("evt-r"))
    md.run(stack, delivery, md.receive(stack), lambda_context)
    [dead] = md.dlq_messages(stack)
    assert md.attrs(dead)["reason"] == "permanent_http"
    assert md.route_item(stack, "evt-r")["reason"] == "permanent_http"
    # When the operator replays it (the DLQ body back on the delivery queue) and the CRM now takes it
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=dead["Body"])
    md.run(stack, delivery, md.receive(stack), lambda_context)
    # Then the route is delivered, and nothing still says it failed for good
    item = md.route_item(stack, "evt-r")
    assert item["status"] == "delivered"
    assert "reason" not in item and "dead_at" not in item
    assert [a["outcome"] for a in item["attempts"]][-1] == "delivered"  # the history keeps the failure too
    [row] = list_events(EventLog(stack.events_table, resource=stack.ddb).scan(), event_id=["evt-r"])
    assert row.to_dict()["status"] == "delivered" and row.to_dict()["reason"] is None


def test_the_event_logs_own_delivered_write_clears_them_too(stack: Any) -> None:
    # The engine writes the delivered status itself when its persistence layer does not
    # (outcomes/settle.py: Outcomes.delivered)
    log = EventLog(stack.events_table, resource=stack.ddb)
    log.record_attempt(event_id="evt-l", route="r", status="dead", attempt={"outcome": "dead"},
                       reason="permanent_http", last_error="HTTP 422", dead_at=1.0, dead_message_id="m-1")
    log.record_attempt(event_id="evt-l", route="r", status="retrying", attempt={"outcome": "retry"})
    assert log.get("evt-l")[0]["reason"] == "permanent_http"  # only a delivery supersedes it
    log.record_attempt(event_id="evt-l", route="r", status="delivered", attempt={"outcome": "delivered"},
                       delivered_at=2.0)
    [item] = log.get("evt-l")
    assert item["status"] == "delivered" and "reason" not in item and "dead_at" not in item
    assert item["dead_message_id"] == "m-1" and item["last_error"] == "HTTP 422"
