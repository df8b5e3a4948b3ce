"""Batch sync against a real local paginated HTTP API, in every pagination style, with moto.

Given the template's tables and queue (moto) and tests/support/paged_api.py serving orders,
when a sync runs, then each record *version* is queued once: a full sync queues all, an
incremental one only what changed, a re-run nothing; failures, 429s and deadlines stop the run
cleanly and the next run resumes without loss or duplicates.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.stores import EventLog, FifoPublisher, PayloadStore, QueuePublisher
from hookline.adapters.aws.sync_state import SyncStore
from hookline.core.messages import DeliveryTask
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.secrets import SecretResolver
from hookline.sync.fetch import HttpFetcher
from hookline.sync.recorder import Recorder
from hookline.sync.runner import BUSY, COMPLETED, FAILED, PARTIAL, Runtime, run_job, run_sync
from hookline.validation import parse_config
from tests.support.aging import Clock
from tests.support.paged_api import STYLES, Fault, PagedApi, sync_spec
from tests.support.receiver import Receiver


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SECRET", "s3cret-shop")
    monkeypatch.setenv("ORDERS_TOKEN", "orders-t0ken")


@pytest.fixture
def api() -> Iterator[PagedApi]:
    a = PagedApi(page_size=3)
    a.add(7)
    yield a
    a.stop()


def make_config(sync: dict[str, Any], dest_url: str = "http://127.0.0.1:9/in") -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x-sig"}}},
        "destinations": {"wh": {"url": dest_url}},
        "routes": [{"name": "orders-to-wh", "source": "shop", "destination": "wh",
                    "transform": {"order": "body.id", "name": "body.name"}}],
        "syncs": {"orders": sync},
    })


NOW = 1_800_000_000.0


def runtime(stack: Any, cfg: Any, clock: Clock, **kw: Any) -> Runtime:
    fn = stack.function("SyncFunction")  # only the sync role's permissions
    store = SyncStore(EventLog(fn.events_table, resource=fn.ddb).table, clock=clock)
    recorder = Recorder(cfg, store, QueuePublisher(fn.queue_url, client=fn.sqs),
                        PayloadStore(fn.bucket, client=fn.s3), clock=clock)
    return Runtime(store=store, recorder=recorder, fetch=HttpFetcher(SecretResolver()), clock=clock,
                   sleep=clock.sleep, **kw)


def drain(stack: Any) -> list[DeliveryTask]:
    tasks = []
    while True:
        got = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return tasks
        for m in got:
            tasks.append(DeliveryTask.model_validate_json(m["Body"]))
            stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"])


def ids(tasks: list[DeliveryTask]) -> list[str]:
    return sorted(t.event_id for t in tasks)


ALL7 = sorted(f"orders:{i}@100" for i in range(1, 8))


@pytest.mark.parametrize("style", STYLES)
def test_full_then_incremental_then_nothing(stack: Any, api: PagedApi, style: str) -> None:
    cfg = make_config(sync_spec(api, style, headers={"Authorization": "Bearer {secret:env:ORDERS_TOKEN}"}))
    clock = Clock(NOW)
    api.auth = "Bearer orders-t0ken"

    # Full sync: every record, once.
    first = run_job("orders", cfg, runtime(stack, cfg, clock))[0]
    assert (first.status, first.seen, first.queued, first.unchanged) == (COMPLETED, 7, 7, 0)
    assert first.pages >= 3 and first.watermark == "100"
    assert ids(drain(stack)) == ALL7
    assert "updated_since" not in api.requests[0]["query"]

    # Incremental: one record changed at the source, one added; only those two are queued.
    api.requests.clear()
    api.update(2, 200, name="order-2-renamed")
    api.records.append({"id": 8, "name": "order-8", "updated_at": 150})
    clock.now += 3600
    second = run_job("orders", cfg, runtime(stack, cfg, clock))[0]
    assert api.requests[0]["query"]["updated_since"] == "100"
    assert (second.status, second.queued) == (COMPLETED, 2)
    assert second.watermark == "200"
    tasks = drain(stack)
    assert ids(tasks) == ["orders:2@200", "orders:8@150"]
    changed = next(t for t in tasks if t.event_id == "orders:2@200")
    assert json.loads(changed.inline_body())["name"] == "order-2-renamed"

    # Re-run: nothing new, nothing queued.
    clock.now += 3600
    third = run_job("orders", cfg, runtime(stack, cfg, clock))[0]
    assert (third.status, third.queued, third.unchanged) == (COMPLETED, 0, third.seen)
    assert third.seen >= 1  # the watermark record itself is read again (>=) and recognised
    assert drain(stack) == []


@pytest.mark.parametrize("style", STYLES)
def test_a_failed_page_resumes_without_loss_or_duplicates(stack: Any, api: PagedApi, style: str) -> None:
    cfg = make_config(sync_spec(api, style))
    clock = Clock(NOW)
    api.faults[2] = Fault(500)

    first = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert (first.status, first.failed, first.pages, first.queued) == (FAILED, 1, 1, 3)
    assert "answered 500" in (first.error or "")
    state = SyncStore(EventLog(stack.events_table, resource=stack.ddb).table).get_state("orders")
    assert state["checkpoint"]["pages"] == 1 and "watermark" not in state  # not advanced by a failed run
    failed_request = api.requests[1]["query"]

    api.requests.clear()
    second = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert second.resumed and second.status == COMPLETED
    assert api.requests[0]["query"] == failed_request  # resumed at the page that failed
    assert second.queued == 4 and second.watermark == "100"
    tasks = drain(stack)
    assert ids(tasks) == ALL7  # each once: nothing lost, nothing twice
    assert Counter(t.event_id for t in tasks).most_common(1)[0][1] == 1


@pytest.mark.parametrize("style", STYLES)
def test_429_retry_after_is_honoured(stack: Any, api: PagedApi, style: str) -> None:
    cfg = make_config(sync_spec(api, style))
    clock = Clock(NOW)
    api.faults[2] = Fault(429, retry_after="7")

    run = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert run.status == COMPLETED and run.queued == 7
    assert clock.sleeps == [7.0]
    assert api.requests[1]["query"] == api.requests[2]["query"]  # the same page asked again after the wait

    # A Retry-After longer than the run may wait: stop now, resume on the next run.
    api.records.append({"id": 9, "name": "order-9", "updated_at": 300})
    api.records.append({"id": 10, "name": "order-10", "updated_at": 300})
    api.records.append({"id": 11, "name": "order-11", "updated_at": 300})
    api.records.append({"id": 12, "name": "order-12", "updated_at": 300})
    n = len(api.requests)
    api.faults[n + 2] = Fault(429, retry_after="3600")
    clock.now += 3600
    stopped = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert stopped.status == PARTIAL and "rate limited" in (stopped.stop_reason or "")
    resumed = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert resumed.resumed and resumed.status == COMPLETED
    assert ids(drain(stack)) == sorted(ALL7 + [f"orders:{i}@300" for i in (9, 10, 11, 12)])


@pytest.mark.parametrize("style", STYLES)
def test_a_run_near_its_deadline_stops_and_resumes(stack: Any, api: PagedApi, style: str) -> None:
    cfg = make_config(sync_spec(api, style, timeout_seconds=5))
    clock = Clock(NOW)
    left = {"seconds": 60.0}

    def spend(_run: Any) -> None:
        left["seconds"] -= 26  # each page "takes" 26 s of a 60 s invocation

    first = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock, remaining=lambda: left["seconds"],
                                                            on_page=spend))
    assert first.status == PARTIAL and "deadline" in (first.stop_reason or "")
    assert first.pages == 2 and first.queued == 6

    second = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
    assert second.resumed and second.status == COMPLETED and second.queued == 1
    assert ids(drain(stack)) == ALL7


def test_overlapping_runs_never_queue_a_version_twice(stack: Any, api: PagedApi) -> None:
    cfg = make_config(sync_spec(api, "page"))
    clock = Clock(NOW)
    inner: list[Any] = []

    def start_another(_run: Any) -> None:
        if not inner:  # while the first run is between pages, a second run starts
            inner.append(run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock)))

    outer = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock, on_page=start_another))
    assert inner[0].status == BUSY and outer.status == COMPLETED

    # Even without the lock (it expired: a run that hung), claims keep versions single.
    store = SyncStore(EventLog(stack.events_table, resource=stack.ddb).table, clock=clock)
    recorder = Recorder(cfg, store, QueuePublisher(stack.queue_url, client=stack.sqs),
                        PayloadStore(stack.bucket, client=stack.s3), clock=clock)
    again = recorder.record_page("orders", cfg.syncs["orders"], list(api.records), run_id="someone-else")
    assert (again.queued, again.unchanged) == (0, 7)
    assert ids(drain(stack)) == ALL7


def test_an_unqueued_claim_is_taken_back_by_its_own_run(stack: Any, api: PagedApi) -> None:
    cfg = make_config(sync_spec(api, "page"))
    clock = Clock(NOW)
    store = SyncStore(EventLog(stack.events_table, resource=stack.ddb).table, clock=clock)

    class DeadQueue:
        def publish(self, tasks: list[Any]) -> None:
            raise RuntimeError("queue unavailable")

    broken = Recorder(cfg, store, DeadQueue(), PayloadStore(stack.bucket, client=stack.s3), clock=clock)
    with pytest.raises(RuntimeError):
        broken.record_page("orders", cfg.syncs["orders"], api.records[:3], run_id="r1")
    fine = Recorder(cfg, store, QueuePublisher(stack.queue_url, client=stack.sqs),
                    PayloadStore(stack.bucket, client=stack.s3), clock=clock)
    assert fine.record_page("orders", cfg.syncs["orders"], api.records[:3], run_id="r2").queued == 0  # held by r1
    assert fine.record_page("orders", cfg.syncs["orders"], api.records[:3], run_id="r1").queued == 3  # r1 resumed
    clock.now += 10_000
    assert fine.record_page("orders", cfg.syncs["orders"], api.records[3:5], run_id="r3").queued == 2
    assert ids(drain(stack)) == [f"orders:{i}@100" for i in range(1, 6)]


def test_due_syncs_only_on_a_tick(stack: Any, api: PagedApi) -> None:
    cfg = make_config(sync_spec(api, "page", every="15m"))
    clock = Clock(NOW)
    assert [r.sync for r in run_job("due", cfg, runtime(stack, cfg, clock))] == ["orders"]
    clock.now += 60
    assert run_job("due", cfg, runtime(stack, cfg, clock)) == []
    clock.now += 15 * 60
    assert [r.sync for r in run_job("due", cfg, runtime(stack, cfg, clock))] == ["orders"]


def test_redirects_are_not_followed_and_big_pages_refused(stack: Any, api: PagedApi) -> None:
    cfg = make_config(sync_spec(api, "page"))
    api.faults[1] = Fault(302, location="http://127.0.0.1:9/elsewhere")
    run = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, Clock(NOW)))
    assert run.status == FAILED and "redirect" in (run.error or "") and "not followed" in (run.error or "")

    small = make_config(sync_spec(api, "page", max_page_bytes=1024))
    api.records[0]["name"] = "x" * 2000
    run = run_sync("orders", small.syncs["orders"], runtime(stack, small, Clock(NOW)))
    assert run.status == FAILED and "max_page_bytes" in (run.error or "")
    assert drain(stack) == []


def test_unknown_job_is_named(stack: Any) -> None:
    cfg = parse_config({"sources": {}, "destinations": {}, "routes": []})
    with pytest.raises(KeyError, match="unknown sync job"):
        run_job("nope", cfg, None)  # type: ignore[arg-type]


def test_a_changed_record_is_delivered(stack: Any, api: PagedApi) -> None:
    with Receiver() as receiver:
        cfg = make_config(sync_spec(api, "cursor"), dest_url=f"{receiver.url}/orders")
        clock = Clock(NOW)
        run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
        deliver_all(stack, cfg)
        api.update(3, 400, name="order-3-v2")
        clock.now += 3600
        run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock))
        deliver_all(stack, cfg)
        bodies = [r.json() for r in receiver.requests]
        assert sorted(b["order"] for b in bodies) == [1, 2, 3, 3, 4, 5, 6, 7]
        assert {"order": 3, "name": "order-3-v2"} in bodies
        keys = [r.headers.get("idempotency-key") or r.headers.get("Idempotency-Key") for r in receiver.requests]
        assert "orders:3@400:orders-to-wh" in keys


def deliver_all(stack: Any, cfg: Any) -> None:
    fn = stack.function("DeliverFunction")  # only the deliver role's permissions
    delivery = Delivery(DeliveryDeps(
        config=cfg, secrets=SecretResolver(), payloads=PayloadStore(fn.bucket, client=fn.s3),
        events=EventLog(fn.events_table, resource=fn.ddb),
        queues=SqsDeliveryQueues(fn.sqs, dlq_url=fn.dlq_url, queue_url=fn.queue_url),
        config_dir=Path.cwd(), rng=random.Random(1),
        persistence=RouteClaims(fn.events_table, boto3_client=fn.ddb_client)))
    try:
        while True:
            msgs = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10,
                                             **RECEIVE_ATTRIBUTES).get("Messages", [])
            if not msgs:
                return
            response = delivery.handle(to_lambda_records(msgs, stack.queue_arn, stack.region), None)
            delete_processed(stack.sqs, stack.queue_url, msgs, response)
    finally:
        delivery.close()


def test_request_budget_per_record() -> None:
    """The benchmark's count (botocore before-send hooks) at a reduced size: 200 records, pages of 50."""
    from benchmarks.bench_sync_requests import GOAL_DYNAMODB, GOAL_SQS, measure

    full, rerun = measure(200, 50)
    assert full["run"].queued == 200 and rerun["run"].queued == 0
    assert full["sqs"] / 200 <= GOAL_SQS and full["dynamodb"] / 200 <= GOAL_DYNAMODB
    assert full["ops"]["sqs:SendMessageBatch"] == 20  # 10 entries a call
    assert rerun["dynamodb"] / 200 <= 0.1 and rerun["sqs"] == 0


