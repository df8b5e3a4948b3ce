"""The circuit breaker recovers whenever the destination can succeed at all (issue 22, item 11).

75 events queued, the default breaker, and a destination that is down for 20 minutes, then comes
back answering each request key 500, 500 and then 200 (it needs an event's third request).
Before the fix every half-open probe went to whichever held event came back first: once events
had been held a few minutes (their hold delays grow to 5 minutes), a failed probe's event was
never back for the next probe, so each probe was some other event's first request and none could
succeed; the breaker held everything, delivering nothing for many minutes. Now the failed probe's
event probes again, and its third request closes the breaker.

Everything runs against moto with the template deployed and a real HTTP receiver. Time is
virtual: time-machine moves the wall clock (moto's SQS delays and visibility timeouts, the
engine's clock, the breaker's cool-downs) forward whenever no message is visible, so the hours
of a recovery take seconds.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.guard_store import GuardStore
from hookline.adapters.aws.stores import EventLog, PayloadStore
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.delivery.guards.guards import Guards
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.secrets import SecretResolver
from tests.support.moto_delivery import config, task
from tests.support.receiver import Received, Receiver, Script

EVENTS = 75
START = 1_900_000_000.0
STEP_SECONDS = 10  # virtual time moved forward when no message is visible
OUTAGE_SECONDS = 20 * 60
MAX_VIRTUAL_SECONDS = 3 * 3600


class ThirdTimeLucky:
    """Down (503) until `back_at`; then each Idempotency-Key (one event on one route) fails twice and
    succeeds at its third request."""

    def __init__(self, back_at: float, needed: int = 3) -> None:
        self.back_at = back_at
        self.needed = needed
        self.requests: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: Received) -> int:
        if time.time() < self.back_at:  # time-machine moves every thread's clock, the server's too
            return 503
        key = request.headers["idempotency-key"]
        with self._lock:
            self.requests[key] += 1
            if self.requests[key] >= self.needed:
                self.delivered[key] += 1
                return 200
            return 500


@pytest.fixture
def flaky() -> Iterator[tuple[Receiver, ThirdTimeLucky]]:
    destination = ThirdTimeLucky(back_at=START + OUTAGE_SECONDS)
    with Receiver(Script(respond=destination)) as r:
        yield r, destination


@pytest.mark.timeout(600)  # about 90 s of moto calls for some 80 virtual minutes
def test_after_an_outage_a_destination_that_needs_each_events_third_request_closes_the_breaker_and_gets_all_75(
        stack: Any, flaky: tuple[Receiver, ThirdTimeLucky]) -> None:
    receiver, destination = flaky
    cfg = config(receiver.url)  # the default breaker: 5 failures, 60 s cool-down, 1 day max hold
    assert cfg.destinations["crm"].breaker is not None
    fn = stack.function("DeliverFunction")
    with time_machine.travel(START, tick=False) as traveller:
        records = GuardStore(stack.resources["RecordsTable"].name, resource=fn.ddb)
        # the breaker's clocks are the (virtual) wall clock; the HTTP deadlines stay on the real monotonic one
        guards = Guards(records, clock=time.time, monotonic=time.time, sleep=lambda s: None)
        delivery = Delivery(DeliveryDeps(
            config=cfg, secrets=SecretResolver(), payloads=PayloadStore(fn.bucket, client=fn.s3),
            events=EventLog(fn.events_table, resource=fn.ddb),
            queues=SqsDeliveryQueues(fn.sqs, dlq_url=fn.dlq_url, queue_url=fn.queue_url),
            persistence=RouteClaims(fn.events_table, boto3_client=fn.ddb_client),
            rng=random.Random(7), guards=guards, guard_store=records))
        for i in range(EVENTS):
            body = task(f"evt-{i:02d}", received_at=START).model_dump_json(exclude_none=True)
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
        opened_at: float | None = None
        closed_after_back: float | None = None
        while len(destination.delivered) < EVENTS and time.time() - START < MAX_VIRTUAL_SECONDS:
            messages = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10,
                                                 **RECEIVE_ATTRIBUTES).get("Messages", [])
            if not messages:
                traveller.shift(STEP_SECONDS)
                continue
            response = delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region))
            delete_processed(stack.sqs, stack.queue_url, messages, response)
            state = records.breaker("crm").get("state")
            if state == "open" and opened_at is None:
                opened_at = time.time()
            if state == "closed" and time.time() >= destination.back_at and closed_after_back is None:
                closed_after_back = time.time() - destination.back_at
            if closed_after_back is None and time.time() - destination.back_at > 20 * 60:
                break  # still open 20 minutes after the destination came back: the failure below says so
        elapsed = time.time() - START
    dead = stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    # The breaker opened during the outage ...
    assert opened_at is not None and opened_at < destination.back_at
    # ... and closed within a few cool-downs of the destination's return: one event probed until its
    # third request (without the fix it cannot close sooner than about 9 minutes: each event probes
    # at most once per 5-minute hold delay)
    assert closed_after_back is not None and closed_after_back <= 6 * 60, (
        f"the breaker was still open {elapsed / 60 - OUTAGE_SECONDS / 60:.0f} virtual minutes after the "
        f"destination came back; requests per event: {sorted(Counter(destination.requests.values()).items())}")
    # Every event delivered exactly once, none dead-lettered, each after exactly three requests
    assert len(destination.delivered) == EVENTS and set(destination.delivered.values()) == {1}, (
        f"{len(destination.delivered)} of {EVENTS} delivered in {elapsed / 60:.0f} virtual minutes")
    assert dead == []
    assert set(destination.requests.values()) == {3}
    statuses = Counter(i["status"] for e in range(EVENTS)
                       for i in EventLog(stack.events_table, resource=stack.ddb).get(f"evt-{e:02d}"))
    assert statuses == {"delivered": EVENTS}
    print(f"all {EVENTS} delivered {(elapsed - OUTAGE_SECONDS) / 60:.1f} virtual minutes after the destination "
          f"came back; the breaker closed {closed_after_back:.0f} s after it came back")
