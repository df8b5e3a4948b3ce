"""The circuit breaker: `destinations.<name>.circuit_breaker: {failures, cool_down_seconds, max_hold_seconds} | off`.

States (records table item `brk#<destination>`, shared by every invocation):

- closed: requests go out. `failures` counts consecutive retryable failures (5xx, 408/425/429,
  timeouts, connection errors); a 2xx resets it; a permanent answer (other 4xx) leaves it alone:
  the destination is up, the event is wrong. Reaching `failures` opens the breaker (a
  conditional write: one opener).
- open: events are held, not attempted (re-enqueued / their visibility extended; deferral.py).
  Once `cool_down_seconds` have passed, one held event wins the probe (a conditional write moves
  the state to half-open): it is the only request sent.
- half-open: the probe is in flight. A 2xx (or any answer that shows the destination is up: a
  permanent 4xx) closes the breaker, and the held events drain within the rate limit as they
  come back. A failed probe re-opens it for another cool-down. A probe that never reports
  (crash) is replaced after its timeout plus a cool-down.
- The same event probes again. A failed probe names its event (`probe_event`, `probe_tries`,
  `probe_limit` on the item), and for one cool-down after the next probe time only that event
  may probe: it comes back for it (outcomes/held_back.probe_failed). It keeps the probe until it
  succeeds or has probed `probe_limit` times (the attempts a delivery gets, 1 + the retry
  schedule); then, for that window, any other held event may probe and it may not. Why: a
  destination that answers an event only at its Nth request (it fails before it commits, then
  dedupes by Idempotency-Key; a warm-up per record) answers no event's first request. With a
  different event on every probe, no probe could ever succeed and the breaker held everything
  until max_hold_seconds; with the same event, the Nth probe succeeds. A probe's failures still
  spend nothing of that event's schedule. A probing event that does not come back within the
  window (dead-lettered, replayed elsewhere) loses its turn to whichever event comes next.
- An event held longer than `max_hold_seconds` goes to the DLQ with reason `destination_down`.

Requests while a destination is failing. A process keeps its own view of each destination: the
time of its last 2xx and the failures it has seen. While the last answer was a 2xx less than
HEALTHY_WINDOW_SECONDS ago, it sends without reading the shared state (the default path costs no
request). Otherwise it reads the shared item (at most once per STATE_TTL_SECONDS) and lets at most
`failures - consecutive failures` requests be in flight: after an idle spell, a down destination
gets at most `failures` requests from a process before the breaker opens, not a whole batch. Over
the fleet the bound is `failures` per process that has not yet read the open state, plus one probe
per cool-down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HEALTHY_WINDOW_SECONDS = 1.0
STATE_TTL_SECONDS = 1.0
ADMIT_WAIT_SECONDS = 0.1  # poll interval while waiting for an in-flight request's answer

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

SEND, PROBE, HOLD, WAIT = "send", "probe", "hold", "wait"  # wait: not open, but no in-flight budget left


@dataclass
class Admission:
    kind: str  # send | probe | hold | wait
    destination: str
    retry_in: float = 0.0  # hold: seconds until the next probe may go
    opened_at: float | None = None
    event_id: str | None = None  # probe: the event sent
    probe_tries: int = 0  # probe: its failed probes before this one (0: a new probing event)
    probe_limit: int | None = None  # probe: how many probes it may make in a row


@dataclass
class _View:
    in_flight: int = 0
    last_ok: float | None = None  # monotonic
    shared: dict[str, Any] = field(default_factory=dict)
    read_at: float | None = None  # monotonic


class Breakers:
    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self._views: dict[str, _View] = {}
        self._cond = threading.Condition()

    def _view(self, destination: str) -> _View:
        return self._views.setdefault(destination, _View())

    def _shared(self, destination: str, view: _View, fresh: bool = False) -> dict[str, Any]:
        mono = self.monotonic()
        if fresh or view.read_at is None or mono - view.read_at > STATE_TTL_SECONDS:
            view.shared = self.store.breaker(destination)
            view.read_at = mono
        return view.shared

    def admit(self, destination: str, cfg: Any, timeout_seconds: float, wait_seconds: float,
              event_id: str | None = None, probe_limit: int | None = None) -> Admission:
        """May a request go to `destination` now? Blocks up to `wait_seconds` for in-flight answers.

        `event_id` and `probe_limit` (the attempts a delivery gets) let a failed probe's event probe
        again (the module docstring); without them any held event may take the probe.
        """
        give_up = self.monotonic() + wait_seconds
        with self._cond:
            view = self._view(destination)
            while True:
                mono = self.monotonic()
                if view.last_ok is not None and mono - view.last_ok <= HEALTHY_WINDOW_SECONDS:
                    view.in_flight += 1
                    return Admission(SEND, destination)
                shared = self._shared(destination, view)
                state = shared.get("state") or CLOSED
                now = self.clock()
                if state in (OPEN, HALF_OPEN):
                    probe_at = float(shared.get("probe_at") or 0)
                    opened = float(shared["opened_at"]) if shared.get("opened_at") else None
                    turn_ends = _turn_ends(shared, event_id, probe_at, cfg.cool_down_seconds)
                    if probe_at <= now < turn_ends:  # the last probing event's turn: not this event's
                        return Admission(HOLD, destination, retry_in=max(turn_ends - now, 1.0), opened_at=opened)
                    if probe_at <= now and self.store.claim_probe(destination, now,
                                                                  now + timeout_seconds + cfg.cool_down_seconds):
                        view.shared = {**shared, "state": HALF_OPEN,
                                       "probe_at": now + timeout_seconds + cfg.cool_down_seconds}
                        view.in_flight += 1
                        again = event_id is not None and shared.get("probe_event") == event_id
                        return Admission(PROBE, destination, opened_at=opened, event_id=event_id,
                                         probe_tries=int(shared.get("probe_tries") or 0) if again else 0,
                                         probe_limit=probe_limit)
                    if probe_at <= now:
                        view.read_at = None  # someone else probes: look again next time
                    return Admission(HOLD, destination, retry_in=max(probe_at - now, 1.0), opened_at=opened)
                failures = int(shared.get("failures") or 0)
                if failures + view.in_flight < cfg.failures:
                    view.in_flight += 1
                    return Admission(SEND, destination)
                left = give_up - mono
                if left <= 0:
                    return Admission(WAIT, destination, retry_in=1.0)
                self._cond.wait(min(left, ADMIT_WAIT_SECONDS))

    def settle(self, admission: Admission, cfg: Any, outcome: str) -> bool:
        """Report what the admitted request got: ok | failed | answered (permanent 4xx) | none (not sent).

        Returns True when this report opened the breaker.
        """
        destination = admission.destination
        opened = False
        with self._cond:
            view = self._view(destination)
            view.in_flight = max(0, view.in_flight - 1)
            shared = view.shared
            now = self.clock()
            try:
                if outcome in ("ok", "answered"):
                    was_failing = int(shared.get("failures") or 0) > 0
                    if outcome == "ok":
                        view.last_ok = self.monotonic()
                    if admission.kind == PROBE:
                        self.store.close_breaker(destination, now)
                        view.shared = {"state": CLOSED, "failures": 0, "since": now}
                    elif outcome == "ok" and was_failing:
                        self.store.reset_failures(destination)
                        view.shared = {**shared, "failures": 0}
                elif outcome == "failed":
                    view.last_ok = None
                    if admission.kind == PROBE:
                        prober = _prober(admission)
                        self.store.probe_failed(destination, now, now + cfg.cool_down_seconds, **prober)
                        view.shared = {**shared, "state": OPEN, "probe_at": now + cfg.cool_down_seconds, **prober}
                    else:
                        new = self.store.record_failure(destination, now)
                        count = int(new.get("failures") or 0)
                        view.shared = new
                        if count >= cfg.failures and (new.get("state") or CLOSED) == CLOSED:
                            opened = self.store.open_breaker(destination, now, now + cfg.cool_down_seconds)
                            view.shared = {**new, "state": OPEN, "opened_at": now,
                                           "probe_at": now + cfg.cool_down_seconds}
                    view.read_at = self.monotonic()
            finally:
                self._cond.notify_all()
        return opened


def _prober(admission: Admission) -> dict[str, Any]:
    """What a failed probe records so that its event probes next time (empty: anyone may)."""
    if admission.event_id is None or admission.probe_limit is None:
        return {}
    return {"probe_event": admission.event_id, "probe_tries": admission.probe_tries + 1,
            "probe_limit": admission.probe_limit}


def _turn_ends(shared: dict[str, Any], event_id: str | None, probe_at: float, cool_down: float) -> float:
    """Until when this event must leave the probe to another: the last probing event keeps it for one
    cool-down after `probe_at` while it has probes left; once out of them, it yields for that long."""
    prober = shared.get("probe_event")
    if prober is None or event_id is None:
        return probe_at
    tries_left = int(shared.get("probe_tries") or 0) < int(shared.get("probe_limit") or 0)
    mine = prober == event_id
    return probe_at + cool_down if mine != tries_left else probe_at
