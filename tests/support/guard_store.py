"""An in-memory stand-in for hookline.adapters.aws.guard_store.GuardStore, with the same conditions, for unit tests.

Single-threaded by design: the conditions are evaluated the way the store's ConditionExpressions
are, so the domain logic (breaker, limits, stale guard) can be tested without moto. Concurrency
against the real conditional writes is DynamoDB's job (and the moto-backed integration tests).
"""

from __future__ import annotations

import threading
from typing import Any


class MemoryGuardStore:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def _item(self, pk: str) -> dict[str, Any]:
        return self.items.setdefault(pk, {})

    # versions
    def claim_version(self, route: str, key: str, version: float, event_id: str, until: float,
                      now: float) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            self.calls.append("claim_version")
            item = self._item(f"ver#{route}#{key}")
            newer = "delivered" not in item or item["delivered"] < version or item.get("delivered_event") == event_id
            free = "claim_until" not in item or item["claim_until"] < now or item.get("claim_event") == event_id
            if newer and free:
                item.update(claim_event=event_id, claim_version=version, claim_until=until)
                return True, {}
            return False, dict(item)

    def commit_version(self, route: str, key: str, version: float, event_id: str, now: float) -> None:
        with self._lock:
            item = self._item(f"ver#{route}#{key}")
            if item.get("claim_event") == event_id or item.get("delivered", float("-inf")) < version:
                item.update(delivered=version, delivered_event=event_id)
            if item.get("claim_event") == event_id:
                for k in ("claim_event", "claim_version", "claim_until"):
                    item.pop(k, None)

    def release_version(self, route: str, key: str, event_id: str) -> None:
        with self._lock:
            item = self._item(f"ver#{route}#{key}")
            if item.get("claim_event") == event_id:
                for k in ("claim_event", "claim_version", "claim_until"):
                    item.pop(k, None)

    # rate
    def reserve_rate(self, destination: str, shard: int, known_tat: float | None, new_tat: float,
                     now: float) -> tuple[bool, float | None]:
        with self._lock:
            self.calls.append("reserve_rate")
            item = self._item(f"rate#{destination}#{shard}")
            tat = item.get("tat")
            ok = (tat is None or tat <= now) if known_tat is None else tat == known_tat
            if ok:
                item["tat"] = new_tat
                return True, new_tat
            return False, tat

    # leases
    def acquire_slot(self, destination: str, slot: int, holder: str, until: float, now: float) -> bool:
        with self._lock:
            item = self._item(f"conc#{destination}#{slot}")
            if "holder" not in item or item["until"] < now:
                item.update(holder=holder, until=until)
                return True
            return False

    def release_slot(self, destination: str, slot: int, holder: str) -> None:
        with self._lock:
            item = self._item(f"conc#{destination}#{slot}")
            if item.get("holder") == holder:
                item.clear()

    # breaker
    def breaker(self, destination: str) -> dict[str, Any]:
        with self._lock:
            self.calls.append("breaker")
            return dict(self.items.get(f"brk#{destination}", {}))

    def record_failure(self, destination: str, now: float) -> dict[str, Any]:
        with self._lock:
            self.calls.append("record_failure")
            item = self._item(f"brk#{destination}")
            item["failures"] = item.get("failures", 0) + 1
            item.setdefault("state", "closed")
            return dict(item)

    def open_breaker(self, destination: str, now: float, probe_at: float) -> bool:
        with self._lock:
            item = self._item(f"brk#{destination}")
            if item.get("state", "closed") != "closed":
                return False
            item.update(state="open", since=now, opened_at=now, probe_at=probe_at)
            return True

    def claim_probe(self, destination: str, now: float, probe_deadline: float) -> bool:
        with self._lock:
            item = self._item(f"brk#{destination}")
            if item.get("state") in ("open", "half-open") and item.get("probe_at", 0) <= now:
                item.update(state="half-open", since=now, probe_at=probe_deadline)
                return True
            return False

    def probe_failed(self, destination: str, now: float, probe_at: float, probe_event: str | None = None,
                     probe_tries: int = 0, probe_limit: int = 0) -> None:
        with self._lock:
            item = self._item(f"brk#{destination}")
            item.update(state="open", since=now, probe_at=probe_at, failures=item.get("failures", 0) + 1)
            if probe_event is not None:
                item.update(probe_event=probe_event, probe_tries=probe_tries, probe_limit=probe_limit)

    def close_breaker(self, destination: str, now: float) -> None:
        with self._lock:
            self.items[f"brk#{destination}"] = {"state": "closed", "since": now, "failures": 0}

    def reset_failures(self, destination: str) -> None:
        with self._lock:
            item = self._item(f"brk#{destination}")
            if item.get("state", "closed") == "closed":
                item["failures"] = 0
