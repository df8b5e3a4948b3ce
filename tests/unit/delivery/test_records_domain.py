"""Records, pure parts: attempt accounting, breaker, rate limit, stale guard, ordering, configuration."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from hookline.core import fanout
from hookline.core.config import CircuitBreakerConfig
from hookline.core.errors import ConfigError
from hookline.core.messages import DeliveryTask
from hookline.delivery import ordering
from hookline.delivery.guards import breaker as brk
from hookline.delivery.guards import limits, stale
from hookline.delivery.outcomes import deferral, retry
from hookline.validation import parse_config
from tests.support.guard_store import MemoryGuardStore


def task(**kwargs: Any) -> DeliveryTask:
    return DeliveryTask(event_id="e1", source="s", route="r", received_at=1.0, body="{}", **kwargs)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0)


# ---------------------------------------------------------------- attempt accounting


def test_without_deferrals_the_attempt_is_the_receive_count_as_before() -> None:
    assert deferral.attempts(task(), 1) == deferral.Attempts(1, 1)
    assert deferral.attempts(task(), 3) == deferral.Attempts(3, 3)
    assert deferral.attempts(task(prior_attempts=4), 2) == deferral.Attempts(2, 6)  # a replay counts on


def test_a_requeued_deferral_carries_the_attempts_made_and_spends_none() -> None:
    # Given a message that failed twice (receives 1 and 2) and is deferred on its third receive
    copy = deferral.requeued_task(task(), receive_count=3, held_since=50.0)
    # Then the copy carries 2 attempts and the hold start; its first receive is attempt 3, not 4
    assert (copy.schedule_attempts, copy.held_since) == (2, 50.0)
    assert deferral.attempts(copy, 1) == deferral.Attempts(3, 3)
    # And a deferral on a first receive spends nothing: the copy's first receive is attempt 1 again
    again = deferral.requeued_task(deferral.requeued_task(task(), 1), 1)
    assert deferral.attempts(again, 1).schedule_attempt == 1


def test_fifo_deferrals_are_subtracted_from_the_receive_count() -> None:
    # An ordered message received 6 times, 4 of them deferred (rate limit, breaker hold): attempt 2 now
    assert deferral.attempts(task(), 6, deferrals=4) == deferral.Attempts(2, 2)
    # A counter ahead of the receives (a lost receive) never gives an attempt below 1
    assert deferral.attempts(task(), 2, deferrals=5).schedule_attempt == 1


def test_the_retry_schedule_is_indexed_by_attempts_not_by_receives() -> None:
    schedule = [10, 100, 1000]
    rng = type("Mid", (), {"uniform": staticmethod(lambda a, b: 1.0)})()
    # 5 receives of which 3 were deferrals: the failure now is the 2nd attempt -> the 2nd delay
    n = deferral.attempts(task(), 5, deferrals=3).schedule_attempt
    assert retry.next_delay(n, schedule, rng=rng) == 100
    # Receives alone would have said "exhausted" (5 > 3 retries): the event would have been dead-lettered
    assert retry.next_delay(5, schedule, rng=rng) is None


def test_a_dead_letter_copy_restarts_the_schedule_and_keeps_the_lifetime_total() -> None:
    dead = deferral.dead_letter_task(task(schedule_attempts=2, held_since=9.0, prior_attempts=1), 4)
    assert (dead.prior_attempts, dead.schedule_attempts, dead.held_since) == (4, 0, None)


def test_hold_delays_wait_for_the_probe_grow_with_the_hold_and_stay_under_five_minutes() -> None:
    assert deferral.hold_delay(0, 10) == 10
    assert deferral.hold_delay(0, 10, until_probe=25) == 25
    assert deferral.hold_delay(400, 10) == 100
    assert deferral.hold_delay(86_000, 60) == deferral.MAX_HOLD_DELAY_SECONDS
    assert deferral.queue_delay(0.2) == 1 and deferral.queue_delay(5000) == 900


# ---------------------------------------------------------------- circuit breaker


CFG = CircuitBreakerConfig(failures=3, cool_down_seconds=10)


def breakers(clock: Clock, store: MemoryGuardStore | None = None) -> tuple[brk.Breakers, MemoryGuardStore]:
    store = store or MemoryGuardStore()
    mono = Clock(0.0)
    return brk.Breakers(store, clock=clock, monotonic=lambda: mono.now + clock.now), store


def sends(b: brk.Breakers, outcome: str, times: int) -> None:
    """`times` sends to crm, each admitted and settled with `outcome`."""
    for _ in range(times):
        b.settle(b.admit("crm", CFG, 5, wait_seconds=0), CFG, outcome)


def test_consecutive_failures_open_the_breaker_and_hold_without_requests() -> None:
    clock = Clock()
    b, store = breakers(clock)
    for _ in range(3):
        a = b.admit("crm", CFG, 5, wait_seconds=0)
        assert a.kind == brk.SEND
        b.settle(a, CFG, "failed")
    assert store.items["brk#crm"]["state"] == "open"
    held = b.admit("crm", CFG, 5, wait_seconds=0)
    assert held.kind == brk.HOLD and 9 <= held.retry_in <= 10


def test_after_the_cool_down_exactly_one_probe_goes_and_a_2xx_closes_the_breaker() -> None:
    clock = Clock()
    b, store = breakers(clock)
    other, _ = breakers(clock, store)  # a second process sharing the state
    sends(b, "failed", CFG.failures)  # the breaker opens
    clock.now += 10.5
    first = b.admit("crm", CFG, 5, wait_seconds=0)
    second = other.admit("crm", CFG, 5, wait_seconds=0)
    assert (first.kind, second.kind) == (brk.PROBE, brk.HOLD)
    b.settle(first, CFG, "ok")
    assert store.items["brk#crm"] == {"state": "closed", "since": clock.now, "failures": 0}
    assert b.admit("crm", CFG, 5, wait_seconds=0).kind == brk.SEND


def test_a_failed_probe_reopens_for_another_cool_down() -> None:
    clock = Clock()
    b, store = breakers(clock)
    sends(b, "failed", CFG.failures)  # the breaker opens
    clock.now += 11
    probe = b.admit("crm", CFG, 5, wait_seconds=0)
    b.settle(probe, CFG, "failed")
    assert store.items["brk#crm"]["state"] == "open"
    clock.now += 5
    assert b.admit("crm", CFG, 5, wait_seconds=0).kind == brk.HOLD
    clock.now += 6
    assert b.admit("crm", CFG, 5, wait_seconds=0).kind == brk.PROBE


def test_permanent_4xx_answers_do_not_trip_it() -> None:
    clock = Clock()
    b, store = breakers(clock)
    sends(b, "answered", 10)
    assert store.items.get("brk#crm", {}).get("state", "closed") == "closed"
    assert "record_failure" not in store.calls


def test_a_destination_not_known_healthy_gets_at_most_failures_requests_in_flight() -> None:
    clock = Clock()
    b, _ = breakers(clock)
    admitted = [b.admit("crm", CFG, 5, wait_seconds=0) for _ in range(5)]
    # Idle (no 2xx seen): 3 may be in flight, the rest wait for an answer (here: no wait: deferred)
    assert [a.kind for a in admitted] == [brk.SEND] * 3 + [brk.WAIT] * 2
    # Once one answers 2xx, the destination is healthy: requests flow without reading the shared state
    b.settle(admitted[0], CFG, "ok")
    assert all(b.admit("crm", CFG, 5, wait_seconds=0).kind == brk.SEND for _ in range(10))


def test_a_healthy_destination_costs_no_state_read() -> None:
    clock = Clock()
    b, store = breakers(clock)
    b.settle(b.admit("crm", CFG, 5, wait_seconds=0), CFG, "ok")
    reads = store.calls.count("breaker")
    for _ in range(20):
        b.settle(b.admit("crm", CFG, 5, wait_seconds=0), CFG, "ok")
    assert store.calls.count("breaker") == reads


# ---------------------------------------------------------------- rate limit


def window_max(times: list[float], period: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times))


@pytest.mark.parametrize(("count", "period"), [(5, 1.0), (20, 60.0), (1000, 1.0)])
def test_three_processes_never_put_more_than_n_requests_in_any_window(count: int, period: float) -> None:
    clock, store = Clock(), MemoryGuardStore()
    processes = [limits.RateLimiter(store, clock=clock, sleep=clock.sleep, rng=random.Random(i)) for i in range(3)]
    sent: list[float] = []
    for i in range(count * 3):
        limiter = processes[i % 3]
        assert limiter.acquire("crm", count, period, wait_until=clock.now + 10 * period) is None
        sent.append(clock.now)
    assert window_max(sent, period) <= count
    # And still near the configured rate: here requests go one at a time (each waits for its slot before the
    # next asks), so with shards some slots pass unused; a fleet asks concurrently and uses them.
    span = sent[-1] - sent[0]
    assert span <= 3 * period * (1.2 if limits.shards_for(count, period) == 1 else 1.5)


def test_a_request_woken_too_late_for_its_slot_takes_another_instead_of_crowding_the_window() -> None:
    clock, store = Clock(), MemoryGuardStore()
    stalls = [0.0, 0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]

    def sleep(seconds: float) -> None:  # the host stalls once, 0.7 s past the second request's slot
        clock.sleep(seconds + (stalls.pop(0) if stalls else 0.0))

    limiter = limits.RateLimiter(store, clock=clock, sleep=sleep)
    sent = []
    for _ in range(12):
        assert limiter.acquire("crm", 5, 1.0, wait_until=clock.now + 10) is None
        sent.append(clock.now)
    assert window_max(sent, 1.0) <= 5


def test_slots_are_taken_in_blocks_to_keep_writes_per_destination_low() -> None:
    clock, store = Clock(), MemoryGuardStore()
    limiter = limits.RateLimiter(store, clock=clock, sleep=clock.sleep)
    pool = limiter._pool("crm")
    pool.waiting = 10  # ten records of one batch asking at once
    first = limiter._take(pool, "crm", 100, 1.0, clock.now + 5)
    assert isinstance(first, float) and len(pool.slots) == 9 and store.calls.count("reserve_rate") == 1


def test_a_slot_too_far_ahead_is_deferred_not_waited_for() -> None:
    clock, store = Clock(), MemoryGuardStore()
    store.items["rate#crm#0"] = {"tat": clock.now + 30}
    deferred = limits.RateLimiter(store, clock=clock, sleep=clock.sleep).acquire("crm", 5, 1.0)
    assert isinstance(deferred, limits.Deferred) and deferred.reason == "rate_limit" and 29 <= deferred.delay <= 30


def test_shards_keep_each_item_under_the_partition_write_ceiling() -> None:
    assert limits.shards_for(5, 1) == 1
    assert limits.shards_for(1000, 1) == 5
    assert limits.shards_for(10_000, 1) == 50
    assert limits.shards_for(600, 60) == 1
    # each shard item takes at most one write per block of BLOCK slots at <= SHARD_RATE requests/s
    assert limits.SHARD_RATE / 1 <= 1000


def test_concurrency_leases_cap_the_fleet_and_expire() -> None:
    clock, store = Clock(), MemoryGuardStore()
    a = limits.ConcurrencyLimiter(store, clock=clock, sleep=lambda s: None)
    b = limits.ConcurrencyLimiter(store, clock=clock, sleep=lambda s: None)
    first, second = a.acquire("crm", 2, 5), b.acquire("crm", 2, 5)
    assert isinstance(first, limits.Lease) and isinstance(second, limits.Lease)
    assert isinstance(b.acquire("crm", 2, 5, wait_seconds=0), limits.Deferred)
    a.release(first)
    assert isinstance(b.acquire("crm", 2, 5, wait_seconds=0), limits.Lease)
    clock.now += 5 + limits.LEASE_MARGIN_SECONDS + 1  # a crashed holder's lease expires
    assert isinstance(a.acquire("crm", 2, 5, wait_seconds=0), limits.Lease)


# ---------------------------------------------------------------- stale guard


def test_versions_are_numbers_or_iso_times() -> None:
    assert stale.parse_version(7) == 7.0
    assert stale.parse_version("12") == 12.0
    assert stale.parse_version("2026-11-28T10:00:00Z") == stale.parse_version("2026-11-28T11:00:00+01:00")
    assert stale.parse_version(None) is None
    with pytest.raises(stale.VersionError, match="neither a number nor an ISO-8601 time"):
        stale.parse_version("yesterday")


def test_an_older_version_after_a_delivered_newer_one_is_stale() -> None:
    store = MemoryGuardStore()
    guard = stale.StaleGuard(store, sleep=lambda s: None)
    assert guard.claim("r", "k", 5, "e5", 10).outcome == "claimed"
    guard.commit("r", "k", 5, "e5")
    claim = guard.claim("r", "k", 3, "e3", 10)
    assert (claim.outcome, claim.delivered, claim.delivered_event) == ("stale", 5.0, "e5")
    assert guard.claim("r", "k", 5, "e5-copy", 10).outcome == "stale"  # equal is not newer
    assert guard.claim("r", "k", 5, "e5", 10).outcome == "claimed"  # the delivered event's own copy passes
    assert "not newer than the delivered version 5 (event e5)" in stale.describe_stale(3, claim)


def test_while_one_version_is_in_flight_another_waits_then_is_judged() -> None:
    store = MemoryGuardStore()
    guard = stale.StaleGuard(store, sleep=lambda s: None, monotonic=time.monotonic)
    assert guard.claim("r", "k", 9, "e9", 10).outcome == "claimed"
    assert guard.claim("r", "k", 4, "e4", 10, wait_seconds=0).outcome == "busy"
    guard.release("r", "k", "e9")  # e9 failed: the older one may go, e9 will follow it
    assert guard.claim("r", "k", 4, "e4", 10).outcome == "claimed"


# ---------------------------------------------------------------- ordering


def test_group_ids_are_route_and_key_or_a_hash_when_not_a_valid_group_id() -> None:
    assert fanout.group_id("crm", "cus_1", "e1") == "crm#cus_1"
    assert fanout.group_id("crm", None, "e1") == "crm#~e1"
    long = fanout.group_id("crm", "x" * 300, "e1")
    assert len(long) <= 128 and long.startswith("crm#") and long == fanout.group_id("crm", "x" * 300, "e2")
    assert fanout.group_id("crm", "naïve key", "e") != fanout.group_id("crm", "naive key", "e")
    assert fanout.record_key("body.id", {"body": {"id": 42}}) == "42"
    assert fanout.record_key("body.id", {"body": {}}) is None


class Rec:
    def __init__(self, mid: str, group: str) -> None:
        self.message_id = mid
        self.attributes = type("A", (), {"message_group_id": group})()


def test_a_fifo_batch_stops_a_group_at_its_first_unfinished_record_and_only_that_group() -> None:
    from concurrent.futures import ThreadPoolExecutor

    records = [Rec("a1", "A"), Rec("b1", "B"), Rec("a2", "A"), Rec("b2", "B"), Rec("a3", "A")]
    seen: list[str] = []

    def process(r: Rec) -> tuple[str, bool]:
        seen.append(r.message_id)
        return r.message_id, r.message_id == "a1"  # a1 must retry

    with ThreadPoolExecutor(2) as pool:
        results, skipped = ordering.process_fifo_batch(records, process, lambda res: res[1], pool)
    assert sorted(m for m, _ in results) == ["a1", "b1", "b2"]
    assert [r.message_id for r in skipped] == ["a2", "a3"]
    assert seen.index("b1") < seen.index("b2")


# ---------------------------------------------------------------- configuration


def base(route: dict[str, Any] | None = None, dest: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"sources": {"s": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
            "destinations": {"d": {"url": "https://crm.example/x", **(dest or {})}},
            "routes": [{"name": "r", "source": "s", "destination": "d", **(route or {})}]}


def test_record_options_parse_with_their_defaults() -> None:
    cfg = parse_config(base({"key": "body.id", "ordered": True, "version": "body.v"},
                            {"rate_limit": "5/s", "max_concurrency": 4}))
    dest = cfg.destinations["d"]
    assert (dest.rate, dest.max_concurrency) == ((5.0, 1.0), 4)
    assert dest.breaker == CircuitBreakerConfig(failures=5, cool_down_seconds=60, max_hold_seconds=86400)
    assert parse_config(base(dest={"circuit_breaker": False})).destinations["d"].breaker is None  # YAML `off`
    assert parse_config(base(dest={"circuit_breaker": "off"})).destinations["d"].breaker is None
    assert parse_config(base(dest={"rate_limit": "120/m"})).destinations["d"].rate == (120.0, 60.0)


def test_record_option_mistakes_are_listed_with_their_paths() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(base({"ordered": True, "version": "body.["}, {"rate_limit": "5 per second",
                                                                   "circuit_breaker": {"failures": 0}}))
    found = {(p.path, p.message.split(":")[0]) for p in e.value.problems}
    assert any(path == "destinations.d.rate_limit" for path, _ in found)
    assert any(path.startswith("destinations.d.circuit_breaker") for path, _ in found)
    with pytest.raises(ConfigError) as e:
        parse_config(base({"ordered": True, "version": "body.v"}))
    paths = {p.path for p in e.value.problems}
    assert paths == {"routes[0].ordered", "routes[0].version"}
    assert all("needs the record key" in p.message for p in e.value.problems)


def test_validate_names_the_template_resources_the_records_options_need(tmp_path: Any) -> None:
    from hookline.commands.validate import template_problems

    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n" + "".join(f"  {r}: {{Type: X}}\n" for r in (
        "IngressFunction", "DeliverFunction", "DeliveryQueue", "DeadLetterQueue", "EventsTable",
        "PayloadBucket")))
    cfg = parse_config(base({"key": "body.id", "ordered": True}))
    paths = {p.path.split(":")[-1] for p in template_problems(cfg, template)}
    assert paths == {"Resources.OrderedDeliveryQueue", "Resources.RecordsTable"}  # the breaker is on by default
    off = parse_config(base(dest={"circuit_breaker": "off"}))
    assert template_problems(off, template) == []


def test_ordered_tasks_are_sent_within_sqs_batch_byte_limit() -> None:
    # Given five 100 KiB tasks for the FIFO queue (3 of them would pass SQS's 256 KiB per call)
    from hookline.adapters.aws.stores import FifoPublisher
    from hookline.core.messages import DeliveryTask

    class Sqs:
        def __init__(self) -> None:
            self.calls: list[list[dict]] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
            self.calls.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    sqs = Sqs()
    tasks = [(DeliveryTask(event_id=f"e{i}", source="s", route="r", received_at=1.0, body="x" * 100 * 1024), "r#k")
             for i in range(5)]
    # When they are published
    FifoPublisher("https://sqs/q.fifo", client=sqs).publish_grouped(tasks)
    # Then each call stays within the limit, in order, with its group
    assert [len(c) for c in sqs.calls] == [2, 2, 1]
    assert [e["MessageGroupId"] for c in sqs.calls for e in c] == ["r#k"] * 5
    assert [json.loads(e["MessageBody"])["event_id"] for c in sqs.calls for e in c] == [f"e{i}" for i in range(5)]
