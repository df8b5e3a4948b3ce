"""Reconciliation against local fakes of Stripe's events API and GitHub's deliveries API, with moto (IAM
enforced: webhooks through the ingress role, reconciliation through the sync role, delivery through the
deliver role) and a real receiver that counts what reaches it.

Given 500 Stripe events of which 450 came as signed webhooks (the SDK's signature), a reconciliation run
delivers exactly the other 50, once each, none of the 450 again, even when the run dies mid-page and is
run again; GitHub's failed, never-recorded deliveries are redelivered by asking GitHub.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
import stripe

from hookline.adapters.aws.stores import EventLog
from hookline.adapters.aws.sync_state import SyncStore
from hookline.core.ports import EVENT_ITEM
from hookline.ingress.ingress import Ingress
from hookline.reconcile import api
from hookline.reconcile.runner import BUSY, COMPLETED, FAILED, PARTIAL, VIA, Runtime, run, run_job, state_name
from hookline.reconcile.service import build_runtime
from hookline.secrets import SecretResolver
from hookline.validation import parse_config
from tests.integration.test_sync import deliver_all
from tests.support.aging import Clock
from tests.support.moto_ingress import make_ingress
from tests.support.provider_apis import FakeGitHub, FakeStripe, delivery, stripe_event
from tests.support.receiver import Receiver

WHSEC = "whsec_reconcile_test"
NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WHSEC", WHSEC)
    monkeypatch.setenv("STRIPE_KEY", FakeStripe.key)
    monkeypatch.setenv("GH_SECRET", "gh-secret")
    monkeypatch.setenv("GH_TOKEN", FakeGitHub.key)


def config(url: str, receiver_url: str, provider: str = "stripe") -> Any:
    secret = "env:STRIPE_WHSEC" if provider == "stripe" else "env:GH_SECRET"
    key = "env:STRIPE_KEY" if provider == "stripe" else "env:GH_TOKEN"
    extra = {} if provider == "stripe" else {"hook": "o/r/1"}
    return parse_config({
        "sources": {provider: {"provider": provider, "secrets": [secret],
                               "reconcile": {"every": "1h", "lookback": "3d", "api_url": url, "api_key": key,
                                             **extra}}},
        "destinations": {"crm": {"url": receiver_url}},
        "routes": [{"name": "to-crm", "source": provider, "destination": "crm"}],
    })


def ingress(stack: Any, cfg: Any, clock: Clock, role: str) -> Ingress:
    return make_ingress(stack, cfg, role=role, clock=clock)


class Services:
    """What build_runtime takes from wiring.Services, here on the sync role's clients."""

    def __init__(self, stack: Any, cfg: Any, clock: Clock) -> None:
        fn = stack.function("SyncFunction")
        self.config, self.secrets = cfg, SecretResolver()
        self.ingress = ingress(stack, cfg, clock, "SyncFunction")
        self.sync_state = SyncStore(EventLog(fn.events_table, resource=fn.ddb).table, clock=clock)
        self.ddb_client, self.ddb = fn.ddb_client, fn.ddb


def runtime(svc: Services, clock: Clock, **kw: Any) -> Runtime:
    rt = build_runtime(svc)
    rt.clock, rt.sleep = clock, clock.sleep
    for k, v in kw.items():
        setattr(rt, k, v)
    return rt


def send_webhook(ing: Ingress, event: dict[str, Any], clock: Clock) -> int:
    body = json.dumps(event, indent=2)  # Stripe posts pretty-printed JSON: other bytes than the API's list
    header = stripe.WebhookSignature.generate_signature_header(body, WHSEC, timestamp=int(clock.now))
    return ing.accept("stripe", {"Stripe-Signature": header, "Content-Type": "application/json"},
                      body.encode()).status


