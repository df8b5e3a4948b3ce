"""AWS requests per event, per path: counted with a botocore hook, held to a budget.

These are counts, not timings: each AWS request is paid by the user at volume. The budgets are
today's (issue 12's measurement); a redesign of the records lowers them here, it never raises
them silently.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.stores import EventLog, PayloadStore, QueuePublisher, hot_path_config
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.signatures import sign
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.secrets import SecretResolver
from hookline.validation import parse_config
from tests.integration.test_ingress import delivery_began
from tests.support.receiver import Receiver

SECRET = "budget-test-secret"

# Requests per event (issue 12 item 1; docs/INTERNALS.md "Records and request budget").
# routes matched -> requests: TransactWriteItems (the `#event` record and, GitHub's id being unsigned, its
# replay guard), SendMessage (one route) or SendMessageBatch (more). The route items are created by delivery:
# the count does not grow with routes.
INGRESS_BUDGET = {1: 2, 3: 2}
# A copy: the write that finds the record, the look for delivery's route items (first copy only), the counter.
INGRESS_DUPLICATE_BUDGET = {"first copy": 3, "later copies": 2}
DELIVERY_BUDGET = 2  # per delivered message: UpdateItem (claim), UpdateItem (claim done + attempt logged)


class Counting:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        out, self.calls = self.calls, Counter()
        return out


def role_session(stack: Any, function: str | None = None, counter: Counting | None = None) -> Any:
    """A session with `function`'s role keys (IAM enforced), or the administrator's (None: the event
    source mapping, whose AWS-managed poller policy moto's CloudFormation does not attach)."""
    if function:
        creds = stack.credentials[function]
        keys = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}
    else:
        frozen = stack.admin.get_credentials().get_frozen_credentials()
        keys = {"aws_access_key_id": frozen.access_key, "aws_secret_access_key": frozen.secret_key}
    session = boto3.session.Session(region_name=stack.region, **keys)
    if counter is not None:
        session.events.register("before-call.*.*", counter)  # before any client: all of them inherit it
    return session


@pytest.fixture
def counted(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Counting]]:
    monkeypatch.setenv("BUDGET_SECRET", SECRET)
    counter = Counting()
    yield (lambda function=None: role_session(stack, function, counter)), counter


def _config(routes: int, url: str = "http://127.0.0.1:9/x") -> Any:
    return parse_config({
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:BUDGET_SECRET"]}}},
        "destinations": {"crm": {"url": url}},
        "routes": [{"name": f"r{i}", "source": "github", "destination": "crm",
                    "when": "headers.\"x-github-event\" == 'issues'"} for i in range(routes)],
    })


def _ingress(stack: Any, session: Any, routes: int) -> Ingress:
    return Ingress(IngressDeps(
        config=_config(routes), secrets=SecretResolver(),
        publisher=QueuePublisher(stack.queue_url, client=session.client("sqs", config=hot_path_config())),
        payloads=PayloadStore(stack.bucket, client=session.client("s3")),
        entries=EventLogEntries(stack.events_table, client=session.client("dynamodb", config=hot_path_config())),
    ))


def _send(ingress: Ingress, delivery_id: str) -> int:
    # Each delivery its own body: the same signed bytes under a new delivery id are a duplicate (replay guard).
    body = json.dumps({"action": "opened", "issue": {"number": 1, "title": "t"}, "delivery": delivery_id}).encode()
    headers = sign(ingress.deps.config.sources["github"].verify, SECRET, body, msg_id=delivery_id)
    headers.update({"X-GitHub-Event": "issues", "Content-Type": "application/json"})
    return ingress.accept("github", headers, body).status


@pytest.mark.parametrize("routes", sorted(INGRESS_BUDGET))
def test_ingress_requests_per_event_within_budget(stack: Any, counted: tuple[Any, Counting], routes: int) -> None:
    sessions, counter = counted
    ingress = _ingress(stack, sessions("IngressFunction"), routes)
    # Given warm clients, When events are accepted
    assert _send(ingress, "warm-up") == 202
    counter.take()
    for i in range(5):
        assert _send(ingress, f"d-{routes}-{i}") == 202
    calls = counter.take()
    # Then each cost at most the budget
    per_event = sum(calls.values()) / 5
    assert per_event <= INGRESS_BUDGET[routes], f"{per_event} requests per event: {dict(calls)}"
    assert calls["SendMessage" if routes == 1 else "SendMessageBatch"] == 5, "one queue request per event"


