"""Records against moto: the store's real ConditionExpressions, deferrals through the engine, request budgets."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.guard_store import GuardStore
from hookline.adapters.aws.stores import EventLog, PayloadStore
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.delivery.guards.guards import Guards
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.secrets import SecretResolver
from tests.support.moto_delivery import config, task
from tests.support.receiver import Receiver, Script
from tests.support.request_count import count_requests


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def store_of(stack: Any, clock: Any = None) -> GuardStore:
    kwargs = {"clock": clock} if clock else {}
    # the deliver role's clients: its RecordsTable statement is what these writes need
    return GuardStore(stack.resources["RecordsTable"].name, resource=stack.function("DeliverFunction").ddb, **kwargs)


def make(stack: Any, cfg: Any, clock: Clock, fifo: bool = False) -> tuple[Delivery, GuardStore]:
    records = store_of(stack, clock)
    guards = Guards(records, clock=clock, monotonic=clock, sleep=lambda s: None)
    fn = stack.function("DeliverFunction")  # only the deliver role's permissions
    return Delivery(DeliveryDeps(
        config=cfg, secrets=SecretResolver(), payloads=PayloadStore(fn.bucket, client=fn.s3),
        events=EventLog(fn.events_table, resource=fn.ddb),
        queues=SqsDeliveryQueues(fn.sqs, dlq_url=fn.dlq_url, queue_url=fn.queue_url,
                                 ordered_queue_url=stack.resources["OrderedDeliveryQueue"].url),
        persistence=RouteClaims(fn.events_table, boto3_client=fn.ddb_client),
        clock=clock, rng=random.Random(1), guards=guards, guard_store=records)), records


def deliver(stack: Any, delivery: Delivery, queue: str = "DeliveryQueue") -> tuple[list[dict], dict]:
    res = stack.resources[queue]
    messages = stack.sqs.receive_message(QueueUrl=res.url, MaxNumberOfMessages=10, **RECEIVE_ATTRIBUTES)\
        .get("Messages", [])
    response = delivery.handle(to_lambda_records(messages, res.arn, stack.region))
    delete_processed(stack.sqs, res.url, messages, response)
    return messages, response


def route_item(stack: Any, event_id: str) -> dict[str, Any]:
    return next(i for i in EventLog(stack.events_table, resource=stack.ddb).get(event_id)
                if i["route"] == "orders-to-crm")


# ---------------------------------------------------------------- the store's conditions (DynamoDB decides)


def test_version_claims_are_conditional_writes(stack: Any) -> None:
    store = store_of(stack)
    # A first claim wins; a second one, older, while it is held, fails and sees the holder
    assert store.claim_version("r", "k", 5, "e5", until=200, now=100)[0]
    won, seen = store.claim_version("r", "k", 3, "e3", until=200, now=101)
    assert not won and seen["claim_event"] == "e5"
    # Committed: an older or equal version fails against `delivered`, the delivered event's own copy passes
    store.commit_version("r", "k", 5, "e5", now=102)
    won, seen = store.claim_version("r", "k", 5, "e5b", until=300, now=103)
    assert not won and (seen["delivered"], seen["delivered_event"]) == (5, "e5")
    assert store.claim_version("r", "k", 5, "e5", until=300, now=104)[0]
    store.release_version("r", "k", "e5")
    # An expired claim can be taken over
    assert store.claim_version("r", "k", 9, "e9", until=110, now=105)[0]
    assert store.claim_version("r", "k", 8, "e8", until=400, now=111)[0]


def test_the_breaker_opens_once_and_one_caller_wins_the_probe(stack: Any) -> None:
    store = store_of(stack)
    for _ in range(3):
        new = store.record_failure("crm", now=100)
    assert new["failures"] == 3 and new["state"] == "closed"
    assert store.open_breaker("crm", now=100, probe_at=110)
    assert not store.open_breaker("crm", now=100, probe_at=110)
    assert not store.claim_probe("crm", now=105, probe_deadline=200)  # still cooling down
    assert store.claim_probe("crm", now=111, probe_deadline=200)
    assert not store.claim_probe("crm", now=111, probe_deadline=200)
    store.close_breaker("crm", now=112)
    assert store.breaker("crm")["state"] == "closed" and store.breaker("crm")["failures"] == 0


# ---------------------------------------------------------------- deferrals through the engine


def test_a_held_event_is_requeued_with_its_attempts_and_sends_nothing(stack: Any, receiver: Receiver) -> None:
    # Given a destination whose breaker is open (1 failure opens it; cool-down 60 s)
    receiver.script = Script(statuses=[503, 200])
    cfg = config(receiver.url, dest={"circuit_breaker": {"failures": 1, "cool_down_seconds": 60}}, retry=[5, 5])
    clock = Clock()
    delivery, store = make(stack, cfg, clock)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=task("e1").model_dump_json(exclude_none=True))
    _, response = deliver(stack, delivery)
    assert len(response["batchItemFailures"]) == 1 and store.breaker("crm")["state"] == "open"
    sent: list[dict[str, Any]] = []
    inner = delivery.deps.queues.client
    real_send = inner.send_message

    def send_spy(**kwargs: Any) -> Any:
        sent.append(kwargs)
        return real_send(**kwargs)

    delivery.deps.queues.client = type("Spy", (), {"send_message": staticmethod(send_spy),
                                         "__getattr__": lambda self, n: getattr(inner, n)})()
    # When another event comes while it is open
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=task("e2").model_dump_json(exclude_none=True))
    _, response = deliver(stack, delivery)
    # Then it is held: no request, its message acknowledged and a copy re-enqueued with no attempt spent
    assert len(receiver.requests) == 1 and response["batchItemFailures"] == []
    assert route_item(stack, "e2")["status"] == "held" and not route_item(stack, "e2").get("attempts")
    [requeued] = [c for c in sent if c["QueueUrl"] == stack.queue_url]
    copy = json.loads(requeued["MessageBody"])
    assert (copy["event_id"], copy["schedule_attempts"]) == ("e2", 0) and copy["held_since"] == clock.now
    assert 54 <= requeued["DelaySeconds"] <= 66  # until the next probe (60 s, jittered)
    # And after the cool-down, one held event probes; the 200 closes the breaker and it is delivered
    clock.now += 61
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    held = task("e2", held_since=clock.now - 61)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=held.model_dump_json(exclude_none=True))
    deliver(stack, delivery)
    assert route_item(stack, "e2")["status"] == "delivered"
    assert store.breaker("crm")["state"] == "closed"


def test_an_event_held_past_max_hold_goes_to_the_dlq_as_destination_down(stack: Any, receiver: Receiver) -> None:
    cfg = config(receiver.url, dest={"circuit_breaker": {"failures": 1, "cool_down_seconds": 60,
                                                         "max_hold_seconds": 3600}})
    clock = Clock()
    delivery, store = make(stack, cfg, clock)
    store.open_breaker("crm", now=clock.now, probe_at=clock.now + 60)
    old = task("e3", held_since=clock.now - 3601)
    stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=old.model_dump_json(exclude_none=True))
    deliver(stack, delivery)
    [dead] = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert dead["MessageAttributes"]["reason"]["StringValue"] == "destination_down"
    assert receiver.requests == []


def test_an_ordered_deferral_keeps_its_message_and_is_not_counted_as_an_attempt(stack: Any,
                                                                             receiver: Receiver) -> None:
    # Given an ordered route whose destination fails (schedule 10 s, 20 s) and an event that was deferred once
    receiver.script = Script(statuses=[503])
    cfg = config(receiver.url, route={"key": "body.id", "ordered": True},
                 dest={"circuit_breaker": "off"}, retry=[10, 20])
    clock = Clock()
    delivery, store = make(stack, cfg, clock)
    fifo = stack.resources["OrderedDeliveryQueue"]
    stack.sqs.send_message(QueueUrl=fifo.url, MessageBody=task("e4").model_dump_json(exclude_none=True),
                           MessageGroupId="orders-to-crm#1001", MessageDeduplicationId="e4")
    messages = stack.sqs.receive_message(QueueUrl=fifo.url, **RECEIVE_ATTRIBUTES)["Messages"]
    stack.sqs.change_message_visibility(QueueUrl=fifo.url, ReceiptHandle=messages[0]["ReceiptHandle"],
                                        VisibilityTimeout=0)
    store.add_deferral("orders-to-crm", "e4", None)  # receive 1 was a deferral (e.g. over the rate limit)
    # When it is received again (receive count 2) and its request fails
    visibility: list[int] = []
    inner = delivery.deps.queues.client
    real = inner.change_message_visibility

    def spy(**kwargs: Any) -> Any:
        visibility.append(kwargs["VisibilityTimeout"])
        return real(**kwargs)

    delivery.deps.queues.client = type("Spy", (), {"change_message_visibility": staticmethod(spy),
                                         "__getattr__": lambda self, n: getattr(inner, n)})()
    _, response = deliver(stack, delivery, "OrderedDeliveryQueue")
    # Then it was attempt 1 (the first delay, ~10 s), not attempt 2 (~20 s); the message stays on the queue
    assert len(response["batchItemFailures"]) == 1
    assert 9 <= visibility[-1] <= 11
    assert len(route_item(stack, "e4")["attempts"]) == 1


# ---------------------------------------------------------------- request budgets


def test_with_every_records_feature_off_the_default_path_costs_no_extra_request(receiver: Receiver) -> None:
    counted = count_requests({}, {"circuit_breaker": "off"}, f"{receiver.url}/x", events=10)
    # The default path's requests, no more (docs/INTERNALS.md "Event log items and request budget"):
    # ingress (Ingress.record with the event id as the key): the `#event` record and the queueing (one route);
    # delivery: claim and completion (with the attempt logged)
    assert counted.operations("ingress") == {"dynamodb.PutItem": 10, "sqs.SendMessage": 10}
    assert counted.operations("deliver") == {"dynamodb.UpdateItem": 20}


def test_the_default_breaker_costs_at_most_one_read_per_destination_while_healthy(receiver: Receiver) -> None:
    counted = count_requests({}, {}, f"{receiver.url}/x", events=20)
    ops = counted.operations("deliver")
    assert ops.pop("dynamodb.GetItem", 0) <= 2
    assert ops == {"dynamodb.UpdateItem": 40}
