"""Who probes an open breaker (delivery/guards/breaker.py): the event whose probe failed keeps the probe for one
cool-down, until it succeeds or has probed `probe_limit` times; injected clock, several processes, threads."""

from __future__ import annotations

import threading

from hookline.core.config import CircuitBreakerConfig
from hookline.delivery.guards import breaker as brk
from tests.support.guard_store import MemoryGuardStore

CFG = CircuitBreakerConfig(failures=2, cool_down_seconds=60)
TIMEOUT = 10
LIMIT = 3


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def processes(n: int = 3) -> tuple[list[brk.Breakers], MemoryGuardStore, Clock]:
    clock, store = Clock(), MemoryGuardStore()
    return [brk.Breakers(store, clock=clock, monotonic=clock) for _ in range(n)], store, clock


def admit(b: brk.Breakers, event_id: str) -> brk.Admission:
    return b.admit("crm", CFG, TIMEOUT, wait_seconds=0, event_id=event_id, probe_limit=LIMIT)


def opened(b: brk.Breakers, clock: Clock) -> None:
    for i in range(CFG.failures):
        b.settle(admit(b, f"first-{i}"), CFG, "failed")
    clock.now += CFG.cool_down_seconds + 1


def test_the_event_whose_probe_failed_probes_again_and_no_other_takes_its_turn() -> None:
    (a, b, c), store, clock = processes()
    opened(a, clock)
    probe = admit(a, "e1")
    assert (probe.kind, probe.probe_tries) == (brk.PROBE, 0)
    a.settle(probe, CFG, "failed")
    assert {k: store.items["brk#crm"][k] for k in ("probe_event", "probe_tries", "probe_limit")} == \
        {"probe_event": "e1", "probe_tries": 1, "probe_limit": LIMIT}
    # At the next probe time, other events (in other processes) are held for the rest of e1's turn
    clock.now += CFG.cool_down_seconds + 1
    held = admit(b, "e2")
    assert held.kind == brk.HOLD and held.retry_in == CFG.cool_down_seconds - 1
    # e1 comes back and probes: its second try
    again = admit(c, "e1")
    assert (again.kind, again.probe_tries) == (brk.PROBE, 1)
    c.settle(again, CFG, "ok")
    assert store.items["brk#crm"] == {"state": "closed", "since": clock.now, "failures": 0}
    clock.now += brk.STATE_TTL_SECONDS + 1  # b reads the shared state again
    assert admit(b, "e2").kind == brk.SEND


def test_after_probe_limit_failed_probes_the_event_yields_its_turn_to_another() -> None:
    (a, b), store, clock = processes(2)
    opened(a, clock)
    for tries in range(LIMIT):
        probe = admit(a, "e1")
        assert (probe.kind, probe.probe_tries) == (brk.PROBE, tries)
        a.settle(probe, CFG, "failed")
        clock.now += CFG.cool_down_seconds + 1
    # e1 has probed LIMIT times: for this turn it is held, and another event probes
    assert admit(a, "e1").kind == brk.HOLD
    other = admit(b, "e2")
    assert (other.kind, other.probe_tries) == (brk.PROBE, 0)
    b.settle(other, CFG, "failed")
    assert (store.items["brk#crm"]["probe_event"], store.items["brk#crm"]["probe_tries"]) == ("e2", 1)


def test_a_probing_event_that_does_not_come_back_loses_its_turn_after_one_cool_down() -> None:
    (a, b), _, clock = processes(2)
    opened(a, clock)
    a.settle(admit(a, "e1"), CFG, "failed")  # e1 is then dead-lettered, or replayed elsewhere: it never returns
    clock.now += CFG.cool_down_seconds + 1
    assert admit(b, "e2").kind == brk.HOLD
    clock.now += CFG.cool_down_seconds  # e1's turn is over
    assert admit(b, "e2").kind == brk.PROBE


def test_without_an_event_id_any_held_event_probes_as_before() -> None:
    (a,), store, clock = processes(1)
    opened(a, clock)
    probe = a.admit("crm", CFG, TIMEOUT, wait_seconds=0)
    a.settle(probe, CFG, "failed")
    assert "probe_event" not in store.items["brk#crm"]
    clock.now += CFG.cool_down_seconds + 1
    assert a.admit("crm", CFG, TIMEOUT, wait_seconds=0).kind == brk.PROBE


def probe_race(procs: list[brk.Breakers]) -> list[str]:
    """Ten processes, events e0..e9, ask at the same moment; the events that got the probe."""
    results: dict[str, brk.Admission] = {}
    start = threading.Barrier(len(procs))

    def run(i: int) -> None:
        start.wait()
        results[f"e{i}"] = admit(procs[i], f"e{i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(procs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [e for e, r in sorted(results.items()) if r.kind == brk.PROBE]


def test_ten_threads_at_probe_time_send_one_probe_and_it_is_the_event_whose_turn_it_is() -> None:
    procs, store, clock = processes(10)
    opened(procs[0], clock)
    procs[0].settle(admit(procs[0], "e7"), CFG, "failed")
    clock.now += CFG.cool_down_seconds + 1
    assert probe_race(procs) == ["e7"]
    procs[7].settle(brk.Admission(brk.PROBE, "crm", event_id="e7", probe_tries=1, probe_limit=LIMIT), CFG, "failed")
    assert store.items["brk#crm"]["probe_tries"] == 2
    # Hours later, e7 never came back: its turn is long over, and still exactly one probe goes
    for hours in (1, 6):
        clock.now += hours * 3600
        [winner] = probe_race(procs)
        procs[int(winner[1:])].settle(brk.Admission(brk.PROBE, "crm", event_id=winner, probe_limit=LIMIT), CFG,
                                      "failed")
        assert store.items["brk#crm"]["probe_event"] == winner
