"""A rate-limit slot is judged again right before the request (guards.Guards.on_time, limits.RateLimiter.still_on_time).

The slot is taken in the guards, before the delivery claim's write, enrichment and mapping. In the
03:41 run of tests/e2e/test_records.py a slow claim write sent requests 200-400 ms after their slots,
next to the following slot's request: hookline itself sent six requests to a 5/s destination within
one second (the attempts' own `at`, not the receiver's clock).
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest

from hookline.delivery.guards.guards import Guards, NotOnTime
from hookline.delivery.guards.limits import SLOT_TOLERANCE_SECONDS
from tests.support.aging import LATER, together
from tests.support.guard_store import MemoryGuardStore

ROUTE = SimpleNamespace(name="to-crm", destination="crm", version=None, key=None)
CRM = SimpleNamespace(breaker=None, max_concurrency=None, rate=(5.0, 1.0), rate_limit="5/s", timeout_seconds=5)


class ThreadClocks:
    """An injected clock per thread: sleeping to a slot or a slow preparation moves only that thread's time."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.base = now
        self._local = threading.local()

    def __call__(self) -> float:
        return getattr(self._local, "now", self.base)

    def start(self) -> None:
        self._local.now = self.base

    def sleep(self, seconds: float) -> None:
        self._local.now = self() + max(seconds, 0.0)


def _window_max(times: list[float], period: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + period) for i, start in enumerate(times)), default=0)


def _gate(guards: Guards, deadline: float | None = None) -> Any:
    return guards.before(event_id="e", route=ROUTE, destination=CRM, envelope=None, held_since=None,
                         deadline_epoch=deadline)


def test_a_request_prepared_past_its_slot_waits_for_a_new_one_from_ten_threads_and_over_time() -> None:
    clocks = ThreadClocks()
    guards = Guards(MemoryGuardStore(), clock=clocks, monotonic=clocks, sleep=clocks.sleep)

    def send(i: int) -> list[float | None]:
        sent: list[float | None] = []
        for n in range(2):
            clocks.start()
            gate = _gate(guards)
            if not gate.proceed:  # the next slot is beyond MAX_WAIT_SECONDS: deferred, as before the fix
                sent.append(None)
                continue
            # Every third request's claim write (enrichment, mapping) takes 0.3 s: past its slot's tolerance
            clocks.sleep(0.3 if (i + n) % 3 == 0 else 0.0)
            try:
                guards.on_time(gate)
            except NotOnTime:
                sent.append(None)
                continue
            assert 0 <= clocks() - gate.slot <= SLOT_TOLERANCE_SECONDS  # sent on a slot that is on time
            sent.append(clocks())
        return sent

    every: list[float] = []
    for step in [0.0, *LATER]:
        # Ten threads at once, again after +3 s, +10 min and +6 h
        clocks.base += step
        sends = [t for per_thread in together(send) for t in per_thread if t is not None]
        # 5/s with the guard, a late request's wasted slot and 5 s of wait at most: most are sent, none lost
        assert len(sends) >= (5 if step == LATER[0] else 12), (step, len(sends))
        every += sends
        # Never more than 5 sends in any second, counted where hookline makes the request
        assert _window_max(every, 1.0) <= 5, (step, sorted(round(t - clocks.base, 3) for t in sends))


def test_a_request_still_on_its_slot_is_sent_at_once() -> None:
    clocks = ThreadClocks()
    clocks.start()
    guards = Guards(MemoryGuardStore(), clock=clocks, monotonic=clocks, sleep=clocks.sleep)
    gate = _gate(guards)
    slot = gate.slot
    clocks.sleep(SLOT_TOLERANCE_SECONDS * 0.8)  # a fast claim write: within the tolerance
    guards.on_time(gate)
    assert gate.slot == slot and clocks() == slot + SLOT_TOLERANCE_SECONDS * 0.8
    guards.on_time(None)  # a route without guards: nothing to judge


def test_a_request_whose_next_slot_is_past_the_deadline_is_deferred_not_sent() -> None:
    clocks = ThreadClocks()
    clocks.start()
    guards = Guards(MemoryGuardStore(), clock=clocks, monotonic=clocks, sleep=clocks.sleep)
    first = _gate(guards, deadline=clocks() + 0.3)  # the invocation must be done 0.3 s from now
    for _ in range(2):  # two more requests (other invocations) take the slots at +0.216 and +0.432
        clocks.start()
        _gate(guards)
    clocks.start()
    clocks.sleep(0.1)  # the first one's claim write took 0.1 s; the next free slot, +0.648, is past its deadline
    with pytest.raises(NotOnTime) as late:
        guards.on_time(first)
    assert (late.value.gate.verdict, late.value.gate.reason) == ("defer", "rate_limit")
    assert late.value.gate.delay == pytest.approx(0.548)
