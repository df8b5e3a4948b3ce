"""Destination limits shared by every concurrent invocation: `rate_limit: "N/s" | "N/m"` and `max_concurrency: N`.

Rate limit — a distributed GCRA ("virtual scheduling") over DynamoDB:

- Each shard item `rate#<destination>#<shard>` holds `tat`, the time of the next free send slot.
  Slots are `spacing` apart, spacing = (period + GUARD_SECONDS) x shards / N, so any N + 1
  sends of the fleet span more than one period: at most N requests reach the destination in
  any window of `period`, even with SLOT_TOLERANCE_SECONDS of wake-up lateness and some network
  jitter (the guard). The cost: the effective rate is N / (1 + 0.08/period), e.g. 4.6/s for 5/s.
- An invocation takes slots in blocks: one conditional write (`tat = :old` -> `:old + k x spacing`)
  reserves up to k = BLOCK slots for the records of its batch waiting on that destination; the
  losing writer gets the current `tat` back from the failed condition and tries again.
- A request sleeps until its slot. A slot not used within SLOT_TOLERANCE_SECONDS is dropped
  (sending late could put N + 1 in a window), also at the send itself (`still_on_time`, after the
  delivery claim's write, enrichment and mapping). A slot further away than MAX_WAIT_SECONDS is not
  taken: the event is deferred (re-enqueued with a delay), which is not an attempt.
- Hot keys: one item takes at most 1 write per block; `shards = the largest divisor of N that is
  <= N/period / SHARD_RATE` (each shard paced at N/shards) keeps every item under ~SHARD_RATE/BLOCK
  writes per second at full rate, far below DynamoDB's ~1,000 writes/s per partition key. With
  BLOCK = 10 and SHARD_RATE = 200 a destination can be limited up to ~10,000 requests/s
  (docs/records.md, "Up to what rate it holds").

Max concurrency — N lease items `conc#<destination>#<i>`: a request takes a free (or expired)
one with a conditional write and removes it after the answer. A lease expires after the
destination's timeout plus a margin, so a crashed invocation frees its lease. An invocation
first checks its own in-flight count, so it never asks for more leases than the cap.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

GUARD_SECONDS = 0.08
SLOT_TOLERANCE_SECONDS = 0.05
MAX_WAIT_SECONDS = 5.0
BLOCK = 10
SHARD_RATE = 200.0  # requests/s per shard item at most
LEASE_MARGIN_SECONDS = 30.0
CONCURRENCY_WAIT_SECONDS = 2.0


def shards_for(count: float, period: float) -> int:
    per_second = count / period
    target = max(1, int(per_second // SHARD_RATE))
    if count != int(count) or target == 1:
        return 1
    n = int(count)
    return max(d for d in range(1, target + 1) if n % d == 0)


def spacing_for(count: float, period: float, shards: int = 1) -> float:
    return (period + GUARD_SECONDS) * shards / count


@dataclass
class Deferred:
    reason: str  # rate_limit | concurrency
    delay: float  # seconds until it is worth looking again


@dataclass
class _Pool:
    lock: threading.Lock = field(default_factory=threading.Lock)
    slots: list[float] = field(default_factory=list)  # reserved, unused send times (epoch), ascending
    known_tat: dict[int, float] = field(default_factory=dict)
    waiting: int = 0


class RateLimiter:
    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> None:
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()  # nosec B311 - jitter that spreads writes over shards, not crypto
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()

    def _pool(self, destination: str) -> _Pool:
        with self._lock:
            return self._pools.setdefault(destination, _Pool())

    def acquire(self, destination: str, count: float, period: float,
                wait_until: float | None = None) -> Deferred | None:
        """Block until this request's slot (None), or say how long to defer it."""
        slot = self.take(destination, count, period, wait_until)
        return slot if isinstance(slot, Deferred) else None

    def still_on_time(self, destination: str, count: float, period: float, slot: float,
                      wait_until: float | None = None) -> float | Deferred:
        """At the send itself: `slot` if it is still within SLOT_TOLERANCE_SECONDS, else a new slot (blocking).

        Between `take` and the request come the idempotency claim's write, enrichment and mapping: a slow
        one (a loaded host, a throttled table) sent a request 200-400 ms after its slot, next to the
        following slot's request, and six reached a 5/s destination within one second.
        """
        if self.clock() - slot <= SLOT_TOLERANCE_SECONDS:
            return slot
        return self.take(destination, count, period, wait_until)

    def take(self, destination: str, count: float, period: float,
             wait_until: float | None = None) -> float | Deferred:
        """Block until this request's slot and return it, or say how long to defer it."""
        pool = self._pool(destination)
        latest = self.clock() + MAX_WAIT_SECONDS
        if wait_until is not None:
            latest = min(latest, wait_until)
        while True:
            with self._lock:
                pool.waiting += 1
            try:
                with pool.lock:
                    slot = self._take(pool, destination, count, period, latest)
            finally:
                with self._lock:
                    pool.waiting -= 1
            if isinstance(slot, Deferred):
                return slot
            delay = slot - self.clock()
            if delay > 0:
                self.sleep(delay)
            # Woken too late (a busy host): sending now could crowd the next slots into one window.
            if self.clock() - slot <= SLOT_TOLERANCE_SECONDS:
                return slot

    def _take(self, pool: _Pool, destination: str, count: float, period: float, latest: float) -> float | Deferred:
        now = self.clock()
        pool.slots = [s for s in pool.slots if s >= now - SLOT_TOLERANCE_SECONDS]
        if pool.slots:
            if pool.slots[0] <= latest:
                return pool.slots.pop(0)
            return Deferred("rate_limit", pool.slots[0] - now)
        shards = shards_for(count, period)
        spacing = spacing_for(count, period, shards)
        block = max(1, min(BLOCK, pool.waiting))
        for _ in range(8):
            # The shard whose next slot this process believes earliest (unknown: now), ties broken at random.
            shard = min(range(shards), key=lambda i: (pool.known_tat.get(i, 0.0), self.rng.random()))
            known = pool.known_tat.get(shard)
            now = self.clock()
            if known is not None and known <= now:
                known = None  # idle: start from now (the write checks tat <= now)
            start = now if known is None else known
            if start > latest:
                pool.known_tat[shard] = known if known is not None else start
                return Deferred("rate_limit", start - now)
            won, current = self.store.reserve_rate(destination, shard, known, start + block * spacing, now)
            if won:
                pool.known_tat[shard] = start + block * spacing
                pool.slots = [start + i * spacing for i in range(1, block)]
                return start
            pool.known_tat[shard] = current if current is not None else now
        return Deferred("rate_limit", spacing)


