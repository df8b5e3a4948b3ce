"""What stands between a prepared request and its destination: stale guard, breaker, concurrency, rate.

`Guards.before(...)` runs after the request is prepared and before the HTTP call; it returns a
`Gate` that either lets the request go (and is settled with the outcome by `Guards.after`) or
says why not: stale (not sent, acknowledged), deferred (over a limit, another delivery of the
key in flight: not an attempt), held (breaker open: not an attempt) or destination_down (held
past max_hold_seconds).

The order matters: the stale check first (a stale event must not wait for anything), then the
breaker (a held event must not take a lease or a rate slot), then the concurrency lease, then
the rate slot (the last wait, right before the request).

A route and destination with none of the features configured (`circuit_breaker: off`, no
rate_limit, max_concurrency, version) never get here: `applies` is False and the engine makes
no extra request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookline.core.fanout import record_key
from hookline.delivery.guards import breaker as brk
from hookline.delivery.guards import stale
from hookline.delivery.guards.limits import ConcurrencyLimiter, Deferred, Lease, RateLimiter

STALE, DEFER, HOLD, DOWN = "stale", "defer", "hold", "destination_down"


@dataclass
class Gate:
    proceed: bool
    verdict: str = ""  # when not proceeding: stale | defer | hold | destination_down
    delay: float = 0.0  # defer / hold: seconds until it is worth looking again
    reason: str = ""  # defer: rate_limit | concurrency | key_busy; hold: breaker
    message: str = ""  # stale / destination_down: for the event log and the DLQ
    held_since: float | None = None
    admission: brk.Admission | None = None
    lease: Lease | None = None
    claim: tuple[str, str, float, str] | None = None  # (route, key, version, event_id)
    breaker_cfg: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    # The rate-limit send slot taken (epoch), judged again right before the request (on_time), with
    # (destination, count, period) and the deadline to take another by
    slot: float | None = None
    rate: tuple[str, float, float] | None = None
    wait_until: float | None = None


class NotOnTime(Exception):
    """Raised inside the send (the idempotent function: its claim is let go) when the rate slot passed
    while the attempt was prepared and the next is too far; `gate` defers the event like `before` would."""

    def __init__(self, gate: Gate) -> None:
        super().__init__(f"deferred: {gate.reason}")
        self.gate = gate


def applies(route: Any, destination: Any) -> bool:
    return bool(route.version and route.key) or destination.breaker is not None \
        or destination.rate_limit is not None or destination.max_concurrency is not None


class Guards:
    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock = clock
        self.versions = stale.StaleGuard(store, clock=clock, sleep=sleep, monotonic=monotonic)
        self.breakers = brk.Breakers(store, clock=clock, monotonic=monotonic)
        self.rates = RateLimiter(store, clock=clock, sleep=sleep)
        self.leases = ConcurrencyLimiter(store, clock=clock, sleep=sleep, monotonic=monotonic)

    def before(self, *, event_id: str, route: Any, destination: Any, envelope: dict[str, Any] | None,
               held_since: float | None, deadline_epoch: float | None, probe_limit: int | None = None) -> Gate:
        dest_name = route.destination
        gate = Gate(True, held_since=held_since)
        # 1. stale guard
        if route.version and route.key and envelope is not None:
            key = record_key(route.key, envelope)
            try:
                version = stale.version_of(route.version, envelope)
            except stale.VersionError:
                version = None  # delivered unguarded (documented): it can be compared with nothing
            if key is not None and version is not None:
                claim = self.versions.claim(route.name, key, version, event_id, destination.timeout_seconds)
                if claim.outcome == "stale":
                    return Gate(False, STALE, message=stale.describe_stale(version, claim))
                if claim.outcome == "busy":
                    return Gate(False, DEFER, delay=stale.BUSY_DEFER_SECONDS, reason="key_busy", held_since=held_since)
                gate.claim = (route.name, key, version, event_id)
        try:
            # 2. breaker
            cfg = destination.breaker
            if cfg is not None:
                now = self.clock()
                admission = self.breakers.admit(dest_name, cfg, destination.timeout_seconds,
                                                wait_seconds=min(destination.timeout_seconds + 1, 15),
                                                event_id=event_id, probe_limit=probe_limit)
                if admission.kind == brk.WAIT:  # the breaker is closed; earlier requests are still unanswered
                    self._undo(gate)
                    return Gate(False, DEFER, delay=admission.retry_in, reason="breaker_budget", held_since=held_since)
                if admission.kind == brk.HOLD:
                    since = held_since if held_since is not None else now
                    self._undo(gate)
                    if now - since >= cfg.max_hold_seconds:
                        return Gate(False, DOWN, held_since=since, message=(
                            f"held {int(now - since)} s while the circuit breaker of {dest_name!r} was open "
                            f"(max_hold_seconds {cfg.max_hold_seconds})"))
                    return Gate(False, HOLD, delay=admission.retry_in, reason="breaker", held_since=since,
                                extras={"opened_at": admission.opened_at, "cool_down": cfg.cool_down_seconds})
                gate.admission, gate.breaker_cfg = admission, cfg
            # 3. concurrency
            if destination.max_concurrency is not None:
                lease = self.leases.acquire(dest_name, destination.max_concurrency, destination.timeout_seconds)
                if isinstance(lease, Deferred):
                    self._undo(gate)
                    return Gate(False, DEFER, delay=lease.delay, reason=lease.reason, held_since=held_since)
                gate.lease = lease
            # 4. rate
            rate = destination.rate
            if rate is not None:
                slot = self.rates.take(dest_name, rate[0], rate[1], wait_until=deadline_epoch)
                if isinstance(slot, Deferred):
                    self._undo(gate)
                    return Gate(False, DEFER, delay=slot.delay, reason=slot.reason, held_since=held_since)
                gate.slot, gate.rate, gate.wait_until = slot, (dest_name, rate[0], rate[1]), deadline_epoch
        except Exception:
            self._undo(gate)
            raise
        return gate

    def on_time(self, gate: Gate | None) -> None:
        """Right before the request: returns on a slot still on time (the one `before` took, or a new one
        waited for); raises NotOnTime when the next slot is too far, and the request is not made."""
        if gate is None or gate.slot is None or gate.rate is None:
            return
        slot = self.rates.still_on_time(*gate.rate, gate.slot, wait_until=gate.wait_until)
        if isinstance(slot, Deferred):
            raise NotOnTime(Gate(False, DEFER, delay=slot.delay, reason=slot.reason, held_since=gate.held_since))
        gate.slot = slot

    def _undo(self, gate: Gate) -> None:
        """Give back what a gate that will not send holds."""
        if gate.lease is not None:
            self.leases.release(gate.lease)
            gate.lease = None
        if gate.admission is not None:
            self.breakers.settle(gate.admission, gate.breaker_cfg, "none")
            gate.admission = None
        if gate.claim is not None:
            route, key, _, event_id = gate.claim
            self.versions.release(route, key, event_id)
            gate.claim = None

    def after(self, gate: Gate, *, delivered: bool, requested: bool, answered: bool) -> bool:
        """Settle a gate that proceeded. `requested`: an HTTP request was made; `answered`: it got a
        permanent (non-retryable) answer. Returns True when this outcome opened the breaker."""
        opened = False
        try:
            if gate.admission is not None:
                outcome = "ok" if delivered and requested else "failed" if requested and not answered \
                    else "answered" if answered else "none"
                opened = self.breakers.settle(gate.admission, gate.breaker_cfg, outcome)
                gate.admission = None
        finally:
            if gate.lease is not None:
                self.leases.release(gate.lease)
                gate.lease = None
            if gate.claim is not None:
                route, key, version, event_id = gate.claim
                if delivered:
                    self.versions.commit(route, key, version, event_id)
                else:
                    self.versions.release(route, key, event_id)
                gate.claim = None
        return opened