def test_oauth2_client_credentials_like_destinations(stack: Any, api: PagedApi,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.receiver import Script

    monkeypatch.setenv("SHOP_CLIENT_SECRET", "client-s3cret")
    token = b'{"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600}'
    with Receiver(Script(body=token)) as issuer:
        cfg = make_config(sync_spec(api, "link", oauth2={
            "token_url": f"{issuer.url}/token", "client_id": "hookline", "client_secret": "env:SHOP_CLIENT_SECRET"}))
        api.auth = "Bearer tok-123"
        run = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, Clock(NOW)))
        assert run.status == COMPLETED and run.queued == 7
        assert len(issuer.requests) == 1  # one token for every page
        assert b"client_secret=client-s3cret" in issuer.requests[0].body
    assert {r["auth"] for r in api.requests} == {"Bearer tok-123"}


def test_a_version_seen_again_does_not_expire(stack: Any, api: PagedApi) -> None:
    cfg = make_config(sync_spec(api, "page", watermark=None))
    clock = Clock(NOW)
    store = SyncStore(EventLog(stack.events_table, resource=stack.ddb).table, clock=clock)
    assert run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock)).queued == 7
    first = store.lookup(["orders:1@100"])["orders:1@100"]["expires_at"]
    clock.now += 20 * 86400  # past half the 30-day TTL
    assert run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock)).queued == 0
    assert store.lookup(["orders:1@100"])["orders:1@100"]["expires_at"] == first + 20 * 86400


