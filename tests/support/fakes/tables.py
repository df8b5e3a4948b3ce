"""The event log table in memory: MemoryTable, the event log (aws.EventLog) and ingress's `#event` entries
(adapters.aws.event_log_entries.EventLogEntries), with their adapters' conditions."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

# the port's answers, as the adapter gives them and ingress catches them
from hookline.core.errors import EventInFlight
from hookline.core.event_log import not_yet_attempted
from hookline.core.ports import ENTRY_GONE

Clock = Callable[[], float]
Key = tuple[str, str]
EVENT_ITEM, GUARD_ITEM, GUARD_PREFIX = "#event", "#guard", "#sha256:"


def plain(value: Any) -> Any:
    """A value as it comes back from DynamoDB through the adapters: a copy, whole floats as ints."""
    value = json.loads(json.dumps(value))
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class MemoryTable:
    """A key-value table of items keyed (event_id, route), with one re-entrant lock for atomic writes."""

    def __init__(self) -> None:
        self.items: dict[Key, dict[str, Any]] = {}
        self.lock = threading.RLock()
        self.writes = 0  # conditional or not, as DynamoDB would bill them (one per item written)

    def get(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            item = self.items.get(key)
            return copy.deepcopy(item) if item is not None else None

    def put(self, item: dict[str, Any]) -> None:
        with self.lock:
            self.writes += 1
            self.items[(item["event_id"], item["route"])] = plain(item)

    def update(self, key: Key, sets: dict[str, Any], removes: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
        """UpdateItem: creates the item when missing (as DynamoDB does), sets then removes."""
        with self.lock:
            self.writes += 1
            item = self.items.setdefault(key, {"event_id": key[0], "route": key[1]})
            item.update(plain(sets))
            for name in removes:
                item.pop(name, None)
            return copy.deepcopy(item)

    def delete(self, key: Key) -> None:
        with self.lock:
            self.writes += 1
            self.items.pop(key, None)

    def query(self, event_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(i) for (e, r), i in sorted(self.items.items()) if e == event_id]


# ---------------------------------------------------------------- the event log (aws.EventLog)


_ENTRY_ONLY = frozenset({"token", "queue_by", "queued", "body_sha256"})
CLEARED_BY_DELIVERY = ("reason", "dead_at")


def _public(raw: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in raw.items() if not k.startswith("idem_") and k not in _ENTRY_ONLY}
    if item.get("route") != EVENT_ITEM and "status" not in item and not str(item.get("route", "")).startswith("#"):
        item["status"] = "received"
    return item


class FakeEventLog:
    """ports.EventLog: attempts per (event, route), read as aws.EventLog shows them."""

    table = None  # the engine touches `events.table` to build boto3's lazy resource early; nothing to build here

    def __init__(self, table: MemoryTable | None = None, ttl_seconds: int = 30 * 24 * 3600,
                 clock: Clock = time.time) -> None:
        self.memory = table or MemoryTable()
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def record_attempt(self, *, event_id: str, route: str, status: str, attempt: dict[str, Any] | None = None,
                       **fields: Any) -> None:
        with self.memory.lock:
            item = self.memory.get((event_id, route)) or {}
            sets: dict[str, Any] = {"status": status, "expires_at": int(self.clock()) + self.ttl_seconds, **fields}
            if attempt is not None:
                sets["attempts"] = [*(item.get("attempts") or []), attempt]
            self.memory.update((event_id, route), sets, CLEARED_BY_DELIVERY if status == "delivered" else ())

    def get(self, event_id: str) -> list[dict[str, Any]]:
        items = [_public(i) for i in self.memory.query(event_id)]
        return items + list(not_yet_attempted(items))

    def scan(self) -> Iterator[dict[str, Any]]:
        with self.memory.lock:
            raws = [copy.deepcopy(i) for _, i in sorted(self.memory.items.items())]
        events, seen = [], set()
        for raw in raws:
            if raw.get("route") == GUARD_ITEM:
                continue
            item = _public(raw)
            if item.get("route") == EVENT_ITEM:
                if item.get("routes"):
                    events.append(item)
            else:
                seen.add((item.get("event_id"), item.get("route")))
            yield item
        yield from not_yet_attempted(events, seen)


# ---------------------------------------------------------------- ingress's `#event` entries (EventLogEntries)


class FakeEventLogEntries:
    """ports.EventLogEntries with adapters.aws.event_log_entries.EventLogEntries' conditions: the record is written
    if its key
    is new (`attribute_not_exists(event_id)`), or on a second write if the item there was received before
    the window (`... OR received_at < :since`); with a digest, the guard item under the same terms in the
    same transaction (both or neither); with `guard_on_record`, the record alone, replaced only past the
    guard's window or past the idempotency window with other bytes. Release: `token = :tok AND
    attribute_not_exists(queued)` on each."""

    def __init__(self, table: MemoryTable | None = None, ttl_seconds: int = 30 * 24 * 3600,
                 clock: Clock = time.time) -> None:
        self.memory = table or MemoryTable()
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.requests = 0  # DynamoDB requests made, as the adapter would make them

    def claim(self, *, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
              queue_by: float, token: str, window_start: float, digest: str | None = None,
              body_sha256: str | None = None, guard_seconds: float | None = None,
              via: str | None = None, guard_on_record: bool = False) -> dict[str, Any] | None:
        guard_window = max(guard_seconds or 0.0, received_at - window_start)
        guard_start = received_at - guard_window
        expires = int(self.clock()) + self.ttl_seconds
        on_record = guard_on_record and digest is None
        if on_record:  # the record is its own replay guard: it lives as long as the guard would
            expires = max(expires, int(received_at + guard_window) + 1)
        record: dict[str, Any] = {"event_id": event_id, "route": EVENT_ITEM, "source": source,
                                  "received_at": received_at, "routes": list(routes), "expires_at": expires,
                                  "queue_by": queue_by, "token": token}
        if type is not None:
            record["type"] = type
        if body_sha256 is not None:
            record["body_sha256"] = body_sha256
        if via is not None:
            record["via"] = via
        guard = None if digest is None else {
            "event_id": GUARD_PREFIX + digest, "route": GUARD_ITEM, "event_ref": event_id,
            "received_at": received_at, "token": token,
            "expires_at": max(expires, int(received_at + guard_window) + 1)}
        puts = [(record, window_start)] + ([(guard, guard_start)] if guard else [])

        def stale(item: dict[str, Any] | None, start: float) -> bool:
            if item is None or "received_at" not in item:
                return False
            received = float(item["received_at"])
            if on_record:  # `received_at < :guard OR (received_at < :since AND body_sha256 <> :sha)`
                return received < guard_start or (received < start and item.get("body_sha256") != body_sha256)
            return received < start

        with self.memory.lock:
            # The first write: `attribute_not_exists(event_id)` on each item.
            self.requests += 1
            found = [self.memory.get((p["event_id"], p["route"])) for p, _ in puts]
            failed = [f is not None for f in found]
            if any(failed) and all(stale(f, start) for f, (_, start), bad in zip(found, puts, failed, strict=True)
                                   if bad):
                # Every item in the way is older than its window: the second write, `... OR received_at < :since`.
                self.requests += 1
                failed = [f is not None and not stale(f, start) for f, (_, start) in zip(found, puts, strict=True)]
            if not any(failed):
                for p, _ in puts:
                    self.memory.put(p)
                return None
            if guard is None or (failed[0] and not stale(found[0], window_start)):  # (one request with on_record)
                return plain(found[0])  # this id, within its window
            # These bytes, under another id, within the guard's window: that reception's record.
            first = found[1] or {}
            first_id = str(first.get("event_ref"))
            self.requests += 1
            earlier = self.memory.get((first_id, EVENT_ITEM))
            if earlier is not None and earlier.get("received_at") == first.get("received_at"):
                return plain(earlier)
            if float(first.get("received_at") or 0) >= window_start and earlier is None:
                raise EventInFlight(f"the event first received as {first_id!r} is being released")
            return {"event_id": first_id, "received_at": first.get("received_at"), ENTRY_GONE: True}

    def release(self, event_id: str, token: str, digest: str | None = None) -> bool:
        keys = [(event_id, EVENT_ITEM)] + ([(GUARD_PREFIX + digest, GUARD_ITEM)] if digest else [])
        with self.memory.lock:
            self.requests += 1
            items = [self.memory.get(k) for k in keys]
            if not all(i is not None and i.get("token") == token and "queued" not in i for i in items):
                return False
            for k in keys:
                self.memory.delete(k)
            return True

    def count_duplicate(self, event_id: str, queued: bool = False) -> None:
        with self.memory.lock:
            self.requests += 1
            item = self.memory.get((event_id, EVENT_ITEM))
            if item is None:  # attribute_exists(event_id) failed: nothing to count, no stray counter item
                return
            sets: dict[str, Any] = {"duplicates": int(item.get("duplicates", 0)) + 1}
            if queued:
                sets["queued"] = True
            self.memory.update((event_id, EVENT_ITEM), sets)

    def delivery_started(self, event_id: str, received_at: float) -> bool:
        self.requests += 1
        return any(i["route"] > EVENT_ITEM and float(i.get("received_at", float("-inf"))) >= received_at - 1
                   for i in self.memory.query(event_id))
