"""Sync state (adapters.aws.sync_state.SyncStore) and the guards table (adapters.aws.guard_store.GuardStore),
in memory."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.support.fakes.tables import EVENT_ITEM, Clock, Key, MemoryTable
from tests.support.guard_store import MemoryGuardStore


class FakeSyncStateStore:
    """ports.SyncStateStore with SyncStore's conditions: the run lock is taken when `lease_until` is absent or
    past; a pulled record's `#event` item is claimed when absent, or not queued and its claim past or this
    run's."""

    def __init__(self, table: MemoryTable | None = None, clock: Clock = time.time) -> None:
        self.memory = table or MemoryTable()
        self.clock = clock

    @staticmethod
    def _state_key(name: str) -> Key:
        return f"#sync:{name}", "#state"

    def get_state(self, name: str) -> dict[str, Any]:
        return self.memory.get(self._state_key(name)) or {}

    def all_states(self, names: list[str]) -> dict[str, dict[str, Any]]:
        return {n: self.get_state(n) for n in names}

    def acquire(self, name: str, run_id: str, until: float) -> bool:
        with self.memory.lock:
            item = self.memory.get(self._state_key(name)) or {}
            if "lease_until" in item and not float(item["lease_until"]) < self.clock():
                return False
            self.memory.update(self._state_key(name), {"lease_until": until, "lease_run": run_id})
            return True

    def save(self, name: str, run_id: str, *, release: bool = False, remove: tuple[str, ...] = (),
             **fields: Any) -> None:
        sets = {k: v for k, v in fields.items() if v is not None}
        removes = [*remove, *(k for k, v in fields.items() if v is None)]
        if release:
            removes += ["lease_until", "lease_run"]
        self.memory.update(self._state_key(name), sets, removes)

    def lookup(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        found = {e: self.memory.get((e, EVENT_ITEM)) for e in dict.fromkeys(event_ids)}
        return {e: i for e, i in found.items() if i is not None}

    def claim(self, item: dict[str, Any], run_id: str, until: float) -> bool:
        with self.memory.lock:
            there = self.memory.get((item["event_id"], item["route"]))
            free = there is None or ("queued" not in there and (
                ("claim_until" in there and float(there["claim_until"]) < self.clock())
                or there.get("claim_run") == run_id))
            if not free:
                return False
            self.memory.put({**item, "claim_until": until, "claim_run": run_id})
            return True

    def write(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.memory.put(item)


# ------------------------------------------------ the guards table (adapters.aws.guard_store.GuardStore)


class FakeGuardStore(MemoryGuardStore):
    """ports.GuardStore: tests/support/guard_store.py's conditions (versions, rate, slots, breaker), with what
    the port has beyond them (get, deferrals, breakers) and the adapter's breaker writes, which keep the
    item's other attributes (`record_failure` and `probe_failed` stamp `last_failure_at`, `close_breaker` removes
    only the probe's). Items are keyed as the adapter's `pk`; reads return copies."""

    table = None  # the engine touches `records.table` to build boto3's lazy resource early

    def __init__(self, clock: Clock = time.time) -> None:
        super().__init__()
        self.clock = clock

    def get(self, pk: str, consistent: bool = True) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.items.get(pk, {}))

    def breaker(self, destination: str) -> dict[str, Any]:
        self.calls.append("breaker")
        return self.get(f"brk#{destination}")

    def deferrals(self, route: str, event_id: str) -> tuple[int, float | None]:
        item = self.get(f"defer#{route}#{event_id}")
        held = item.get("held_since")
        return int(item.get("deferrals") or 0), (float(held) if held is not None else None)

    def add_deferral(self, route: str, event_id: str, held_since: float | None) -> None:
        with self._lock:
            item = self._item(f"defer#{route}#{event_id}")
            item["deferrals"] = item.get("deferrals", 0) + 1
            if held_since is not None:
                item.setdefault("held_since", held_since)

    def breakers(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {pk[4:]: copy.deepcopy(i) for pk, i in self.items.items() if pk.startswith("brk#") and i}

    def record_failure(self, destination: str, now: float) -> dict[str, Any]:
        with self._lock:
            self.calls.append("record_failure")
            item = self._item(f"brk#{destination}")
            item["failures"] = item.get("failures", 0) + 1
            item["last_failure_at"] = now
            item.setdefault("state", "closed")
            item.setdefault("since", now)
            return copy.deepcopy(item)

    def probe_failed(self, destination: str, now: float, probe_at: float, probe_event: str | None = None,
                     probe_tries: int = 0, probe_limit: int = 0) -> None:
        super().probe_failed(destination, now, probe_at, probe_event, probe_tries, probe_limit)
        with self._lock:
            self._item(f"brk#{destination}")["last_failure_at"] = now

    def close_breaker(self, destination: str, now: float) -> None:
        with self._lock:
            item = self._item(f"brk#{destination}")
            item.update(state="closed", since=now, failures=0)
            for name in ("probe_at", "opened_at", "probe_event", "probe_tries", "probe_limit"):
                item.pop(name, None)
