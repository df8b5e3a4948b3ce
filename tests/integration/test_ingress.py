"""Ingress against moto: tables, queue and bucket provisioned from template.yaml."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.stores import GUARD_ITEM, EventLog, QueuePublisher
from hookline.core.errors import StoreUnavailable
from hookline.core.messages import DeliveryTask
from hookline.core.ports import EVENT_ITEM
from hookline.ingress.ingress import Ingress
from hookline.ingress.signatures import sign
from hookline.validation import parse_config
from tests.support import moto_ingress
from tests.support.events import load_event

SECRET = "it-is-a-test-secret"

CONFIG = {
    "sources": {
        "github": {"verify": {"scheme": "github", "secrets": ["env:TEST_GH_SECRET"]}},
        "legacy": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:TEST_GH_SECRET"], "header": "X-Sig"},
                   "format": "form"},
    },
    "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}, "wh": {"url": "http://127.0.0.1:9/y"}},
    "routes": [
        {"name": "issues-to-crm", "source": "github", "destination": "crm",
         "when": "headers.\"x-github-event\" == 'issues'"},
        {"name": "all-to-wh", "source": "github", "destination": "wh"},
        {"name": "legacy-to-crm", "source": "legacy", "destination": "crm"},
    ],
}


def make_ingress(stack: Any, *, publisher: Any = None, payloads: Any = None, threshold: int = 200 * 1024,
                 replay_guard_days: int | None = None, **deps: Any) -> Ingress:
    config = CONFIG
    if replay_guard_days is not None:  # the github source's (tests/integration/test_ingress_copies.py: the default)
        github = {**CONFIG["sources"]["github"], "replay_guard_days": replay_guard_days}
        config = {**CONFIG, "sources": {**CONFIG["sources"], "github": github}}
    cfg = parse_config(config)
    return moto_ingress.make_ingress(stack, cfg, publisher=publisher, payloads=payloads,
                                     large_body_threshold=threshold, **deps)


def delivery_began(stack: Any, event_id: str, route: str) -> None:
    """What delivery's first claim leaves behind: the route's item, with the event's reception time (ingress's
    proof that the event was queued)."""
    record = stack.ddb.Table(stack.events_table).get_item(Key={"event_id": event_id, "route": EVENT_ITEM})["Item"]
    EventLog(stack.events_table, resource=stack.ddb).record_attempt(event_id=event_id, route=route, status="retrying",
                                                                    received_at=float(record["received_at"]))


def github_request(payload: dict, delivery: str = "d-1", event: str = "issues") -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    cfg = parse_config(CONFIG).sources["github"].verify
    headers = {k.lower(): v for k, v in sign(cfg, SECRET, body, msg_id=delivery).items()}
    headers.update({"x-github-event": event, "content-type": "application/json"})
    return headers, body


def queued(stack: Any) -> list[DeliveryTask]:
    tasks = []
    while True:
        msgs = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10,
                                         VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            return tasks
        tasks += [DeliveryTask.model_validate_json(m["Body"]) for m in msgs]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", SECRET)


def test_accepted_event_is_queued_once_per_matching_route_and_recorded(stack: Any) -> None:
    # Given a signed GitHub "issues" delivery
    headers, body = github_request({"issue": {"number": 1}}, delivery="d-accept")
    # When it arrives
    resp = make_ingress(stack).accept("github", headers, body)
    # Then 202, one task per matching route, and the event log knows both routes
    assert (resp.status, resp.body) == (202, {"status": "accepted", "id": "d-accept"})
    tasks = queued(stack)
    assert sorted(t.route for t in tasks) == ["all-to-wh", "issues-to-crm"]
    assert all(t.event_id == "d-accept" and t.inline_body() == body for t in tasks)
    assert "x-hub-signature-256" not in tasks[0].headers  # signatures do not travel downstream
    items = {i["route"]: i for i in EventLog(stack.events_table, resource=stack.ddb).get("d-accept")}
    assert set(items) == {EVENT_ITEM, "issues-to-crm", "all-to-wh"}
    assert items["issues-to-crm"]["status"] == "received"
    assert items[EVENT_ITEM]["type"] == "issues"


def test_route_filter_excludes_non_matching_routes(stack: Any) -> None:
    headers, body = github_request({"zen": "hi"}, delivery="d-ping", event="ping")
    assert make_ingress(stack).accept("github", headers, body).status == 202
    assert [t.route for t in queued(stack)] == ["all-to-wh"]


def test_duplicate_answers_200_and_is_not_queued_again(stack: Any) -> None:
    ingress = make_ingress(stack)
    headers, body = github_request({"issue": {"number": 2}}, delivery="d-dup")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-dup", "all-to-wh")
    again = ingress.accept("github", headers, body)
    assert (again.status, again.body) == (200, {"status": "duplicate", "id": "d-dup"})
    assert ingress.accept("github", headers, body).status == 200
    assert len(queued(stack)) == 2  # the two routes of the first copy only
    event_item = next(i for i in EventLog(stack.events_table, resource=stack.ddb).get("d-dup")
                      if i["route"] == EVENT_ITEM)
    assert event_item["duplicates"] == 2


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_copy_before_delivery_begins_waits_then_finds_the_event_queued_once(stack: Any) -> None:
    # Given an accepted event whose delivery has not begun
    clock = Clock()
    ingress = make_ingress(stack, clock=clock, in_flight_seconds=10)
    headers, body = github_request({"issue": {"number": 21}}, delivery="d-wait")
    assert ingress.accept("github", headers, body).status == 202
    # When a copy comes within the first invocation's queueing window: it cannot know yet, so 409
    clock.now += 5
    early = ingress.accept("github", headers, body)
    assert (early.status, early.headers) == (409, {"Retry-After": "1"})
    # When a copy comes later and still no delivery has begun: it queues the event (harmless if the
    # first invocation did too: each (event, route) is delivered under its own claim), once
    clock.now += 10
    late = ingress.accept("github", headers, body)
    assert (late.status, late.body) == (200, {"status": "duplicate", "id": "d-wait"})
    assert ingress.accept("github", headers, body).status == 200
    tasks = queued(stack)
    assert sorted(t.route for t in tasks) == ["all-to-wh", "all-to-wh", "issues-to-crm", "issues-to-crm"]
    assert {t.event_id for t in tasks} == {"d-wait"}
    assert len({t.received_at for t in tasks}) == 1  # the copies carry the first one's time
    # And each queueing is its own chain (delivery lets the first to claim a route deliver it): the first
    # invocation's is the token on the event's record
    chains = {t.chain for t in tasks}
    record = stack.ddb.Table(stack.events_table).get_item(Key={"event_id": "d-wait", "route": EVENT_ITEM})["Item"]
    token = record["token"]
    assert len(chains) == 2 and token in chains and None not in chains


def test_a_key_resent_after_the_idempotency_window_is_a_new_event(stack: Any) -> None:
    # Given an accepted GitHub event (its id is not signed: a record and a replay guard) whose delivery began,
    # from a source whose signed bytes are guarded only for the idempotency window (replay_guard_days: 0)
    clock = Clock()
    ingress = make_ingress(stack, clock=clock, idempotency_window_seconds=3600, replay_guard_days=0)
    headers, body = github_request({"issue": {"number": 31}}, delivery="d-late")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-late", "all-to-wh")
    assert len(queued(stack)) == 2
    # When the same delivery comes back inside the window: a duplicate, not queued
    clock.now += 3599
    assert ingress.accept("github", headers, body).status == 200
    assert queued(stack) == []
    # When it comes back after the window: a new event, queued again, with its new time
    clock.now += 2
    again = ingress.accept("github", headers, body)
    assert (again.status, again.body) == (202, {"status": "accepted", "id": "d-late"})
    tasks = queued(stack)
    assert sorted(t.route for t in tasks) == ["all-to-wh", "issues-to-crm"]
    assert {t.received_at for t in tasks} == {clock.now}
    # And both the record and the guard were rewritten: the record under the new time and invocation
    table = stack.ddb.Table(stack.events_table)
    record = table.get_item(Key={"event_id": "d-late", "route": EVENT_ITEM})["Item"]
    assert float(record["received_at"]) == clock.now and record["token"] in {t.chain for t in tasks}
    guards = [i for i in table.scan()["Items"] if i["route"] == GUARD_ITEM and i["event_ref"] == "d-late"]
    assert [float(g["received_at"]) for g in guards] == [clock.now]


def test_copies_after_the_window_record_the_event_once_and_only_they_pay_a_second_write(stack: Any) -> None:
    # Given a record with a signed id (one PutItem) received at t=100
    fn = stack.function("IngressFunction")
    records = EventLogEntries(fn.events_table, client=fn.ddb_client)
    writes: list[str] = []

    def count(model: Any, **_: Any) -> None:
        writes.append(model.name)

    fn.ddb_client.meta.events.register("before-call.dynamodb", count)
    try:
        def claim(at: float, token: str, window: float = 500.0) -> dict[str, Any] | None:
            return records.claim(event_id="k-late", source="stripe", type=None, received_at=at, routes=["r"],
                                 queue_by=at + 30, token=token, window_start=at - window)

        assert claim(100.0, "first") is None and writes == ["PutItem"]
        # When a copy comes inside the window: the record already there, from one request
        writes.clear()
        assert claim(550.0, "copy")["received_at"] == 100.0 and writes == ["PutItem"]
        # When two copies come after it: the first replaces the record (a second, conditional write) and
        # the other finds that new record, not the old one
        writes.clear()
        assert claim(700.0, "late-1") is None and writes == ["PutItem", "PutItem"]
        assert claim(701.0, "late-2")["received_at"] == 700.0
    finally:
        fn.ddb_client.meta.events.unregister("before-call.dynamodb", count)


class Remaining:
    """A Lambda context with this many seconds left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