@dataclass
class Lease:
    destination: str
    slot: int
    holder: str


class ConcurrencyLimiter:
    def __init__(self, store: Any, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic  # the wait for a lease; with `sleep`, what a test moves instead of waiting
        self.rng = rng or random.Random()  # nosec B311 - jitter that spreads writes over shards, not crypto
        self._local: dict[str, int] = {}
        self._held: dict[str, set[int]] = {}
        self._offset = self.rng.randrange(1 << 30)  # this process starts its search here: fewer collisions
        self._cond = threading.Condition()

    def acquire(self, destination: str, limit: int, hold_seconds: float,
                wait_seconds: float = CONCURRENCY_WAIT_SECONDS) -> Lease | Deferred:
        give_up = self.monotonic() + wait_seconds
        with self._cond:
            while self._local.get(destination, 0) >= limit:
                left = give_up - self.monotonic()
                if left <= 0:
                    return Deferred("concurrency", 1.0)
                self._cond.wait(min(left, 0.1))
            self._local[destination] = self._local.get(destination, 0) + 1
        holder = uuid.uuid4().hex
        while True:
            now = self.clock()
            tried: set[int] = set()
            while True:
                # Threads of this process try different slots (held or being tried here are skipped).
                with self._cond:
                    mine = self._held.setdefault(destination, set())
                    free = [(self._offset + i) % limit for i in range(limit)]
                    slot = next((x for x in free if x not in mine and x not in tried), None)
                    if slot is None:
                        break
                    mine.add(slot)
                tried.add(slot)
                try:
                    won = self.store.acquire_slot(destination, slot, holder,
                                                  until=now + hold_seconds + LEASE_MARGIN_SECONDS, now=now)
                except BaseException:
                    # A failed write (throttled, unreachable) gives back this process's count and slot: kept,
                    # they leaked, and at the cap every later delivery to the destination waited and deferred.
                    with self._cond:
                        mine.discard(slot)
                    self._done(destination)
                    raise
                if won:
                    return Lease(destination, slot, holder)
                with self._cond:
                    mine.discard(slot)
            if self.monotonic() >= give_up:
                self._done(destination)
                return Deferred("concurrency", 1.0)
            self.sleep(0.1)

    def release(self, lease: Lease) -> None:
        try:
            self.store.release_slot(lease.destination, lease.slot, lease.holder)
        finally:
            with self._cond:
                self._held.get(lease.destination, set()).discard(lease.slot)
            self._done(lease.destination)

    def _done(self, destination: str) -> None:
        with self._cond:
            self._local[destination] = max(0, self._local.get(destination, 0) - 1)
            self._cond.notify_all()