def test_one_broken_sync_does_not_stop_the_others(stack: Any, api: PagedApi) -> None:
    cfg = parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x"}}},
        "destinations": {"wh": {"url": "http://127.0.0.1:9/in"}},
        "routes": [{"name": "r", "source": "shop", "destination": "wh"}],
        "syncs": {"a": sync_spec(api, "page"), "b": sync_spec(api, "cursor")},
    })
    clock = Clock(NOW)
    rt = runtime(stack, cfg, clock)
    real = rt.recorder.record_page

    def record_page(name: str, *args: Any) -> Any:
        if name == "a":
            raise RuntimeError("boom")
        return real(name, *args)

    rt.recorder.record_page = record_page  # type: ignore[method-assign]
    runs = {r.sync: r for r in run_job("all", cfg, rt)}
    assert runs["a"].status == FAILED and "boom" in (runs["a"].error or "")
    assert runs["b"].status == COMPLETED and runs["b"].queued == 7


def test_the_handler_runs_due_syncs_and_stops_before_its_deadline(stack: Any, api: PagedApi,
                                                                  lambda_context: Any) -> None:
    from functions.sync import app
    from hookline.wiring import Services, install
    from tests.support.events import load_event

    cfg = make_config(sync_spec(api, "page", timeout_seconds=10))
    with stack.run_as("SyncFunction"):  # the handler makes its own clients: with the sync role's keys
        install(Services(stack.settings, config=cfg))
        try:
            lambda_context.remaining_ms = 12_000  # less than a page's timeout + the reserve: do not start
            stopped = app.handler(load_event("sync/schedule"), lambda_context)
            lambda_context.remaining_ms = 300_000
            done = app.handler(load_event("sync/schedule"), lambda_context)
            again = app.handler(load_event("sync/schedule"), lambda_context)  # not due for 15 minutes
        finally:
            install(None)
    assert stopped["runs"][0]["status"] == PARTIAL and stopped["runs"][0]["pages"] == 0
    assert done["runs"][0]["status"] == COMPLETED and done["runs"][0]["resumed"] is True
    assert done["runs"][0]["queued"] == 7 and done["failed_pages"] == 0
    assert again["runs"] == []
    assert ids(drain(stack)) == ALL7