def test_the_first_invocations_deadline_bounds_the_in_progress_window(stack: Any) -> None:
    # Given an event accepted by an invocation with 5 s left
    clock = Clock()
    ingress = make_ingress(stack, clock=clock, in_flight_seconds=600)
    headers, body = github_request({"issue": {"number": 24}}, delivery="d-deadline")
    assert ingress.accept("github", headers, body, context=Remaining(5)).status == 202
    # Then a copy before that deadline is in progress; after it (the first invocation is over for sure,
    # and no delivery has begun) the copy queues the event
    clock.now += 4
    assert ingress.accept("github", headers, body).status == 409
    clock.now += 2
    assert ingress.accept("github", headers, body).status == 200
    assert len(queued(stack)) == 4  # two routes, queued by the first and by the late copy


class Crash(BaseException):
    """The invocation dies (timeout, out of memory): no handler code runs after it."""


class CrashingPublisher(QueuePublisher):
    def publish(self, tasks: list[DeliveryTask]) -> None:
        raise Crash


def test_an_event_recorded_by_an_invocation_that_died_before_queueing_is_queued_by_its_copy(stack: Any) -> None:
    # Given an invocation that wrote the record and died before the queue batch
    clock = Clock()
    fn = stack.function("IngressFunction")
    headers, body = github_request({"issue": {"number": 22}}, delivery="d-crash")
    with pytest.raises(Crash):
        make_ingress(stack, publisher=CrashingPublisher(fn.queue_url, client=fn.sqs), clock=clock).accept(
            "github", headers, body)
    assert queued(stack) == []
    # When the sender retries after the invocation's window
    clock.now += 31  # past the default in-flight window (30 s, when there is no Lambda context)
    retry = make_ingress(stack, clock=clock).accept("github", headers, body)
    # Then the event is not lost: answered as the recorded event, and queued once per route
    assert (retry.status, retry.body) == (200, {"status": "duplicate", "id": "d-crash"})
    assert sorted(t.route for t in queued(stack)) == ["all-to-wh", "issues-to-crm"]


