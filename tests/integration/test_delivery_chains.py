"""One retry sequence per (event, route): a second queueing of an event, or a second copy of a deferral,
steps aside (core/chains.py).

Ingress queues an event twice when a copy arrives after the first invocation's deadline and no
delivery has begun; a deferral queues a second copy when its message is handed back after the first
copy was sent. Without a binding, both messages ran their own retry sequence: a pair could be
delivered by one and dead-lettered by the other.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hookline.core.messages import DeliveryTask
from hookline.local.sqs_events import to_lambda_records
from tests.integration.test_guard_store import Clock, make
from tests.integration.test_route_claims import raw_items
from tests.support import moto_delivery as d
from tests.support.receiver import Receiver, Script


def deliver(stack: Any, delivery: Any, task: Any, context: Any) -> set[str]:
    """Queue one task, hand what the queue gives to delivery; the message ids it reported failed."""
    d.enqueue(stack, task)
    return d.failed(d.run(stack, delivery, d.receive(stack), context))


def test_a_second_queueing_steps_aside_while_the_first_retries(stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[500, 200])) as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        # Given the first queueing's message, whose first attempt failed (it waits for its retry)
        d.enqueue(stack, d.task("evt-chain", chain="first"))
        first = d.receive(stack)
        assert d.failed(d.run(stack, delivery, first, lambda_context))
        # When the event's second queueing is received meanwhile: it is acknowledged without a request and
        # without touching the route's log
        assert deliver(stack, delivery, d.task("evt-chain", chain="late"), lambda_context) == set()
        assert len(dest.requests) == 1
        item = raw_items(stack, "evt-chain")["orders-to-crm"]
        assert item["status"] == "retrying" and len(item["attempts"]) == 1 and item["idem_chain"] == "first"
        # And the first queueing's retry delivers the event
        d.make_visible(stack, first)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 2
    item = d.route_item(stack, "evt-chain")
    assert item["status"] == "delivered"
    # Each attempt names the message that made it: both were the first queueing's
    assert [a["message_id"] for a in item["attempts"]] == [first[0]["MessageId"]] * 2
    assert d.dlq_messages(stack) == []


def test_after_the_first_queueing_is_dead_lettered_the_second_steps_aside_and_a_replay_delivers(
        stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[422, 200])) as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        # Given the first queueing dead-lettered (a permanent answer)
        deliver(stack, delivery, d.task("evt-dead", chain="first"), lambda_context)
        dead = d.dlq_messages(stack)
        assert len(dead) == 1
        # When the second queueing arrives
        assert deliver(stack, delivery, d.task("evt-dead", chain="late"), lambda_context) == set()
        # Then it sends nothing and adds nothing to the DLQ: the pair is there once, with its reason
        assert len(dest.requests) == 1
        assert d.route_item(stack, "evt-dead")["status"] == "dead"
        stack.sqs.delete_message(QueueUrl=stack.dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"])
        assert d.dlq_messages(stack) == []
        # And a replay of the DLQ entry (its task keeps the first chain) delivers it
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=dead[0]["Body"])
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 2
    assert d.route_item(stack, "evt-dead")["status"] == "delivered"


def test_the_binding_ends_with_the_idempotency_window(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        deliver(stack, delivery, d.task("evt-reused", chain="first"), lambda_context)
        # Given the window over (the id may now name a new event): the claim and the binding have lapsed
        stack.ddb.Table(stack.events_table).update_item(
            Key={"event_id": "evt-reused", "route": "orders-to-crm"},
            UpdateExpression="SET idem_expiration = :past, idem_chain_until = :past",
            ExpressionAttributeValues={":past": 1})
        # When a message of another queueing comes: it is delivered, and now owns the route
        assert deliver(stack, delivery, d.task("evt-reused", chain="new"), lambda_context) == set()
        assert len(dest.requests) == 2
    assert raw_items(stack, "evt-reused")["orders-to-crm"]["idem_chain"] == "new"


def test_messages_without_a_chain_are_not_held_back(stack: Any, lambda_context: Any) -> None:
    # Messages queued before chains existed (and syncs' tasks) bind nothing and are never stepped aside
    with Receiver(Script(statuses=[500, 200])) as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        assert deliver(stack, delivery, d.task("evt-unchained", chain="first"), lambda_context)
        assert deliver(stack, delivery, d.task("evt-unchained"), lambda_context) == set()
        assert len(dest.requests) == 2
    assert d.route_item(stack, "evt-unchained")["status"] == "delivered"


def test_a_second_queueing_during_the_first_ones_send_waits_like_any_copy(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        # Given the first queueing's message sending right now (its claim is live)
        now = time.time()
        stack.ddb.Table(stack.events_table).put_item(Item={
            "event_id": "evt-sending", "route": "orders-to-crm", "idem_status": "INPROGRESS",
            "idem_expiration": int(now) + 3600, "idem_in_progress_expiration": int(now * 1000) + 60_000,
            "idem_chain": "first", "idem_chain_until": int(now) + 3600})
        # When the second queueing's message comes: it is told "in progress" and looks again later
        d.enqueue(stack, d.task("evt-sending", chain="late"))
        messages = d.receive(stack)
        assert d.failed(d.run(stack, delivery, messages, lambda_context)) == {messages[0]["MessageId"]}
        assert dest.requests == []


def test_a_message_handed_back_after_it_was_dead_lettered_is_not_attempted_again(
        stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[422, 200])) as dest:
        delivery = d.make_delivery(stack, d.config(dest.url))
        d.enqueue(stack, d.task("evt-handed-back", chain="first"))
        messages = d.receive(stack)
        # Given an invocation that dead-lettered the message and died before SQS deleted it
        response = delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
        assert d.failed(response) == set() and len(d.dlq_messages(stack)) == 1
        assert d.route_item(stack, "evt-handed-back")["dead_message_id"] == messages[0]["MessageId"]
        # When SQS hands the message back
        d.make_visible(stack, messages)
        again = d.receive(stack)
        assert [m["MessageId"] for m in again] == [messages[0]["MessageId"]]
        # Then it is acknowledged without a request and without a second DLQ entry
        assert d.failed(d.run(stack, delivery, again, lambda_context)) == set()
        assert len(dest.requests) == 1
        assert len(d.dlq_messages(stack)) == 1
    item = d.route_item(stack, "evt-handed-back")
    assert item["status"] == "dead" and len(item["attempts"]) == 1


# ---------------------------------------------------------------- a deferral's copy, and its message handed back


class CopiesKept:
    """The deliver role's SQS client, except that a deferral's copies are kept here instead of queued with
    their delay (a test enqueues them when it wants them)."""

    def __init__(self, stack: Any, inner: Any, fail_with: Exception | None = None) -> None:
        self.stack, self.inner, self.fail_with = stack, inner, fail_with
        self.copies: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> Any:
        if kwargs["QueueUrl"] != self.stack.queue_url:
            return self.inner.send_message(**kwargs)
        if self.fail_with is not None:
            raise self.fail_with
        self.copies.append(json.loads(kwargs["MessageBody"]))
        return {"MessageId": f"kept-{len(self.copies)}"}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def held_delivery(stack: Any, url: str, fail_with: Exception | None = None,
                  max_hold: int | None = None) -> tuple[Any, Any, CopiesKept]:
    """Delivery with the records table's guards, the destination's breaker open (one failure opens it)."""
    breaker = {"failures": 1, "cool_down_seconds": 60, **({"max_hold_seconds": max_hold} if max_hold else {})}
    cfg = d.config(url, dest={"circuit_breaker": breaker}, retry=[1, 1])
    clock = Clock()
    delivery, store = make(stack, cfg, clock)
    store.open_breaker("crm", now=clock.now, probe_at=clock.now + 60)
    spy = CopiesKept(stack, delivery.deps.queues.client, fail_with)
    delivery.deps.queues.client = spy
    return delivery, store, spy


def reopen(delivery: Any, store: Any) -> None:
    """The destination recovered: its breaker closed, and the cool-down over (guards cache its state)."""
    delivery.deps.clock.now += 61
    store.close_breaker("crm", now=delivery.deps.clock())


UNMAPPABLE = {"transform": {"email": {"path": "body.nobody", "required": True}}}  # a MappingError for every event


def test_a_message_handed_back_after_a_dead_letter_before_its_claim_is_not_dead_lettered_again(
        stack: Any, lambda_context: Any) -> None:
    # A mapping error dead-letters the pair before any claim: the claim's own check never ran
    with Receiver() as dest:
        delivery = d.make_delivery(stack, d.config(dest.url, route=UNMAPPABLE))
        d.enqueue(stack, d.task("evt-unmappable", chain="first"))
        messages = d.receive(stack)
        # Given an invocation that dead-lettered the message and died before SQS deleted it
        response = delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
        assert d.failed(response) == set()
        [dead] = d.dlq_messages(stack)
        assert d.attrs(dead)["reason"] == "mapping"
        # When SQS hands the message back: it is acknowledged, and the pair stays in the DLQ once
        d.make_visible(stack, messages)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(d.dlq_messages(stack)) == 1 and dest.requests == []
    item = d.route_item(stack, "evt-unmappable")
    assert item["status"] == "dead" and item["dead_message_id"] == messages[0]["MessageId"]


def test_a_dead_letter_is_sent_when_its_check_cannot_be_written(stack: Any, lambda_context: Any,
                                                                monkeypatch: Any) -> None:
    from botocore.exceptions import ClientError

    def throttled(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "UpdateItem")

    with Receiver() as dest:
        delivery = d.make_delivery(stack, d.config(dest.url, route=UNMAPPABLE))
        # At the claims' client: the adapter turns DynamoDB's refusal into core's StoreUnavailable
        monkeypatch.setattr(delivery.deps.persistence.client, "update_item", throttled)
        # A throttled events table must not keep a pair out of the DLQ: a duplicate entry is the lesser harm
        assert deliver(stack, delivery, d.task("evt-throttled", chain="first"), lambda_context) == set()
        [dead] = d.dlq_messages(stack)
        assert d.attrs(dead)["reason"] == "mapping" and dest.requests == []


def test_a_held_message_handed_back_past_max_hold_leaves_one_dlq_entry(stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery, store, spy = held_delivery(stack, dest.url, max_hold=3600)
        clock = delivery.deps.clock
        d.enqueue(stack, d.task("evt-overdue", chain="first", held_since=clock.now - 3500))
        messages = d.receive(stack)
        # Given a held event whose invocation re-enqueued its copy, then died before SQS deleted the message
        delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
        assert len(spy.copies) == 1
        # When SQS hands the message back once the hold has passed max_hold (the breaker still open)
        clock.now += 200
        store.open_breaker("crm", now=clock.now, probe_at=clock.now + 60)
        d.make_visible(stack, messages)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        # Then it does not dead-letter the pair (a copy owns it): not knowing whether that copy was sent,
        # it queues another
        assert d.dlq_messages(stack) == [] and len(spy.copies) == 2
        # And of the copies, the first dead-letters the pair as destination_down, the other steps aside
        for copy in spy.copies:
            d.enqueue(stack, DeliveryTask(**copy))
            assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        [dead] = d.dlq_messages(stack)
        assert d.attrs(dead)["reason"] == "destination_down" and dest.requests == []
    assert d.route_item(stack, "evt-overdue")["status"] == "dead"


def test_a_held_message_handed_back_after_its_copy_was_queued_leaves_one_retry_sequence(
        stack: Any, lambda_context: Any) -> None:
    with Receiver(Script(statuses=[422, 200])) as dest:
        delivery, store, spy = held_delivery(stack, dest.url)
        d.enqueue(stack, d.task("evt-held", chain="first"))
        messages = d.receive(stack)
        # Given a held event whose invocation re-enqueued its copy, then died before SQS deleted the message
        delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
        assert len(spy.copies) == 1 and spy.copies[0]["parent"] == "first"
        assert raw_items(stack, "evt-held")["orders-to-crm"]["idem_handed_over_by"] == messages[0]["MessageId"]
        # When SQS hands the message back while the breaker is still open: it is held again, and queues a
        # second copy (it cannot know whether the first was sent)
        d.make_visible(stack, messages)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(spy.copies) == 2 and spy.copies[0]["chain"] != spy.copies[1]["chain"]
        # And the breaker closes: the first copy to come is attempted and dead-lettered (a permanent answer)
        reopen(delivery, store)
        d.enqueue(stack, DeliveryTask(**spy.copies[1]))
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 1 and len(d.dlq_messages(stack)) == 1
        # Then the other copy steps aside: no request, and the pair is in the DLQ once, not also delivered
        d.enqueue(stack, DeliveryTask(**spy.copies[0]))
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 1 and len(d.dlq_messages(stack)) == 1
    assert d.route_item(stack, "evt-held")["status"] == "dead"


def test_a_message_that_died_between_its_hand_over_and_its_copy_defers_again(
        stack: Any, lambda_context: Any) -> None:
    with Receiver() as dest:
        delivery, store, spy = held_delivery(stack, dest.url, fail_with=RuntimeError("the invocation died here"))
        d.enqueue(stack, d.task("evt-died", chain="first"))
        messages = d.receive(stack)
        # Given a held event whose invocation wrote the hand-over and died before its copy was queued
        assert d.failed(d.run(stack, delivery, messages, lambda_context)) == {messages[0]["MessageId"]}
        assert spy.copies == []
        # When the message comes back after the breaker closed: it may not claim (a copy might exist), so it
        # queues one, without a request
        spy.fail_with = None
        reopen(delivery, store)
        d.make_visible(stack, messages)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert dest.requests == [] and len(spy.copies) == 1
        # Then the copy delivers the event: nothing lost
        d.enqueue(stack, DeliveryTask(**spy.copies[0]))
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 1
    assert d.route_item(stack, "evt-died")["status"] == "delivered"


def test_a_chainless_held_message_handed_back_leaves_one_retry_sequence(stack: Any, lambda_context: Any) -> None:
    # A sync's task carries no chain: its copies get one, and the route passes to the first of them
    with Receiver(Script(statuses=[422, 200])) as dest:
        delivery, store, spy = held_delivery(stack, dest.url)
        d.enqueue(stack, d.task("evt-sync"))
        messages = d.receive(stack)
        delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), lambda_context)
        d.make_visible(stack, messages)
        d.run(stack, delivery, d.receive(stack), lambda_context)
        assert len(spy.copies) == 2 and all(c["chain"] and "parent" not in c for c in spy.copies)
        reopen(delivery, store)
        for copy in spy.copies:
            d.enqueue(stack, DeliveryTask(**copy))
            d.run(stack, delivery, d.receive(stack), lambda_context)
        assert len(dest.requests) == 1 and len(d.dlq_messages(stack)) == 1