def test_an_id_taken_from_the_signed_body_records_with_one_put_that_is_also_the_replay_guard(
        stack: Any, counted: tuple[Any, Counting]) -> None:
    """hmac-sha256 with verify.id_path: equal bytes give the same id, so one PutItem (1 write unit) holds the
    id and the bytes "once"; no guard item, no transaction (4 units). The record lives as long as the guard."""
    sessions, counter = counted
    session = sessions("IngressFunction")
    config = parse_config({
        "sources": {"app": {"verify": {"scheme": "hmac-sha256", "header": "X-Sig", "secrets": ["env:BUDGET_SECRET"],
                                       "id_path": "id"}, "replay_guard_days": 90}},
        "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}},
        "routes": [{"name": "r0", "source": "app", "destination": "crm"}],
    })
    ddb = session.client("dynamodb", config=hot_path_config())
    ingress = Ingress(IngressDeps(
        config=config, secrets=SecretResolver(),
        publisher=QueuePublisher(stack.queue_url, client=session.client("sqs", config=hot_path_config())),
        payloads=PayloadStore(stack.bucket, client=session.client("s3")),
        entries=EventLogEntries(stack.events_table, client=ddb)))

    def send(event_id: str) -> int:
        body = json.dumps({"id": event_id, "amount": 5}).encode()
        headers = sign(config.sources["app"].verify, SECRET, body)
        return ingress.accept("app", {**headers, "Content-Type": "application/json"}, body).status

    assert send("warm-up") == 202
    counter.take()
    for i in range(5):
        assert send(f"self-guarded-{i}") == 202
    calls = counter.take()
    assert calls == Counter({"PutItem": 5, "SendMessage": 5}), dict(calls)
    item = stack.ddb.meta.client.get_item(TableName=stack.events_table,
                                          Key={"event_id": "self-guarded-0", "route": "#event"})["Item"]
    assert int(item["expires_at"]) >= float(item["received_at"]) + 90 * 86400
    # The same bytes again: the record answers, as the guard item did (409 while delivery has not begun).
    assert send("self-guarded-0") in (200, 409)
    assert "SendMessage" not in counter.take()


def test_duplicate_costs_within_budget(stack: Any, counted: tuple[Any, Counting]) -> None:
    sessions, counter = counted
    ingress = _ingress(stack, sessions("IngressFunction"), 1)
    assert _send(ingress, "dup") == 202
    delivery_began(stack, "dup", "r0")
    for copy, budget in INGRESS_DUPLICATE_BUDGET.items():
        counter.take()
        assert _send(ingress, "dup") == 200
        calls = counter.take()
        assert sum(calls.values()) <= budget, (copy, dict(calls))
        assert "SendMessageBatch" not in calls and "SendMessage" not in calls


def test_delivery_requests_per_message_within_budget(stack: Any, counted: tuple[Any, Counting]) -> None:
    sessions, counter = counted
    session, poller = sessions("DeliverFunction"), sessions()
    with Receiver() as receiver:
        cfg = _config(1, f"{receiver.url}/contacts")
        ingress = _ingress(stack, role_session(stack, "IngressFunction"), 1)  # not counted: only delivery is
        for i in range(20):
            assert _send(ingress, f"m-{uuid.uuid4().hex}-{i}") == 202
        sqs = session.client("sqs")
        delivery = Delivery(DeliveryDeps(
            config=cfg, secrets=SecretResolver(),
            payloads=PayloadStore(stack.bucket, client=session.client("s3")),
            events=EventLog(stack.events_table, resource=session.resource("dynamodb")),
            queues=SqsDeliveryQueues(sqs, dlq_url=stack.dlq_url, queue_url=stack.queue_url),
            persistence=RouteClaims(stack.events_table, boto3_client=session.client("dynamodb")),
        ))
        handler_calls: Counter[str] = Counter()
        poller_calls: Counter[str] = Counter()
        delivered, batches = 0, 0
        counter.take()
        while delivered < 20:
            messages = poller.client("sqs").receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10,
                                           **RECEIVE_ATTRIBUTES).get("Messages", [])
            poller_calls += counter.take()
            response = delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), None)
            handler_calls += counter.take()
            assert response["batchItemFailures"] == []
            delete_processed(poller.client("sqs"), stack.queue_url, messages, response)
            poller_calls += counter.take()
            delivered += len(messages)
            batches += 1 if messages else 0
        receiver.wait_for(20)
    assert sum(handler_calls.values()) / 20 <= DELIVERY_BUDGET, dict(handler_calls)
    # The event source mapping's share: one ReceiveMessage and one DeleteMessageBatch per batch (of up to 10).
    assert poller_calls["DeleteMessageBatch"] == batches, dict(poller_calls)
    assert set(poller_calls) <= {"ReceiveMessage", "DeleteMessageBatch"}, dict(poller_calls)