def test_route_items_of_a_reception_before_the_window_are_no_proof_that_a_new_one_was_queued(stack: Any) -> None:
    # Given an event delivered long ago: its route items outlive the idempotency window (and its bytes are
    # guarded only for the window: replay_guard_days 0)
    clock = Clock()
    fn = stack.function("IngressFunction")
    headers, body = github_request({"issue": {"number": 23}}, delivery="d-again")
    ingress = make_ingress(stack, clock=clock, idempotency_window_seconds=3600, replay_guard_days=0)
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-again", "all-to-wh")
    queued(stack)
    # When the sender sends it again after the window, and that invocation dies before queueing
    clock.now += 3601
    with pytest.raises(Crash):
        make_ingress(stack, publisher=CrashingPublisher(fn.queue_url, client=fn.sqs), clock=clock,
                     idempotency_window_seconds=3600, replay_guard_days=0).accept("github", headers, body)
    # Then a copy within that invocation's deadline waits (the old route item proves nothing), and one
    # after it queues the event: it is not lost
    clock.now += 5
    assert ingress.accept("github", headers, body).status == 409
    clock.now += 30
    assert ingress.accept("github", headers, body).status == 200
    assert sorted(t.route for t in queued(stack)) == ["all-to-wh", "issues-to-crm"]


