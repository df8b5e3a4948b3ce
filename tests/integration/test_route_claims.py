"""The merged records (issue 12 item 1): ingress writes no route item, delivery's claim lives in it.

docs/INTERNALS.md "Event log items and request budget". Run under each function's own role.
"""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from hookline.adapters.aws.stores import EventLog
from hookline.core.ports import EVENT_ITEM
from hookline.operations.report import list_events, summarize
from tests.integration import test_ingress as ingress_tests
from tests.support import moto_delivery as md
from tests.support.receiver import Receiver, Script


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", ingress_tests.SECRET)


def raw_items(stack: Any, event_id: str) -> dict[str, dict[str, Any]]:
    table = stack.ddb.Table(stack.events_table)
    return {i["route"]: i for i in table.query(KeyConditionExpression=Key("event_id").eq(event_id))["Items"]}


def test_ingress_writes_the_event_item_only_and_readers_show_each_route_received(stack: Any) -> None:
    # Given an event matching two routes, accepted by ingress
    headers, body = ingress_tests.github_request({"issue": {"number": 7}}, delivery="d-lazy")
    assert ingress_tests.make_ingress(stack).accept("github", headers, body).status == 202
    # Then the table holds one item for it: `#event`, listing the routes
    raw = raw_items(stack, "d-lazy")
    assert set(raw) == {EVENT_ITEM} and sorted(raw[EVENT_ITEM]["routes"]) == ["all-to-wh", "issues-to-crm"]
    # And every reader sees both routes as received (what `hookline events` and `report` show)
    log = EventLog(stack.events_table, resource=stack.ddb)
    got = {i["route"]: i.get("status") for i in log.get("d-lazy")}
    assert got == {EVENT_ITEM: None, "all-to-wh": "received", "issues-to-crm": "received"}
    scanned = list(log.scan())
    rows = list_events(scanned, event_id=["d-lazy"])
    assert [(r.route, r.status, r.source) for r in rows] == [("all-to-wh", "received", "github"),
                                                              ("issues-to-crm", "received", "github")]
    report = summarize(scanned)
    assert report.routes["issues-to-crm"].received == 1 and report.routes["issues-to-crm"].in_flight == 1
    assert report.total.received == 1


def test_a_failed_attempt_releases_the_claim_and_keeps_its_log(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[500, 200])) as dest:
        delivery = md.make_delivery(stack, md.config(dest.url))
        md.enqueue(stack, md.task("evt-claim"))
        first = md.receive(stack)
        # When the first attempt fails
        assert md.failed(md.run(stack, delivery, first, lambda_context))
        item = raw_items(stack, "evt-claim")["orders-to-crm"]
        # Then the claim is released (a retry may send) and the attempt stays logged
        assert not any(k.startswith("idem_") for k in item), item
        assert item["status"] == "retrying" and len(item["attempts"]) == 1
        # And when the retry succeeds
        md.make_visible(stack, first)
        response = md.run(stack, delivery, md.receive(stack), lambda_context)
        assert md.failed(response) == set()
    # Then one item holds the completed claim and both attempts (written by the claim's completion)
    item = raw_items(stack, "evt-claim")["orders-to-crm"]
    assert item["idem_status"] == "COMPLETED"
    assert item["status"] == "delivered" and [a["outcome"] for a in item["attempts"]] == ["retry", "delivered"]
    # And readers never see the claim's attributes
    logged = md.route_item(stack, "evt-claim")
    assert not any(k.startswith("idem_") for k in logged) and logged["status"] == "delivered"


def test_a_second_copy_of_a_delivered_message_sends_and_writes_nothing(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery = md.make_delivery(stack, md.config(dest.url))
        t = md.task("evt-copy")
        md.enqueue(stack, t)
        md.run(stack, delivery, md.receive(stack), lambda_context)
        before = raw_items(stack, "evt-copy")["orders-to-crm"]
        # When SQS hands over a second copy of the delivered message
        md.enqueue(stack, t)
        response = md.run(stack, delivery, md.receive(stack), lambda_context)
        # Then it is acknowledged, nothing is sent again, and the item is as it was
        assert md.failed(response) == set()
        assert len(dest.requests) == 1
    assert raw_items(stack, "evt-copy")["orders-to-crm"] == before
