"""Things that age: every cache, timer, counter, budget and window of the runtime, run, then run again
after the clock moved on by seconds, minutes and hours, and from several threads.

A short test sees a component when it is new. A warm Lambda container keeps it for hours, and its
deliver function runs ten records at once: the JSONata defect of issue 22 (a budget started when an
expression was compiled, a depth counter shared by threads) was invisible to every short test. Each
component here gets an injected clock (or, for a library without a seam, time-machine moving
time.time and datetime), and the same assertions at +3 s, +10 min and +6 h. docs/INTERNALS.md
("Things that age") lists each component with the test that covers it. This file: delivery's
caches, guards, budgets and outgoing signatures, and secrets; test_aging_mapping.py: ingress
windows, compiled transforms, schedules, expiry stamps, metrics and hookline dev's reload.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hookline.core.config import OAuth2Config
from hookline.core.oauth import TokenCache
from hookline.core.outcomes import HttpResult
from hookline.delivery.enrich import Enricher
from hookline.secrets import SecretResolver
from hookline.validation import parse_config
from tests.support.aging import HOURS, LATER, MINUTES, SECONDS, THREADS, Clock, together
from tests.unit.core.test_oauth import FakeSession, token

# ---------------------------------------------------------------- OAuth2 token cache (core/oauth.py)

OAUTH = OAuth2Config(token_url="https://login.example.com/oauth2/token", client_id="hookline",
                     client_secret="env:CS")


def token_cache(session: FakeSession, clock: Clock) -> TokenCache:
    return TokenCache(SecretResolver(environ={"CS": "client-secret"}), session, clock=clock)  # type: ignore[arg-type]


def test_oauth_token_is_reused_while_valid_and_fetched_again_exactly_when_it_expires() -> None:
    # Given tokens that live an hour (expires_in 3600: reused until 3600 - 60 s margin)
    clock = Clock()
    session = FakeSession(token("t1", 3600), token("t2", 3600), token("t3", 3600))
    cache = token_cache(session, clock)
    assert cache.token(OAUTH) == "t1"
    # When the container is 3 s and 10 min older, the same token is served without a request
    for step in (SECONDS, MINUTES):
        clock.advance(step)
        assert cache.token(OAUTH) == "t1"
    assert cache.fetches == 1
    # Just before the margin it is still served; at the margin it is fetched again
    clock.now = 1_000_000.0 + 3540 - 0.001
    assert cache.token(OAUTH) == "t1"
    clock.now = 1_000_000.0 + 3540
    assert cache.token(OAUTH) == "t2" and cache.fetches == 2
    # And six hours on, the stale token is never served: a new one is fetched
    clock.advance(HOURS)
    assert cache.cached(OAUTH) is None
    assert cache.token(OAUTH) == "t3" and cache.fetches == 3


def test_oauth_token_without_expires_in_lives_the_default_lifetime() -> None:
    # Salesforce omits expires_in: the token is kept 900 s (minus the 60 s margin), then fetched again
    clock = Clock()
    session = FakeSession(token("sf1", None), token("sf2", None))
    cache = token_cache(session, clock)
    assert cache.token(OAUTH) == "sf1"
    clock.advance(MINUTES)
    assert cache.token(OAUTH) == "sf1"
    clock.advance(840 - MINUTES)
    assert cache.token(OAUTH) == "sf2" and cache.fetches == 2


def test_oauth_ten_threads_on_an_expired_token_make_one_request() -> None:
    clock = Clock()
    session = FakeSession(token("t1", 3600), token("t2", 3600), delay=0.05)
    cache = token_cache(session, clock)
    assert together(lambda i: cache.token(OAUTH)) == ["t1"] * THREADS
    assert cache.fetches == 1
    # Six hours later the token has expired: ten deliveries at once still refresh it once
    clock.advance(HOURS)
    assert together(lambda i: cache.token(OAUTH)) == ["t2"] * THREADS
    assert cache.fetches == 2


# ---------------------------------------------------------------- enrichment cache (delivery/enrich.py)


class CountingFetch:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self, dest: Any, method: str, url: str, body: bytes, event_id: str, label: str,
                 deadline: float | None) -> HttpResult:
        with self._lock:
            self.calls += 1
            n = self.calls
        if self.delay:
            time.sleep(self.delay)  # keeps the first call in flight while the other threads arrive
        return HttpResult(0.0, 1.0, status_code=200, body=b'{"answer": %d}' % n, requests_made=1)


def enricher(fetch: CountingFetch, clock: Clock, cache_seconds: int = 300) -> tuple[Enricher, Any]:
    cfg = parse_config({
        "sources": {"s": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {"crm": {"url": "https://crm.example.com/api"}, "out": {"url": "https://out.example.com"}},
        "routes": [{"name": "r", "source": "s", "destination": "out", "transform": {"x": "enriched"},
                    "enrich": [{"name": "c", "destination": "crm", "path": "/c/{body.id}",
                                "cache_seconds": cache_seconds}]}]})
    return Enricher(cfg, fetch, clock=clock), cfg.route("r")


def test_enrichment_answer_is_cached_for_cache_seconds_and_no_longer() -> None:
    clock, fetch = Clock(), CountingFetch()
    enr, route = enricher(fetch, clock)
    envelope = {"id": "e", "body": {"id": 7}}
    assert enr.run(route, envelope, "e")[0] == {"c": {"answer": 1}}
    # +3 s and 299.9 s after the answer: served from the cache
    clock.advance(SECONDS)
    assert enr.run(route, envelope, "e")[1][0].result == "cached"
    clock.now = 1_000_000.0 + 299.9
    assert enr.run(route, envelope, "e")[0] == {"c": {"answer": 1}}
    assert fetch.calls == 1
    # At 300 s it has expired: called again, and the new answer is what later events see
    clock.now = 1_000_000.0 + 300
    assert enr.run(route, envelope, "e")[0] == {"c": {"answer": 2}}
    # Ten minutes and six hours on: fetched again each time (never an hours-old answer)
    for step in (MINUTES, HOURS):
        clock.advance(step)
        assert enr.run(route, envelope, "e")[1][0].result == "ok"
    assert fetch.calls == 4


def test_enrichment_ten_threads_on_a_stale_entry_make_one_call() -> None:
    clock, fetch = Clock(), CountingFetch(delay=0.05)
    enr, route = enricher(fetch, clock)
    envelope = {"id": "e", "body": {"id": 7}}
    first = together(lambda i: enr.run(route, envelope, f"e{i}")[0])
    assert first == [{"c": {"answer": 1}}] * THREADS and fetch.calls == 1
    clock.advance(HOURS)
    again = together(lambda i: enr.run(route, envelope, f"e{i}")[0])
    assert again == [{"c": {"answer": 2}}] * THREADS and fetch.calls == 2


def test_enrichment_without_cache_seconds_calls_every_time() -> None:
    clock, fetch = Clock(), CountingFetch()
    enr, route = enricher(fetch, clock, cache_seconds=0)
    for step in [0.0, *LATER]:
        clock.advance(step)
        enr.run(route, {"id": "e", "body": {"id": 7}}, "e")
    assert fetch.calls == 4


# ---------------------------------------------------------------- secrets cache (secrets.py, Powertools Parameters)


def test_ssm_secret_is_cached_max_age_then_a_rotated_value_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Powertools keeps each value until datetime.now() passes its max_age: no clock seam, so time-machine
    # moves datetime for it. The SSM API is moto's.
    import boto3
    import time_machine
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws(), time_machine.travel(1_800_000_000, tick=False) as traveller:
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name="/crm/key", Value="v1", Type="SecureString")
        resolver = SecretResolver(ssm_provider=SSMProvider(boto3_client=ssm))
        assert resolver.resolve("ssm:/crm/key") == "v1"
        ssm.put_parameter(Name="/crm/key", Value="v2", Type="SecureString", Overwrite=True)  # rotated
        # +3 s and at max_age (300 s): the cached value is still used (no API call per event)
        traveller.shift(SECONDS)
        assert resolver.resolve("ssm:/crm/key") == "v1"
        traveller.shift(300 - SECONDS)
        assert resolver.resolve("ssm:/crm/key") == "v1"
        # One second past max_age: the rotated value, from every thread
        traveller.shift(1)
        assert together(lambda i: resolver.resolve("ssm:/crm/key")) == ["v2"] * THREADS
        # Ten minutes and six hours on, rotations keep being picked up
        for n, step in enumerate((MINUTES, HOURS), start=3):
            ssm.put_parameter(Name="/crm/key", Value=f"v{n}", Type="SecureString", Overwrite=True)
            traveller.shift(step)
            assert together(lambda i: resolver.resolve("ssm:/crm/key")) == [f"v{n}"] * THREADS


# ------------------------------------------------ circuit breaker (delivery/guards/: breaker.py, guards.py)


def _opened_breaker(clock: Clock, failures: int = 3) -> tuple[Any, Any, Any]:
    from hookline.core.config import CircuitBreakerConfig
    from hookline.delivery.guards import breaker as brk
    from tests.support.guard_store import MemoryGuardStore

    store = MemoryGuardStore()
    breakers = brk.Breakers(store, clock=clock, monotonic=clock)
    cfg = CircuitBreakerConfig(failures=failures, cool_down_seconds=60, max_hold_seconds=3600)
    opened = False
    for _ in range(failures):
        admission = breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0)
        assert admission.kind == brk.SEND
        opened = breakers.settle(admission, cfg, "failed") or opened
    assert opened
    return breakers, cfg, store


def test_breaker_holds_for_its_cool_down_then_lets_exactly_one_probe_of_ten_threads() -> None:
    from hookline.delivery.guards import breaker as brk

    clock = Clock()
    breakers, cfg, _ = _opened_breaker(clock)
    # +3 s: held, told to look again when the cool-down ends
    clock.advance(SECONDS)
    held = breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0)
    assert held.kind == brk.HOLD and held.retry_in == pytest.approx(57)
    # At the cool-down's end, ten threads at once: one probe, nine held
    clock.now = 1_000_000.0 + 60
    kinds = together(lambda i: breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0))
    probes = [a for a in kinds if a.kind == brk.PROBE]
    assert len(probes) == 1 and sorted(a.kind for a in kinds).count(brk.HOLD) == THREADS - 1
    # The probe fails: open for another full cool-down (59 s later still held, 60 s later a new probe)
    breakers.settle(probes[0], cfg, "failed")
    clock.advance(59)
    assert breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.HOLD
    clock.advance(1)
    probe = breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0)
    assert probe.kind == brk.PROBE
    # A successful probe closes it: every thread sends again
    breakers.settle(probe, cfg, "ok")
    sent = together(lambda i: breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0))
    assert {a.kind for a in sent} == {brk.SEND}


def test_breaker_replaces_a_probe_that_never_reports_after_its_timeout_and_a_cool_down() -> None:
    from hookline.delivery.guards import breaker as brk

    clock = Clock()
    breakers, cfg, store = _opened_breaker(clock)
    clock.advance(60)
    assert breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.PROBE  # then the process dies
    # Another process (its own view) sees the probe in flight for timeout + cool-down = 70 s ...
    other = brk.Breakers(store, clock=clock, monotonic=clock)
    clock.advance(69)
    assert other.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.HOLD
    # ... and then probes itself: a lost probe does not hold the destination for hours
    clock.advance(1)
    assert other.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.PROBE


def test_breaker_healthy_window_and_state_cache_last_one_second() -> None:
    from hookline.delivery.guards import breaker as brk

    clock = Clock()
    breakers, cfg, store = _opened_breaker(clock)
    clock.advance(60)
    probe = breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0)
    breakers.settle(probe, cfg, "ok")
    # Within a second of the last 2xx the process sends without reading the shared state
    store.calls.clear()
    assert breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.SEND
    assert "breaker" not in store.calls
    # Another process opens the breaker meanwhile; 3 s later this process has read it again and holds
    store.items["brk#crm"] = {"state": "open", "probe_at": clock() + 600, "opened_at": clock(), "failures": 3}
    clock.advance(SECONDS)
    assert breakers.admit("crm", cfg, timeout_seconds=10, wait_seconds=0).kind == brk.HOLD
    assert "breaker" in store.calls


def test_breaker_hold_turns_into_destination_down_exactly_at_max_hold() -> None:
    from hookline.delivery.guards import guards

    clock = Clock()
    breakers, cfg, store = _opened_breaker(clock)
    g = guards.Guards(store, clock=clock, monotonic=clock, sleep=clock.sleep)
    g.breakers = breakers
    route = parse_config({
        "sources": {"s": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {"crm": {"url": "https://crm.example.com", "circuit_breaker": cfg.model_dump()}},
        "routes": [{"name": "r", "source": "s", "destination": "crm"}]})
    dest = route.destinations["crm"]
    held_since = clock()
    # The breaker stays open (every probe fails): +3 s, +10 min and just before max_hold (1 h) the event is held
    for at in (SECONDS, MINUTES, 3600 - 1):
        clock.now = held_since + at
        store.items["brk#crm"].update(state="open", probe_at=clock() + 60)
        gate = g.before(event_id="e", route=route.route("r"), destination=dest, envelope=None,
                        held_since=held_since, deadline_epoch=None)
        assert gate.verdict == guards.HOLD, (at, gate)
    # At max_hold it goes to the DLQ as destination_down; six hours on, too
    for at in (3600, HOURS):
        clock.now = held_since + at
        store.items["brk#crm"].update(state="open", probe_at=clock() + 60)
        gate = g.before(event_id="e", route=route.route("r"), destination=dest, envelope=None,
                        held_since=held_since, deadline_epoch=None)
        assert gate.verdict == guards.DOWN and "max_hold_seconds 3600" in gate.message


# ------------------------------------------------ rate-limit slots, concurrency leases (delivery/guards/limits.py)


def _window_max(times: list[float], period: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times)), default=0)


def test_rate_limit_slots_hold_n_per_period_after_idle_spells_and_from_ten_threads() -> None:
    from hookline.delivery.guards.limits import RateLimiter
    from tests.support.guard_store import MemoryGuardStore

    clock = Clock()
    waits = threading.local()

    def sleep(seconds: float) -> None:  # a thread "sleeps" to its slot: noted, the shared clock does not move
        waits.slot = clock() + seconds

    limiter = RateLimiter(MemoryGuardStore(), clock=clock, sleep=sleep)

    def send(i: int) -> float | None:
        waits.slot = clock()
        deferred = limiter.acquire("crm", 5, 1.0)
        return None if deferred is not None else waits.slot

    every: list[float] = []
    for step in [0.0, *LATER]:
        # Ten threads send 20 requests at once, then again after +3 s, +10 min and +6 h
        clock.advance(step)
        start = clock()
        sends = [t for pair in together(lambda i: (send(i), send(i))) for t in pair if t is not None]
        # +3 s is inside the previous burst's schedule: it goes on after it (no window gets a sixth send).
        # After a longer idle spell the schedule starts from now: no debt from the past, no burst of old slots
        if step == SECONDS:
            assert min(sends) > start  # behind the burst still scheduled, not from now
        else:
            assert min(sends) == start, step
        every += sends
        assert _window_max(every, 1.0) <= 5, (step, sorted(s - start for s in sends))
        assert max(sends) - start <= 5.0  # nothing is slept for longer than MAX_WAIT_SECONDS; the rest deferred
        assert len(sends) >= (15 if step == SECONDS else 20)  # 5/s with the guard: 20 sends take ~4.3 s (< 5 s)


def test_rate_limit_reserved_slots_are_dropped_once_past_their_tolerance() -> None:
    from hookline.delivery.guards.limits import SLOT_TOLERANCE_SECONDS, RateLimiter, _Pool
    from tests.support.guard_store import MemoryGuardStore

    clock = Clock()
    limiter = RateLimiter(MemoryGuardStore(), clock=clock, sleep=clock.sleep)
    pool = limiter._pool("crm")
    pool.waiting = 5  # a batch of five took a block of slots ...
    assert isinstance(pool, _Pool)
    first = limiter._take(pool, "crm", 5, 1.0, latest=clock() + 5)
    assert first == clock() and len(pool.slots) == 4
    # ... and the invocation ended before using them: 3 s later none of them is handed out (late = crowding)
    clock.advance(SECONDS)
    pool.waiting = 0
    slot = limiter._take(pool, "crm", 5, 1.0, latest=clock() + 5)
    assert slot >= clock() - SLOT_TOLERANCE_SECONDS


def test_concurrency_wait_is_measured_on_the_injected_clock_and_a_dead_holders_lease_expires() -> None:
    from hookline.delivery.guards.limits import LEASE_MARGIN_SECONDS, ConcurrencyLimiter, Deferred, Lease
    from tests.support.guard_store import MemoryGuardStore

    clock, store = Clock(), MemoryGuardStore()
    crashed = ConcurrencyLimiter(store, clock=clock, sleep=clock.sleep, monotonic=clock)
    assert isinstance(crashed.acquire("crm", 1, hold_seconds=10), Lease)  # never released: its process died
    other = ConcurrencyLimiter(store, clock=clock, sleep=clock.sleep, monotonic=clock)
    # +3 s: the lease is held; the 2 s wait passes on the injected clock (no real waiting), then it defers
    clock.advance(SECONDS)
    t0 = time.monotonic()
    assert isinstance(other.acquire("crm", 1, hold_seconds=10, wait_seconds=2.0), Deferred)
    assert time.monotonic() - t0 < 1.0
    # Once hold + margin has passed since it was taken, the lease is free again; six hours on, too
    clock.now = 1_000_000.0 + 10 + LEASE_MARGIN_SECONDS + 1
    lease = other.acquire("crm", 1, hold_seconds=10, wait_seconds=0)
    assert isinstance(lease, Lease)
    other.release(lease)
    clock.advance(HOURS)
    assert isinstance(other.acquire("crm", 1, hold_seconds=10, wait_seconds=0), Lease)


def test_concurrency_ten_threads_never_hold_more_than_the_cap() -> None:
    from hookline.delivery.guards.limits import ConcurrencyLimiter, Lease
    from tests.support.guard_store import MemoryGuardStore

    clock = Clock()
    limiter = ConcurrencyLimiter(MemoryGuardStore(), clock=clock, sleep=lambda s: time.sleep(0.001),
                                 monotonic=clock)
    holding, peak, lock = [0], [0], threading.Lock()

    def work(i: int) -> bool:
        lease = limiter.acquire("crm", 3, hold_seconds=10, wait_seconds=30)
        if not isinstance(lease, Lease):
            return False
        with lock:
            holding[0] += 1
            peak[0] = max(peak[0], holding[0])
        time.sleep(0.01)
        with lock:
            holding[0] -= 1
        limiter.release(lease)
        return True

    for step in [0.0, HOURS]:
        clock.advance(step)
        assert together(work) == [True] * THREADS
        assert 1 <= peak[0] <= 3


# ---------------------------------------------------------------- stale-update guard claims (delivery/guards/stale.py)


def test_version_claim_of_a_crashed_delivery_blocks_its_key_only_until_timeout_plus_margin() -> None:
    from hookline.delivery.guards.stale import CLAIM_MARGIN_SECONDS, StaleGuard
    from tests.support.guard_store import MemoryGuardStore

    clock, store = Clock(), MemoryGuardStore()
    crashed = StaleGuard(store, clock=clock, sleep=clock.sleep, monotonic=clock)
    assert crashed.claim("r", "cus_1", 1.0, "e1", hold_seconds=10).outcome == "claimed"  # then it dies
    guard = StaleGuard(store, clock=clock, sleep=clock.sleep, monotonic=clock)
    # +3 s: version 2 finds the key busy; its 3 s wait passes on the injected clock, then it defers
    clock.advance(SECONDS)
    t0 = time.monotonic()
    assert guard.claim("r", "cus_1", 2.0, "e2", hold_seconds=10).outcome == "busy"
    assert time.monotonic() - t0 < 1.0
    # Once the dead claim's 10 s + margin has passed, version 2 claims and delivers
    clock.now = 1_000_000.0 + 10 + CLAIM_MARGIN_SECONDS + 0.5
    assert guard.claim("r", "cus_1", 2.0, "e2", hold_seconds=10, wait_seconds=0).outcome == "claimed"
    guard.commit("r", "cus_1", 2.0, "e2")
    # The delivered version never ages out of the guard: ten minutes and six hours on, version 1 is stale
    for step in (MINUTES, HOURS):
        clock.advance(step)
        assert guard.claim("r", "cus_1", 1.0, "e1", hold_seconds=10, wait_seconds=0).outcome == "stale"
    # Ten threads with versions 3..12 of one key: the versions go one at a time, none is lost
    outcomes = together(lambda i: guard.claim("r", "cus_1", 3.0 + i, f"e{3 + i}", hold_seconds=10,
                                              wait_seconds=0).outcome)
    assert outcomes.count("claimed") == 1 and set(outcomes) <= {"claimed", "busy"}


# ---------------------------------------------------------------- invocation budgets (budget.py, core/deadline.py)


def test_a_nominal_invocation_budget_starts_when_it_is_made_not_when_the_process_did() -> None:
    from hookline.budget import NOMINAL_BUDGET_SECONDS, NominalContext

    clock = Clock()
    first = NominalContext(clock)
    clock.advance(MINUTES)
    assert first.get_remaining_time_in_millis() == (NOMINAL_BUDGET_SECONDS - MINUTES) * 1000
    clock.advance(HOURS)
    assert first.get_remaining_time_in_millis() == 0  # spent, never negative
    # An invocation six hours into the process gets the whole budget
    assert NominalContext(clock).get_remaining_time_in_millis() == NOMINAL_BUDGET_SECONDS * 1000


class FakeTimer:
    """threading.Timer for the watchdog: records its interval; the test fires it (time passing) or not."""

    made: list[FakeTimer] = []

    def __init__(self, seconds: float, fn: Callable[[], None]) -> None:
        self.seconds, self.fn, self.started, self.cancelled, self.daemon = seconds, fn, False, False, False
        FakeTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        self.fn()


def test_the_request_watchdog_gives_every_call_its_own_budget_on_its_own_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from hookline.core import deadline

    FakeTimer.made = []
    monkeypatch.setattr(deadline.threading, "Timer", FakeTimer)
    # A call's limit, made hours into the process, is the call's whole limit (not counted from the session)
    with deadline.limit(2.0) as first:
        pass
    assert FakeTimer.made[0].seconds == 2.0 and FakeTimer.made[0].cancelled
    first_timer = FakeTimer.made[0]
    with deadline.limit(2.0) as second:
        first_timer.fire()  # the finished call's timer going off late ...
        assert not first.expired and not second.expired  # ... touches neither call
        FakeTimer.made[1].fire()
        assert second.expired  # the current call's own limit does
    # After an expired call, the thread has no watch left over: the next call starts clean
    assert getattr(deadline._local, "watch", None) is None
    # Ten threads at once: each sees only its own watch and its own limit
    def own(i: int) -> tuple[float, bool]:
        with deadline.limit(1.0 + i) as w:
            return deadline._local.watch.seconds, deadline._local.watch is w
    assert together(own) == [(1.0 + i, True) for i in range(THREADS)]


def test_the_request_watchdog_leaves_no_timer_thread_behind_after_many_calls() -> None:
    from hookline.core import deadline

    before = threading.active_count()
    for _ in range(500):
        with deadline.limit(30.0):
            pass
    # A cancelled Timer's thread ends at once; allow it a moment to be reaped, boundedly
    give_up = time.monotonic() + 5
    while threading.active_count() > before + 1 and time.monotonic() < give_up:
        time.sleep(0.01)
    assert threading.active_count() <= before + 1


def test_a_failed_lease_write_gives_back_the_processes_count_so_the_destination_is_not_blocked_for_good() -> None:
    # A throttled or failed conditional write (DynamoDB errors happen) must not keep the process's own
    # in-flight count: with max_concurrency 1, one such error held every later delivery of the container
    # to that destination (each waited 2 s, then was deferred), like the JSONata depth counter that leaked.
    from hookline.delivery.guards.limits import ConcurrencyLimiter, Lease
    from tests.support.guard_store import MemoryGuardStore

    class ThrottledOnce(MemoryGuardStore):
        failed = False

        def acquire_slot(self, *args: Any, **kwargs: Any) -> bool:
            if not self.failed:
                self.failed = True
                raise RuntimeError("ProvisionedThroughputExceededException")
            return super().acquire_slot(*args, **kwargs)

    clock = Clock()
    limiter = ConcurrencyLimiter(ThrottledOnce(), clock=clock, sleep=clock.sleep, monotonic=clock)
    with pytest.raises(RuntimeError):
        limiter.acquire("crm", 1, hold_seconds=10)
    for step in LATER:
        clock.advance(step)
        lease = limiter.acquire("crm", 1, hold_seconds=10, wait_seconds=0)
        assert isinstance(lease, Lease), step
        limiter.release(lease)
    # And from ten threads afterwards, each gets its turn
    def turn(i: int) -> bool:
        got = limiter.acquire("crm", 1, hold_seconds=10, wait_seconds=30)
        if isinstance(got, Lease):
            limiter.release(got)
            return True
        return False
    assert together(turn) == [True] * THREADS


# ---------------------------------------------------------------- outgoing signatures (delivery/send/http.py)


def test_outgoing_standard_webhooks_signatures_carry_each_sends_time_as_the_receivers_sdk_requires() -> None:
    # Receivers refuse a webhook-timestamp more than 5 minutes off their clock: a retry hours later must be
    # signed afresh. time-machine moves the wall clock for the sender and for the receiver's SDK alike.
    import standardwebhooks.webhooks as sw
    import time_machine

    from hookline.core.config import DestinationConfig
    from hookline.delivery.send.http import HttpSender
    from tests.support.receiver import Receiver

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    with Receiver() as crm, time_machine.travel(1_800_000_000, tick=True) as traveller:
        dest = DestinationConfig(url=crm.url, signing={"secret": "env:OUT_SECRET"}, timeout_seconds=5)
        sender = HttpSender(SecretResolver(environ={"OUT_SECRET": secret}))
        for n, step in enumerate([0.0, *LATER]):
            traveller.shift(step)
            assert sender.send(dest, event_id="evt-1", route="r", body=b'{"n": 1}').status_code == 200
            got = crm.requests[n]
            assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 5, step
            sw.Webhook(secret).verify(got.body, got.headers)  # the receiver's SDK, at the receiver's time
        # The first attempt's headers, replayed six hours on, are refused by the same SDK
        with pytest.raises(sw.WebhookVerificationError):
            sw.Webhook(secret).verify(crm.requests[0].body, crm.requests[0].headers)