def test_a_record_whose_release_failed_is_queued_by_a_later_copy(stack: Any) -> None:
    # Given a queue failure (503) whose record could not be removed either
    clock = Clock()
    fn = stack.function("IngressFunction")
    ingress = make_ingress(stack, publisher=FlakyPublisher(QueuePublisher(fn.queue_url, client=fn.sqs), failures=1),
                           clock=clock)
    ingress.deps.entries.release = lambda *_: (_ for _ in ()).throw(  # type: ignore[method-assign]
        StoreUnavailable("ProvisionedThroughputExceededException: DeleteItem"))
    headers, body = github_request({"issue": {"number": 23}}, delivery="d-stuck")
    assert ingress.accept("github", headers, body).status == 503
    # Then a copy inside the window waits, a copy after it queues the event: nothing is lost
    assert ingress.accept("github", headers, body).status == 409
    clock.now += 31  # past the default in-flight window (30 s, when there is no Lambda context)
    assert ingress.accept("github", headers, body).status == 200
    assert sorted(t.route for t in queued(stack)) == ["all-to-wh", "issues-to-crm"]


def race(stack: Any, ingress: Ingress, delivery: str) -> tuple[list[int], list[str]]:
    """20 copies of one delivery at once: (statuses, routes of the queued tasks)."""
    # Each round its own body: the same signed bytes under a new delivery id are a duplicate (replay guard).
    headers, body = github_request({"issue": {"number": 3}, "round": delivery}, delivery=delivery)
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def post() -> None:
        barrier.wait()
        statuses.append(ingress.accept("github", headers, body).status)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, sorted(t.route for t in queued(stack))


def rounds_of_twenty_copies(stack: Any, rounds: int) -> int:
    """Rounds in a row where exactly one copy was accepted and queued once per route (stops at the first miss)."""
    ingress = make_ingress(stack)
    for i in range(rounds):
        statuses, routes = race(stack, ingress, f"d-race-{i}")
        assert statuses.count(202) == 1, f"round {i + 1}: {statuses.count(202)} copies accepted"
        assert set(statuses) <= {202, 200, 409}
        assert routes == ["all-to-wh", "issues-to-crm"], f"round {i + 1}: {routes}"
    return rounds


def test_twenty_concurrent_copies_give_exactly_one_set_of_messages(stack: Any) -> None:
    # moto keeps DynamoDB's one-winner guarantee for conditional writes (hookline.local.moto_fixes);
    # `make loop` runs 200 rounds.
    assert rounds_of_twenty_copies(stack, 10) == 10


@pytest.mark.loop
def test_twenty_concurrent_copies_200_rounds_in_a_row(stack: Any, capsys: pytest.CaptureFixture[str]) -> None:
    passed = rounds_of_twenty_copies(stack, 200)
    with capsys.disabled():
        print(f"\n20 concurrent copies: exactly one 202 and one set of messages in {passed} of 200 rounds in a row")


class FlakyPublisher(QueuePublisher):
    """The queue adapter on a client whose first `failures` sends SQS refuses: the adapter's translation of
    AWS's error into core's QueueUnavailable is on the path, as in production."""

    def __init__(self, inner: QueuePublisher, failures: int) -> None:
        super().__init__(inner.queue_url, client=_RefusingSqs(inner.client, failures))


class _RefusingSqs:
    def __init__(self, client: Any, failures: int) -> None:
        self._client = client
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name not in ("send_message", "send_message_batch"):
            return call

        def send(**kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                operation = "SendMessage" if name == "send_message" else "SendMessageBatch"
                raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "injected"}}, operation)
            return call(**kwargs)
        return send