def test_fetch_errors_never_carry_the_credentials(api: PagedApi) -> None:
    import email.utils

    from hookline.sync.fetch import FetchError, parse_retry_after
    from hookline.sync.pagination import Request
    from tests.support.receiver import Script

    with Receiver(Script(statuses=[401], body=b'{"error": "bad token Bearer orders-t0ken"}')) as echo:
        sync = make_config(sync_spec(api, "link", url=f"{echo.url}/x",
                                     headers={"Authorization": "Bearer {secret:env:ORDERS_TOKEN}"})).syncs["orders"]
        with pytest.raises(FetchError) as e:
            HttpFetcher(SecretResolver())(sync, Request(sync.url))
        assert echo.requests[0].headers["authorization"] == "Bearer orders-t0ken"
    assert "answered 401" in str(e.value) and "orders-t0ken" not in str(e.value)
    assert parse_retry_after(email.utils.formatdate(1_800_000_010, usegmt=True), now=1_800_000_000) == 10.0
    assert parse_retry_after("3", now=0) == 3.0 and parse_retry_after(None, now=0) == 1.0


def test_an_ordered_routes_pulled_records_go_to_the_fifo_queue_in_their_keys_group(stack: Any, api: PagedApi) -> None:
    # Given a sync whose route is `ordered: true` by the record's id, beside an unordered route
    cfg = parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x-sig"}}},
        "destinations": {"wh": {"url": "http://127.0.0.1:9/in"}},
        "routes": [{"name": "orders-in-order", "source": "shop", "destination": "wh", "key": "body.id",
                    "ordered": True},
                   {"name": "orders-any-order", "source": "shop", "destination": "wh"}],
        "syncs": {"orders": sync_spec(api, STYLES[0])},
    })
    fn = stack.function("SyncFunction")
    fifo_url = stack.resources["OrderedDeliveryQueue"].url
    rt = runtime(stack, cfg, Clock(NOW))
    rt.recorder.ordered_publisher = FifoPublisher(fifo_url, client=fn.sqs)
    # When it runs
    assert run_job("orders", cfg, rt)[0].queued == 7
    # Then the ordered route's tasks are on the FIFO queue, grouped by route and record key ...
    fifo: list[tuple[DeliveryTask, str]] = []
    while got := stack.sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10,
                                           MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for m in got:
            fifo.append((DeliveryTask.model_validate_json(m["Body"]), m["Attributes"]["MessageGroupId"]))
            stack.sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=m["ReceiptHandle"])
    assert ids([t for t, _ in fifo]) == ALL7 and {t.route for t, _ in fifo} == {"orders-in-order"}
    assert len({g for _, g in fifo}) == 7  # one group per key
    # ... and only the other route's are on the standard queue
    standard = drain(stack)
    assert ids(standard) == ALL7 and {t.route for t in standard} == {"orders-any-order"}
