"""The stale-update guard: `routes[].version` (with `key`) — never send a version older than the delivered one.

Per (route, key) the records table keeps the last *delivered* version and a claim:

1. Before sending, the delivery takes the claim with one conditional write: it succeeds only
   if the version is newer than the delivered one and no other delivery of that key holds an
   unexpired claim. DynamoDB lets exactly one of two concurrent writers pass.
2. The condition failing returns the item as it was (ReturnValuesOnConditionCheckFailure):
   delivered >= this version -> `stale` (not sent, acknowledged, shown in `hookline events`);
   another claim -> wait briefly, then defer (not an attempt).
3. A 2xx commits: `delivered = version` and the claim is removed (one write). Any other outcome
   removes the claim, so an older version may go while the newer one retries: the newer one is
   sent after it and ends on top.
4. A copy of an already delivered message (its own event id is the delivered one) passes, and
   the idempotency layer answers it without a request.

Versions: a number, or an ISO-8601 time (compared as epoch seconds). An event without a
version (or without a key) is delivered unguarded: it can be compared with nothing.
A claim expires after the destination's timeout plus CLAIM_MARGIN_SECONDS, so a crashed
delivery blocks its key for at most that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hookline.core.expressions import search as expr_search

CLAIM_MARGIN_SECONDS = 30.0
BUSY_WAIT_SECONDS = 3.0  # in-process wait for another delivery of the same key, before deferring
BUSY_POLL_SECONDS = 0.05  # first look again; doubles up to 0.8 s (each look is a conditional write)
BUSY_DEFER_SECONDS = 2


class VersionError(ValueError):
    pass


def parse_version(value: Any) -> float | None:
    """A number, or an ISO-8601 date-time (-> epoch seconds); None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise VersionError(f"version {value!r} is a boolean, not a number or an ISO-8601 time")
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            raise VersionError(f"version {value!r} is neither a number nor an ISO-8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    raise VersionError(f"version is a {type(value).__name__}, not a number or an ISO-8601 time")


def version_of(expr: str, envelope: dict[str, Any]) -> float | None:
    try:
        value = expr_search(expr, envelope)
    except Exception:
        return None
    return parse_version(value)


@dataclass(frozen=True)
class Claim:
    outcome: str  # claimed | stale | busy
    delivered: float | None = None  # the delivered version, when stale
    delivered_event: str | None = None


class StaleGuard:
    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        # The writes of one key from this process go one at a time: a batch often holds several versions
        # of one record, and conflicting conditional writes cost a write each. DynamoDB's conditions make
        # the guard hold across processes.
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, route: str, key: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks.clear()
            return self._locks.setdefault((route, key), threading.Lock())

    def claim(self, route: str, key: str, version: float, event_id: str, hold_seconds: float,
              wait_seconds: float = BUSY_WAIT_SECONDS) -> Claim:
        give_up = self.monotonic() + wait_seconds
        pause = BUSY_POLL_SECONDS
        while True:
            now = self.clock()
            with self._lock(route, key):
                won, old = self.store.claim_version(route, key, version, event_id,
                                                    until=now + hold_seconds + CLAIM_MARGIN_SECONDS, now=now)
            if won:
                return Claim("claimed")
            delivered = old.get("delivered")
            if delivered is not None and float(delivered) >= version and old.get("delivered_event") != event_id:
                return Claim("stale", float(delivered), old.get("delivered_event"))
            left = give_up - self.monotonic()
            if left <= 0:
                return Claim("busy")
            self.sleep(min(pause, left))
            pause = min(pause * 2, 0.8)

    def commit(self, route: str, key: str, version: float, event_id: str) -> None:
        with self._lock(route, key):
            self.store.commit_version(route, key, version, event_id, now=self.clock())

    def release(self, route: str, key: str, event_id: str) -> None:
        with self._lock(route, key):
            self.store.release_version(route, key, event_id)


def describe_stale(version: float, claim: Claim) -> str:
    return (f"version {_fmt(version)} is not newer than the delivered version {_fmt(claim.delivered)}"
            + (f" (event {claim.delivered_event})" if claim.delivered_event else "") + "; not sent")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return str(int(v)) if float(v).is_integer() else f"{v:.6f}".rstrip("0")