def test_queue_failure_answers_503_and_the_senders_retry_succeeds(stack: Any) -> None:
    publisher = FlakyPublisher(QueuePublisher(stack.queue_url, client=stack.function("IngressFunction").sqs),
                               failures=1)
    ingress = make_ingress(stack, publisher=publisher)
    headers, body = github_request({"issue": {"number": 4}}, delivery="d-503")
    first = ingress.accept("github", headers, body)
    assert first.status == 503 and "error" in first.body
    assert queued(stack) == []
    # The idempotency record was removed, so the retry is new, not a "duplicate".
    retry = ingress.accept("github", headers, body)
    assert retry.status == 202
    assert len(queued(stack)) == 2


def test_event_table_failure_answers_503(stack: Any) -> None:
    headers, body = github_request({"issue": {"number": 5}}, delivery="d-ddb")
    stack.ddb_client.delete_table(TableName=stack.events_table)
    resp = make_ingress(stack).accept("github", headers, body)
    assert resp.status == 503
    assert queued(stack) == []


def test_large_body_goes_to_s3_with_a_pointer_in_the_message(stack: Any) -> None:
    headers, body = github_request({"issue": {"number": 6, "body": "x" * 5000}}, delivery="d-big")
    resp = make_ingress(stack, threshold=1024).accept("github", headers, body)
    assert resp.status == 202
    tasks = queued(stack)
    assert tasks and all(t.body is None and t.s3_key for t in tasks)
    stored = stack.s3.get_object(Bucket=stack.bucket, Key=tasks[0].s3_key)["Body"].read()
    assert stored == body


@pytest.mark.parametrize(
    ("source", "mutate", "status"),
    [
        ("nope", lambda h, b: (h, b), 404),
        ("github", lambda h, b: (h, b + b" "), 401),
        ("github", lambda h, b: ({k: v for k, v in h.items() if k != "x-hub-signature-256"}, b), 401),
        ("github", lambda h, b: (h, b"x" * (6 * 1024 * 1024 + 1)), 413),
    ],
)
def test_rejections_have_the_contract_status_and_record_nothing(stack: Any, source: str, mutate: Any,
                                                                status: int) -> None:
    headers, body = mutate(*github_request({"issue": {}}, delivery="d-bad"))
    resp = make_ingress(stack).accept(source, headers, body)
    assert resp.status == status and resp.body["error"]
    assert SECRET not in json.dumps(resp.body)
    assert queued(stack) == []


def test_body_that_is_not_json_answers_400(stack: Any) -> None:
    body = b"not json at all"
    cfg = parse_config(CONFIG).sources["github"].verify
    headers = {k.lower(): v for k, v in sign(cfg, SECRET, body, msg_id="d-400").items()}
    resp = make_ingress(stack).accept("github", headers, body)
    assert resp.status == 400 and "JSON" in resp.body["error"]


def test_form_encoded_legacy_source_is_accepted(stack: Any) -> None:
    body = b"order=17&status=shipped"
    cfg = parse_config(CONFIG).sources["legacy"].verify
    headers = {k.lower(): v for k, v in sign(cfg, SECRET, body).items()}
    headers["content-type"] = "application/x-www-form-urlencoded"
    resp = make_ingress(stack).accept("legacy", headers, body)
    assert resp.status == 202 and resp.body["id"].startswith("sha256:")
    assert [t.route for t in queued(stack)] == ["legacy-to-crm"]


def test_handler_answers_the_sample_event_from_events_folder(stack: Any, monkeypatch: pytest.MonkeyPatch,
                                                             lambda_context: Any) -> None:
    # Given the example configuration and its demo secret, wired the way Lambda wires it
    from functions.ingress import app
    from hookline.wiring import Services, install

    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "demo-github-webhook-secret")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_demo_stripe_webhook_secret")
    install(Services(stack.settings))
    try:
        # When the signed sample event and its tampered twin reach the handler (under the ingress role)
        with stack.run_as("IngressFunction"):
            ok = app.handler(load_event("ingress/github-issues"), lambda_context)
            bad = app.handler(load_event("ingress/github-bad-signature"), lambda_context)
            delivery_began(stack, json.loads(ok["body"])["id"], "issues-to-crm")
            again = app.handler(load_event("ingress/github-issues"), lambda_context)
    finally:
        install(None)
    # Then the contract's codes and bodies come back through API Gateway's response shape
    assert ok["statusCode"] == 202 and json.loads(ok["body"])["status"] == "accepted"
    assert bad["statusCode"] == 401
    assert again["statusCode"] == 200 and json.loads(again["body"])["status"] == "duplicate"
    assert [t.route for t in queued(stack)] == ["issues-to-crm"]


