"""Things that age where DynamoDB's conditions decide (moto, template tables, IAM enforced): the
idempotency window, the sync run lock and the sync ledger's claims, each run again after +3 s, +10 min
and +6 h on an injected clock, and from ten threads at once. The unit half is tests/unit/cross_cutting/test_aging.py."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.adapters.aws.stores import EventLog
from hookline.adapters.aws.sync_state import SyncStore
from tests.integration.test_ingress import SECRET, Clock, delivery_began, github_request, make_ingress, queued
from tests.support.aging import HOURS, MINUTES, SECONDS, THREADS, together

WINDOW = 6 * 3600  # an idempotency window of six hours, so +6 h is its edge


def test_an_event_id_is_once_for_the_whole_window_and_new_after_it_also_from_ten_threads(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", SECRET)
    clock = Clock()
    # replay_guard_days: 0, so only the id's window decides (GitHub's signature has no timestamp: by default
    # its signed bytes stay once for 90 days, the second half below)
    ingress = make_ingress(stack, clock=clock, idempotency_window_seconds=WINDOW, replay_guard_days=0)
    accepted = clock.now
    headers, body = github_request({"issue": {"number": 77}}, delivery="d-aging")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-aging", "all-to-wh")
    assert len(queued(stack)) == 2
    # +3 s, +10 min and one second before the window ends: a duplicate, never queued again
    for at in (SECONDS, MINUTES, WINDOW - 1):
        clock.now = accepted + at
        resp = ingress.accept("github", headers, body)
        assert (resp.status, resp.body.get("status")) == (200, "duplicate"), at
        assert queued(stack) == [], at
    # Just after it (+6 h and a second), ten copies at once: exactly one is a new event, queued once per route
    clock.now = accepted + HOURS + 1
    statuses = together(lambda i: ingress.accept("github", headers, body).status)
    assert statuses.count(202) == 1 and set(statuses) <= {200, 202, 409}, statuses
    assert sorted(t.route for t in queued(stack)) == ["all-to-wh", "issues-to-crm"]


def test_after_the_id_window_the_same_signed_bytes_stay_once_under_the_default_replay_guard(
        stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", SECRET)
    clock = Clock()
    ingress = make_ingress(stack, clock=clock, idempotency_window_seconds=WINDOW)  # replay_guard_days: 90
    accepted = clock.now
    headers, body = github_request({"issue": {"number": 78}}, delivery="d-guarded")
    assert ingress.accept("github", headers, body).status == 202
    delivery_began(stack, "d-guarded", "all-to-wh")
    assert len(queued(stack)) == 2
    # The id's window is over (+6 h and a second), the guard's is not: ten copies at once are all the
    # recorded event, none queued (the guard's own ages up to 91 days: tests/integration/test_ingress_copies.py)
    clock.now = accepted + HOURS + 1
    answers = together(lambda i: ingress.accept("github", headers, body))
    assert [(a.status, a.body.get("status")) for a in answers] == [(200, "duplicate")] * THREADS, answers
    assert queued(stack) == []


def sync_store(stack: Any, clock: Clock) -> SyncStore:
    fn = stack.function("SyncFunction")  # only the sync role's permissions
    return SyncStore(EventLog(fn.events_table, resource=fn.ddb).table, clock=clock)


def test_the_sync_run_lock_holds_until_it_lapses_and_has_one_winner_of_ten(stack: Any) -> None:
    clock = Clock()
    store = sync_store(stack, clock)
    taken = clock.now
    # A run takes the lock for 900 s (the longest invocation), then its process dies without releasing it
    assert store.acquire("orders", "run-1", until=taken + 900)
    # +3 s and +10 min: every other run is refused, from ten threads at once too
    for at in (SECONDS, MINUTES):
        clock.now = taken + at
        assert together(lambda i: store.acquire("orders", f"run-{i}", until=clock.now + 900)) == [False] * THREADS
    # Once it lapses (+6 h here), exactly one of ten runs takes it, and holds it from then on
    clock.now = taken + HOURS
    won = together(lambda i: store.acquire("orders", f"late-{i}", until=clock.now + 900))
    assert won.count(True) == 1, won
    clock.now += SECONDS
    assert not store.acquire("orders", "later", until=clock.now + 900)
    # A released lock is free at once, whatever the time
    store.save("orders", "late", release=True)
    assert store.acquire("orders", "after-release", until=clock.now + 900)


def test_a_sync_ledger_claim_of_a_dead_run_lapses_and_a_queued_record_never_does(stack: Any) -> None:
    clock = Clock()
    store = sync_store(stack, clock)
    claimed = clock.now
    item = {"event_id": "orders:1@100", "route": "#event", "source": "shop", "received_at": claimed}  # as Recorder
    # Run r1 claims record version orders:1@100 for 900 s, then dies before queueing it
    assert store.claim(item, "r1", until=claimed + 900)
    # +3 s and +10 min: other runs are refused (ten at once), while r1 itself (resumed) may take it back
    for at in (SECONDS, MINUTES):
        clock.now = claimed + at
        assert together(lambda i: store.claim(item, f"r-{i}", until=clock.now + 900)) == [False] * THREADS
        assert store.claim(item, "r1", until=claimed + 900)
    # After the claim lapses, one of ten runs takes it over
    clock.now = claimed + HOURS
    won = together(lambda i: store.claim(item, f"late-{i}", until=clock.now + 900))
    assert won.count(True) == 1, won
    # Once queued, the version is never claimable again, however long after
    store.write([{**item, "queued": True}])
    for later in (SECONDS, MINUTES, HOURS, 30 * 86400):
        clock.now = claimed + HOURS + later
        assert not store.claim(item, "someone", until=clock.now + 900)


def test_a_delivered_pair_is_not_sent_again_for_the_whole_window_by_any_worker(stack: Any, lambda_context: Any) -> None:
    # Powertools' claim records (adapters/aws/claims.py) read datetime.now(): no clock seam, so time-machine
    # moves the wall clock for delivery, Powertools and moto alike.
    import time_machine

    from tests.support import moto_delivery as d
    from tests.support.receiver import Receiver

    window = 7 * 86400
    with Receiver() as dest, time_machine.travel(1_800_000_000, tick=True) as traveller:
        delivery = d.make_delivery(stack, d.config(dest.url), idempotency_window_seconds=window)
        task = d.task("evt-aging", chain="first")
        d.enqueue(stack, task)
        assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set()
        assert len(dest.requests) == 1
        # +3 s, +10 min, +6 h: ten copies of the message in one batch (ten worker threads) send nothing
        for step in (SECONDS, MINUTES, HOURS):
            traveller.shift(step)
            d.enqueue(stack, *[task] * THREADS)
            assert d.failed(d.run(stack, delivery, d.receive(stack), lambda_context)) == set(), step
            assert len(dest.requests) == 1, step
        # After the window the id may name a new event: a copy is delivered again, once for ten copies
        traveller.shift(window)
        d.enqueue(stack, *[task] * THREADS)
        d.run(stack, delivery, d.receive(stack), lambda_context)
        assert len(dest.requests) == 2
    assert d.route_item(stack, "evt-aging")["status"] == "delivered"