@pytest.fixture
def stripe_world(stack: Any, request: pytest.FixtureRequest) -> Any:
    size = getattr(request, "param", 500)  # the 500; the narrower cases run on 150 (the machine is shared)
    events = [stripe_event(n, int(NOW) - 2 * 86400 + n * 300) for n in range(size)]
    never_sent = set(random.Random(26).sample([e["id"] for e in events], size // 10))
    api_fake, receiver = FakeStripe(events), Receiver().__enter__()
    clock = Clock(NOW)
    cfg = config(api_fake.url, receiver.url)
    web = ingress(stack, cfg, clock, "IngressFunction")
    for e in events:
        if e["id"] not in never_sent:
            assert send_webhook(web, e, clock) == 202
    deliver_all(stack, cfg)
    assert len(receiver.requests) == size - len(never_sent)
    yield stack, cfg, clock, api_fake, receiver, events, never_sent
    api_fake.stop()
    receiver.__exit__(None, None, None)


def delivered_ids(receiver: Receiver) -> Counter[str]:
    return Counter(r.json()["id"] for r in receiver.requests)


@pytest.mark.parametrize("stripe_world", [150], indirect=True)  # two pages of 100 are enough for the SDK
def test_the_fake_answers_as_stripes_sdk_expects(stripe_world: Any) -> None:
    """Stripe's own client pages through the fake (starting_after) and reads every event as an Event."""
    _, _, _, api_fake, _, events, _ = stripe_world
    client = stripe.StripeClient(FakeStripe.key, base_addresses={"api": api_fake.url})
    listed = list(client.v1.events.list(params={"created": {"gte": int(NOW) - 3 * 86400}, "limit": 100})
                  .auto_paging_iter())
    assert sorted(e.id for e in listed) == sorted(e["id"] for e in events)
    assert all(isinstance(e, stripe.Event) and e.type == "setup_intent.created" for e in listed)


def test_reconciliation_delivers_exactly_the_missed_50_once_even_after_a_crash(stripe_world: Any) -> None:
    stack, cfg, clock, api_fake, receiver, events, never_sent = stripe_world
    svc = Services(stack, cfg, clock)
    before = len(receiver.requests)

    # Run 1 dies mid-page: the 20th missed event's recording raises (the process killed).
    rt = runtime(svc, clock)
    recorded = {"n": 0}
    real_record = rt.record

    def dying(source: str, e: api.Listed) -> int:
        if recorded["n"] == 20:
            raise RuntimeError("killed mid-page")
        recorded["n"] += 1
        return real_record(source, e)

    rt.record = dying
    first = run_job("stripe", cfg, rt)[0]
    assert first.status == FAILED and "killed mid-page" in (first.error or "")
    deliver_all(stack, cfg)
    state = svc.sync_state.get_state(state_name("stripe"))
    assert state["last_run"]["missed"] == 20 and state["last_run"]["pages"] == 1  # died on its second page
    run_id = state["checkpoint"]["run_id"]  # the run resumes, not restarts

    # Run 2 resumes from the checkpoint; the DynamoDB requests it makes are counted (botocore hooks).
    calls: Counter[str] = Counter()
    for client in (svc.ddb_client, svc.ddb.meta.client):
        client.meta.events.register("before-call.dynamodb.*",
                                    lambda model, **_: calls.update([model.name]))
    api_fake.requests.clear()
    second = run("stripe", cfg.sources["stripe"], runtime(svc, clock))
    assert second.status == COMPLETED and second.resumed and second.run_id == run_id
    assert second.missed == 30  # the other 30 never-sent events
    assert api_fake.requests[0]["query"]["starting_after"]  # from the checkpoint's page, not the first
    deliver_all(stack, cfg)

    got = delivered_ids(receiver)
    assert set(got) == {e["id"] for e in events}
    assert max(got.values()) == 1  # each of the 500 once: the 450 never again
    assert len(receiver.requests) - before == 50
    assert {r.json()["id"] for r in receiver.requests[before:]} == never_sent

    # Arrived events cost one BatchGetItem per page of 100 (no write); each missed one its conditional PutItem.
    assert calls["PutItem"] == 30 and calls["BatchGetItem"] == second.pages
    assert calls["Query"] == calls["DeleteItem"] == calls["TransactWriteItems"] == 0

    table = stack.ddb.Table(stack.events_table)
    missed_one, arrived_one = sorted(never_sent)[0], next(e["id"] for e in events if e["id"] not in never_sent)
    assert table.get_item(Key={"event_id": missed_one, "route": EVENT_ITEM})["Item"]["via"] == VIA
    item = table.get_item(Key={"event_id": arrived_one, "route": EVENT_ITEM})["Item"]
    assert "via" not in item and item["source"] == "stripe"

    # Not due again before `every` (1h); an hour later the tick runs it: nothing missed, nothing delivered.
    clock.now += 3500
    assert run_job("due", cfg, runtime(svc, clock)) == []
    clock.now += 100
    third = run_job("due", cfg, runtime(svc, clock))[0]
    assert (third.status, third.missed, third.arrived, third.seen) == (COMPLETED, 0, 500, 500)
    deliver_all(stack, cfg)
    assert len(receiver.requests) - before == 50


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_a_deadline_mid_run_and_a_429_stop_and_resume_without_loss(stripe_world: Any) -> None:
    stack, cfg, clock, api_fake, receiver, _, never_sent = stripe_world
    svc = Services(stack, cfg, clock)
    before = len(receiver.requests)
    left = {"s": 50.0}

    def spend(_: Any) -> None:
        left["s"] -= 30  # each page "takes" 30 s of a 50 s invocation (timeout 20 + reserve 5)

    api_fake.fail_next.append((429, {"Retry-After": "2"}))
    first = run("stripe", cfg.sources["stripe"], runtime(svc, clock, remaining=lambda: left["s"], on_page=spend))
    assert first.status == PARTIAL and "deadline" in (first.stop_reason or "") and first.pages == 1
    assert clock.sleeps == [2.0]  # Retry-After honoured within the deadline

    # While another run holds the lock, a run is turned away; once the lease is over, it resumes.
    assert svc.sync_state.acquire(state_name("stripe"), "another-run", clock.now + 60)
    assert run("stripe", cfg.sources["stripe"], runtime(svc, clock)).status == BUSY
    clock.now += 61

    second = run_job("due", cfg, runtime(svc, clock))[0]
    assert second.resumed and second.status == COMPLETED
    assert first.missed + second.missed == 15 and second.pages == 1
    deliver_all(stack, cfg)
    assert sorted(r.json()["id"] for r in receiver.requests[before:]) == sorted(never_sent)


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_a_webhook_and_its_reconciliation_at_once_deliver_it_once(stripe_world: Any) -> None:
    """The webhook lands between the run's BatchGetItem and its record: ingress's conditional write decides."""
    stack, cfg, clock, _, receiver, events, never_sent = stripe_world
    svc = Services(stack, cfg, clock)
    late = next(e for e in events if e["id"] in never_sent)
    web = ingress(stack, cfg, clock, "IngressFunction")
    rt = runtime(svc, clock)
    real_record = rt.record

    def webhook_first(source: str, e: api.Listed) -> int:
        if e.event_id == late["id"]:
            assert send_webhook(web, late, clock) == 202
        return real_record(source, e)

    rt.record = webhook_first
    done = run("stripe", cfg.sources["stripe"], rt)
    assert (done.status, done.missed, done.arrived) == (COMPLETED, 14, 136)
    deliver_all(stack, cfg)
    assert max(delivered_ids(receiver).values()) == 1 and len(delivered_ids(receiver)) == 150


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_a_wrong_key_fails_the_run_with_a_message_and_no_key(stripe_world: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    stack, cfg, clock, *_ = stripe_world
    monkeypatch.setenv("STRIPE_KEY", "sk_test_wrong_key_123")
    out = run("stripe", cfg.sources["stripe"], runtime(Services(stack, cfg, clock), clock))
    assert out.status == FAILED and out.failed == 1
    assert "answered 401" in out.error and "api_key" in out.error and "sk_test_wrong_key_123" not in out.error


def test_github_failed_deliveries_never_recorded_are_redelivered(stack: Any) -> None:
    iso = "2027-01-15T08:00:00Z"  # NOW is 2027-01-15T08:00:00Z
    old = "2027-01-10T08:00:00Z"  # before the 3-day lookback
    deliveries = [
        delivery(107, "g-ok-not-recorded", iso, 200),  # delivered (its record expired): nothing to do
        delivery(106, "g-retried", iso, 200, redelivery=True),  # the retry of 103 succeeded and was recorded
        delivery(105, "g-missed", iso, 502),  # failed, never recorded: redeliver
        delivery(104, "g-arrived", iso, 200),  # recorded
        delivery(103, "g-retried", iso, 500),
        delivery(102, "g-missed-2", iso, 500),
        delivery(101, "g-too-old", old, 500),  # failed, but past the lookback
    ]
    fake, receiver, clock = FakeGitHub(deliveries), Receiver().__enter__(), Clock(NOW)
    try:
        cfg = config(fake.url, receiver.url, provider="github")
        web = ingress(stack, cfg, clock, "IngressFunction")
        for guid in ("g-retried", "g-arrived"):
            web.record("github", guid, "issues", {"content-type": "application/json"}, b"{}", {})
        svc = Services(stack, cfg, clock)
        out = run("github", cfg.sources["github"], runtime(svc, clock))
        assert out.status == COMPLETED and out.pages == 3
        assert sorted(fake.redelivered) == [102, 105]
        assert out.missed == 2 and out.seen == 6
        assert all(r["auth"] == f"Bearer {FakeGitHub.key}" for r in fake.requests)
        assert [r["path"] for r in fake.requests if r["method"] == "POST"] == [
            "/repos/o/r/hooks/1/deliveries/105/attempts", "/repos/o/r/hooks/1/deliveries/102/attempts"]
    finally:
        fake.stop()
        receiver.__exit__(None, None, None)


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_the_sync_functions_tick_reconciles_due_sources_through_the_handler(
        stripe_world: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.sync import app
    from hookline.reconcile import service
    from hookline.wiring import Services as Wired
    from hookline.wiring import install

    stack, cfg, _, _, receiver, _, never_sent = stripe_world
    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(service, "count", lambda name, reason=None, value=1: emitted.append((name, value)))
    before = len(receiver.requests)
    lambda_context.remaining_ms = 300_000
    with stack.run_as("SyncFunction"):  # the deployed wiring, with the sync role's permissions only
        install(Wired(stack.settings, config=cfg))
        try:
            tick = app.handler({"job": "due"}, lambda_context)
            again = app.handler({"reconcile": "stripe"}, lambda_context)
        finally:
            install(None)
    (first,) = tick["reconciled"]
    assert tick["runs"] == [] and (first["status"], first["missed"], first["arrived"]) == (COMPLETED, 15, 135)
    assert ("Missed", 15) in emitted and ("ReconcilePagesFailed", 0) in emitted
    assert again["reconciled"][0]["missed"] == 0
    deliver_all(stack, cfg)
    assert sorted(r.json()["id"] for r in receiver.requests[before:]) == sorted(never_sent)


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_a_queue_refusal_mid_run_releases_the_record_and_the_next_run_delivers_it(stripe_world: Any) -> None:
    """Ingress's own rule, "nothing is recorded on a 503", must hold under the sync role too: else the record
    left behind would read as "arrived" to the next run and the event would never be delivered."""
    from tests.integration.test_ingress import FlakyPublisher

    stack, cfg, clock, _, receiver, _, never_sent = stripe_world
    svc = Services(stack, cfg, clock)
    before = len(receiver.requests)
    real = svc.ingress.deps.publisher
    svc.ingress.deps.publisher = FlakyPublisher(real, failures=1)
    first = run("stripe", cfg.sources["stripe"], runtime(svc, clock))
    assert first.status == FAILED and "answered 503" in (first.error or "")
    svc.ingress.deps.publisher = real
    second = run("stripe", cfg.sources["stripe"], runtime(svc, clock))
    assert second.status == COMPLETED and first.missed + second.missed == 15
    deliver_all(stack, cfg)
    assert sorted(r.json()["id"] for r in receiver.requests[before:]) == sorted(never_sent)


@pytest.mark.parametrize("stripe_world", [150], indirect=True)
def test_three_overlapping_runs_deliver_each_missed_event_once(stripe_world: Any) -> None:
    """However the threads interleave (the lock turns some away, or a later run finds everything recorded),
    the missed events are delivered once and counted once."""
    import threading

    stack, cfg, clock, _, receiver, _, never_sent = stripe_world
    before = len(receiver.requests)
    runs: list[Any] = []
    start = threading.Barrier(3)

    def one() -> None:
        svc = Services(stack, cfg, clock)  # each thread its own clients, as separate invocations
        start.wait()
        runs.append(run("stripe", cfg.sources["stripe"], runtime(svc, clock)))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(runs) == 3 and sum(r.missed for r in runs) == 15
    assert {r.status for r in runs} <= {COMPLETED, BUSY} and COMPLETED in {r.status for r in runs}
    deliver_all(stack, cfg)
    assert sorted(r.json()["id"] for r in receiver.requests[before:]) == sorted(never_sent)