def test_an_accepted_event_costs_one_log_line_its_metric_carrying_the_event(stack: Any, lambda_context: Any,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the handler wired as in Lambda: logging at INFO (template.yaml's LOG_LEVEL), metrics on, and
    # the Logger's and the metrics' output both on one stdout (what CloudWatch Logs ingests)
    from functions.ingress import app
    from hookline.observability import logger, metrics
    from hookline.wiring import Services, install

    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "demo-github-webhook-secret")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_demo_stripe_webhook_secret")
    metrics.clear_metrics()  # what earlier tests in this process added while metrics were off (never flushed)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED")
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    handler, level = logger.registered_handler, logger.log_level
    stream = handler.setStream(stdout)
    logger.setLevel("INFO")
    install(Services(stack.settings))
    try:
        with stack.run_as("IngressFunction"):
            resp = app.handler(load_event("ingress/github-issues"), lambda_context)
    finally:
        install(None)
        logger.setLevel(level)
        handler.setStream(stream)
    # When it is accepted, Then one line: the Accepted metric (EMF), carrying the event's id, source,
    # routes and size for Logs Insights
    assert resp["statusCode"] == 202
    lines = [json.loads(line) for line in stdout.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["Accepted"] == [1.0]
    assert line["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "Accepted", "Unit": "Count"}]
    assert (line["event_id"], line["source"]) == (json.loads(resp["body"])["id"], "github")
    assert line["routes"] == sorted({t.route for t in queued(stack)}) and line["bytes"] > 0


def test_logs_never_carry_secrets_or_signatures(stack: Any, lambda_context: Any) -> None:
    from hookline.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    # Given one accepted, one duplicate and one forged request
    ingress = make_ingress(stack)
    headers, body = github_request({"issue": {"number": 7}}, delivery="d-logs")
    ingress.accept("github", headers, body)
    delivery_began(stack, "d-logs", "all-to-wh")
    ingress.accept("github", headers, body)
    forged = dict(headers, **{"x-hub-signature-256": "sha256=" + "0" * 64})
    ingress.accept("github", forged, body + b"!")
    logger._logger.removeHandler(handler)
    # Then the structured logs mention the event but neither the secret nor any signature
    logs = stream.getvalue()
    assert "d-logs" in logs and "signature" in logs
    assert SECRET not in logs
    assert headers["x-hub-signature-256"].removeprefix("sha256=") not in logs
    assert "0" * 64 not in logs


class BlockingPublisher(QueuePublisher):
    """Holds the first publish until released, so a second copy arrives mid-recording."""

    def __init__(self, inner: QueuePublisher) -> None:
        super().__init__(inner.queue_url, client=inner.client)
        self.entered = threading.Event()
        self.release = threading.Event()

    def publish(self, tasks: list[DeliveryTask]) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().publish(tasks)


def test_copy_arriving_while_the_first_is_recorded_answers_409_with_retry_after(stack: Any) -> None:
    publisher = BlockingPublisher(QueuePublisher(stack.queue_url, client=stack.function("IngressFunction").sqs))
    ingress = make_ingress(stack, publisher=publisher)
    headers, body = github_request({"issue": {"number": 8}}, delivery="d-409")
    first: list[Any] = []
    worker = threading.Thread(target=lambda: first.append(ingress.accept("github", headers, body)))
    worker.start()
    assert publisher.entered.wait(10)
    # When a copy arrives while the first is still inside its idempotency record
    second = ingress.accept("github", headers, body)
    publisher.release.set()
    worker.join()
    # Then the copy is told to come back, and the first completes normally
    assert (second.status, second.body, second.headers) == (409, {"status": "in_progress", "id": "d-409"},
                                                           {"Retry-After": "1"})
    assert first[0].status == 202
    delivery_began(stack, "d-409", "all-to-wh")
    assert ingress.accept("github", headers, body).status == 200
