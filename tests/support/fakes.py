"""In-memory fakes of the ports (hookline/core/ports.py), for unit tests of the engine, ingress and sync without moto.

Each fake keeps its items in a `MemoryTable` (a dict under one lock: every write below is one atomic
step, as a DynamoDB conditional write or transaction is) and evaluates, under that lock, the same
condition its adapter sends as a ConditionExpression, with the adapter's way of failing (False, a
ClientError, a Powertools exception). The fakes that share the event log table in AWS share one
`MemoryTable` here too: the engine's claims and its attempt log land on the same (event, route) item.

Every fake takes `clock` (epoch seconds) where its adapter reads the time. Powertools computes the
idempotency record's own expiry from the wall clock, so tests that move a clock start it at
`time.time()`. tests/integration/test_port_contracts.py runs the same behaviours on these fakes and
on the adapters on moto, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.exceptions import ClientError

from hookline.core.errors import QueueUnavailable
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult
from hookline.delivery.chains import (
    CURRENT_CLAIMANT,
    AlreadyDeadLettered,
    ChainSuperseded,
    Claimant,
    HandedOver,
)
from hookline.ingress.records import RECORD_GONE, EventInFlight  # the adapter's own answers, as ingress catches them

Clock = Callable[[], float]
Key = tuple[str, str]
EVENT_ITEM, GUARD_ITEM, GUARD_PREFIX = "#event", "#guard", "#sha256:"


def conditional_failure(operation: str, item: dict[str, Any] | None = None) -> ClientError:
    """The error a failed ConditionExpression raises through boto3 (with ALL_OLD's item when asked)."""
    response: dict[str, Any] = {"Error": {"Code": "ConditionalCheckFailedException",
                                          "Message": "The conditional request failed"}}
    if item is not None:
        response["Item"] = item
    return ClientError(response, operation)  # type: ignore[arg-type]


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


_RECORD_ONLY = frozenset({"token", "queue_by", "queued", "body_sha256"})
CLEARED_BY_DELIVERY = ("reason", "dead_at")


def _public(raw: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in raw.items() if not k.startswith("idem_") and k not in _RECORD_ONLY}
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
        return items + list(_not_yet_attempted(items))

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
        yield from _not_yet_attempted(events, seen)


def _not_yet_attempted(items: list[dict[str, Any]], seen: set[Any] | None = None) -> Iterator[dict[str, Any]]:
    if seen is None:
        seen = {(i.get("event_id"), i.get("route")) for i in items if i.get("route") != EVENT_ITEM}
    for event in items:
        if event.get("route") != EVENT_ITEM:
            continue
        for route in event.get("routes") or []:
            if (event["event_id"], route) not in seen:
                yield {"event_id": event["event_id"], "route": route, "status": "received",
                       "source": event.get("source"), "received_at": event.get("received_at"), "attempts": []}


# ---------------------------------------------------------------- ingress's `#event` entries (IngressRecords)


class FakeEventLogEntries:
    """ports.EventLogEntries with ingress.records.IngressRecords' conditions: the record is written if its key
    is new (`attribute_not_exists(event_id)`), or on a second write if the item there was received before
    the window (`... OR received_at < :since`); with a digest, the guard item under the same terms in the
    same transaction (both or neither). Release: `token = :tok AND attribute_not_exists(queued)` on each."""

    def __init__(self, table: MemoryTable | None = None, ttl_seconds: int = 30 * 24 * 3600,
                 clock: Clock = time.time) -> None:
        self.memory = table or MemoryTable()
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.requests = 0  # DynamoDB requests made, as the adapter would make them

    def claim(self, *, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
              queue_by: float, token: str, window_start: float, digest: str | None = None,
              body_sha256: str | None = None, guard_seconds: float | None = None) -> dict[str, Any] | None:
        guard_window = max(guard_seconds or 0.0, received_at - window_start)
        guard_start = received_at - guard_window
        expires = int(self.clock()) + self.ttl_seconds
        record: dict[str, Any] = {"event_id": event_id, "route": EVENT_ITEM, "source": source,
                                  "received_at": received_at, "routes": list(routes), "expires_at": expires,
                                  "queue_by": queue_by, "token": token}
        if type is not None:
            record["type"] = type
        if body_sha256 is not None:
            record["body_sha256"] = body_sha256
        guard = None if digest is None else {
            "event_id": GUARD_PREFIX + digest, "route": GUARD_ITEM, "event_ref": event_id,
            "received_at": received_at, "token": token,
            "expires_at": max(expires, int(received_at + guard_window) + 1)}
        puts = [(record, window_start)] + ([(guard, guard_start)] if guard else [])

        def stale(item: dict[str, Any] | None, start: float) -> bool:
            return item is not None and "received_at" in item and float(item["received_at"]) < start

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
            if guard is None or (failed[0] and not stale(found[0], window_start)):
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
            return {"event_id": first_id, "received_at": first.get("received_at"), RECORD_GONE: True}

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
            if item is None:  # attribute_exists(event_id): no stray counter item
                raise conditional_failure("UpdateItem")
            sets: dict[str, Any] = {"duplicates": int(item.get("duplicates", 0)) + 1}
            if queued:
                sets["queued"] = True
            self.memory.update((event_id, EVENT_ITEM), sets)

    def delivery_started(self, event_id: str, received_at: float) -> bool:
        self.requests += 1
        return any(i["route"] > EVENT_ITEM and float(i.get("received_at", float("-inf"))) >= received_at - 1
                   for i in self.memory.query(event_id))


# ---------------------------------------------------------------- delivery claims (delivery.claims.RouteClaims)


PREFIX = "idem_"
STATUS, EXPIRY, IN_PROGRESS, DATA, VALIDATION = (f"{PREFIX}{n}" for n in (
    "status", "expiration", "in_progress_expiration", "data", "validation"))
CHAIN, CHAIN_UNTIL, HANDED = f"{PREFIX}chain", f"{PREFIX}chain_until", f"{PREFIX}handed_over_by"
DEAD = "dead_message_id"


class FakeClaimStore(BasePersistenceLayer):
    """ports.ClaimStore and a Powertools persistence layer with RouteClaims' record: `idem_*` attributes of
    the event log's (event_id, route) item. A claim is taken when there is no live one (no status, expired,
    or in progress past its invocation) and the message's own terms hold (not the message that dead-lettered
    the route, nor the one that handed it over, and the route bound to its chain, its parent's, none, or a
    lapsed binding); completion appends the delivered attempt to the same item."""

    logs_delivery = True

    def __init__(self, table: MemoryTable | None = None, ttl_seconds: int = 30 * 24 * 3600,
                 clock: Clock = time.time) -> None:
        super().__init__()
        self.memory = table or MemoryTable()
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def _get_hashed_idempotency_key(self, data: Any) -> str | None:
        return data if isinstance(data, str) and ":" in data else super()._get_hashed_idempotency_key(data)

    @staticmethod
    def _key(idempotency_key: str) -> Key:
        event_id, route = idempotency_key.rsplit(":", 1)
        return event_id, route

    def _record(self, item: dict[str, Any]) -> DataRecord:
        return DataRecord(idempotency_key=f"{item['event_id']}:{item['route']}", status=item[STATUS],
                          expiry_timestamp=item.get(EXPIRY), in_progress_expiry_timestamp=item.get(IN_PROGRESS),
                          response_data=item.get(DATA, ""), payload_hash=item.get(VALIDATION, ""))

    def _live(self, item: dict[str, Any], now: float) -> bool:
        """The opposite of Powertools' condition (`attribute_not_exists(status) OR expiry < :now OR (INPROGRESS
        AND in_progress_expiration < :now_ms)`), which is also RouteClaims' `_claimed`."""
        if STATUS not in item or float(item.get(EXPIRY, 0)) < int(now):
            return False
        return not (item[STATUS] == "INPROGRESS" and IN_PROGRESS in item
                    and float(item[IN_PROGRESS]) < int(now * 1000))

    @staticmethod
    def _bound(item: dict[str, Any], claimant: Claimant, now: float) -> bool:
        owner = item.get(CHAIN)
        return (owner is None or owner == claimant.chain or float(item.get(CHAIN_UNTIL, 0)) < int(now)
                or (claimant.parent is not None and owner == claimant.parent))

    def _own_terms(self, item: dict[str, Any], claimant: Claimant, now: float) -> bool:
        if item.get(DEAD) == claimant.message_id:
            return False
        if claimant.received_before and item.get(HANDED) == claimant.message_id:
            return False
        return claimant.chain is None or self._bound(item, claimant, now)

    @staticmethod
    def _refuse(claimant: Claimant, item: dict[str, Any]) -> None:
        if item.get(DEAD) == claimant.message_id:
            raise AlreadyDeadLettered(claimant.message_id)
        owner = item.get(CHAIN)
        if claimant.chain is not None and owner is not None and owner not in (claimant.chain, claimant.parent):
            raise ChainSuperseded(owner)
        if item.get(HANDED) == claimant.message_id:
            raise HandedOver(claimant.message_id)

    def _put_record(self, data_record: DataRecord) -> None:
        key, now, claimant = self._key(data_record.idempotency_key), self.clock(), CURRENT_CLAIMANT.get()
        with self.memory.lock:
            item = self.memory.get(key) or {}
            ok = not self._live(item, now) and (claimant is None or self._own_terms(item, claimant, now))
            if not ok:
                if not item:
                    raise IdempotencyItemAlreadyExistsError()
                if claimant is not None and not self._live(item, now):
                    self._refuse(claimant, item)
                old = self._record(item)
                self._save_to_cache(data_record=old)
                raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            sets: dict[str, Any] = {STATUS: data_record.status, EXPIRY: data_record.expiry_timestamp,
                                    "expires_at": int(now) + self.ttl_seconds}
            if data_record.in_progress_expiry_timestamp is not None:
                sets[IN_PROGRESS] = data_record.in_progress_expiry_timestamp
            if claimant is not None and claimant.chain is not None:
                sets |= {CHAIN: claimant.chain, CHAIN_UNTIL: data_record.expiry_timestamp}
            self.memory.update(key, sets, (DATA,))

    def _get_record(self, idempotency_key: str) -> DataRecord:
        item = self.memory.get(self._key(idempotency_key))
        if item is None:
            raise IdempotencyItemNotFoundError
        return self._record(item)

    def _update_record(self, data_record: DataRecord) -> None:
        response = json.loads(data_record.response_data or "{}")
        log = response.pop("log", None) or {}
        key = self._key(data_record.idempotency_key)
        with self.memory.lock:
            item = self.memory.get(key) or {}
            sets: dict[str, Any] = {STATUS: data_record.status, EXPIRY: data_record.expiry_timestamp,
                                    DATA: json.dumps(response, sort_keys=True)}
            if log.get("status"):
                sets["status"] = log["status"]
            if log.get("attempt") is not None:
                sets["attempts"] = [*(item.get("attempts") or []), log["attempt"]]
            sets |= log.get("fields") or {}
            self.memory.update(key, sets, CLEARED_BY_DELIVERY if log.get("status") == "delivered" else ())

    def _delete_record(self, data_record: DataRecord) -> None:
        key = self._key(data_record.idempotency_key)
        with self.memory.lock:
            if self.memory.get(key) is not None:  # attribute_exists(event_id): never an empty item
                self.memory.update(key, {}, (STATUS, EXPIRY, IN_PROGRESS, DATA, VALIDATION))

    def hand_over(self, idempotency_key: str, claimant: Claimant, until: float,
                  fields: dict[str, Any] | None = None) -> bool:
        key, now = self._key(idempotency_key), self.clock()
        with self.memory.lock:
            item = self.memory.get(key) or {}
            if claimant.chain is not None and not self._bound(item, claimant, now):
                return False
            sets = {HANDED: claimant.message_id, **(fields or {})}
            if claimant.chain is not None:
                sets |= {CHAIN: claimant.chain, CHAIN_UNTIL: int(until)}
            self.memory.update(key, sets)
            return True

    def before_dead_letter(self, idempotency_key: str, claimant: Claimant, until: float,
                           fields: dict[str, Any]) -> None:
        key, now = self._key(idempotency_key), self.clock()
        with self.memory.lock:
            item = self.memory.get(key) or {}
            if not self._own_terms(item, claimant, now):
                self._refuse(claimant, item)
                raise ChainSuperseded(item.get(CHAIN) or "unknown")
            sets = dict(fields)
            if claimant.chain is not None:
                sets |= {CHAIN: claimant.chain, CHAIN_UNTIL: int(until)}
            self.memory.update(key, sets)


# ---------------------------------------------------------------- sync state (sync.state.SyncStore)


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


# ---------------------------------------------------------------- the queues, the bucket, the sender, secrets


class FakeQueue:
    """ports.TaskQueue, OrderedTaskQueue and QueueClient: what was published, dead-lettered, delayed.
    `fail` > 0 makes that many publish calls raise QueueUnavailable, as a failed batch entry does."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tasks: list[DeliveryTask] = []
        self.grouped: list[tuple[DeliveryTask, str]] = []
        self.sent: list[dict[str, Any]] = []  # SendMessage calls (the DLQ, a deferral's copy)
        self.visibility: list[int] = []
        self.fail = 0

    def publish(self, tasks: list[DeliveryTask]) -> None:
        with self.lock:
            if self.fail > 0:
                self.fail -= 1
                raise QueueUnavailable(f"{len(tasks)} of {len(tasks)} messages not queued (ServiceUnavailable)")
            self.tasks.extend(DeliveryTask.model_validate_json(t.model_dump_json()) for t in tasks)

    def publish_grouped(self, tasks: list[tuple[DeliveryTask, str]]) -> None:
        with self.lock:
            self.grouped.extend(tasks)

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.sent.append(kwargs)
            return {"MessageId": f"m-{len(self.sent)}"}

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.visibility.append(kwargs["VisibilityTimeout"])
            return {}

    def get_queue_url(self, **kwargs: Any) -> dict[str, Any]:
        return {"QueueUrl": f"https://sqs.us-east-1.amazonaws.com/123456789012/{kwargs['QueueName']}"}

    def dead_letters(self, url: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m["QueueUrl"] == url]


class FakePayloadStore:
    """ports.PayloadStore: bodies by key; a missing key raises S3's NoSuchKey, as the adapter's get does."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def put(self, key: str, body: bytes, content_type: str | None = None) -> str:
        with self.lock:
            self.bodies[key] = bytes(body)
        return key

    def get(self, key: str) -> bytes:
        with self.lock:
            if key not in self.bodies:
                raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "The specified key does not exist."}},
                                  "GetObject")
            return self.bodies[key]


class FakeSender:
    """ports.Sender: answers from a script (status codes or HttpResults, the last one repeated), every call
    recorded. `before_answer` runs inside the send (a crash, a second copy arriving meanwhile)."""

    def __init__(self, *answers: int | HttpResult, clock: Clock = time.time) -> None:
        self.answers = list(answers) or [200]
        self.calls: list[dict[str, Any]] = []
        self.clock = clock
        self.lock = threading.Lock()
        self.before_answer: Callable[[], None] | None = None

    def send(self, dest: Any, *, event_id: str, route: str, body: bytes, content_type: str = "application/json",
             deadline: float | None = None) -> HttpResult:
        with self.lock:
            self.calls.append({"event_id": event_id, "route": route, "body": body, "url": dest.url})
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if self.before_answer is not None:
            self.before_answer()
        if isinstance(answer, HttpResult):
            return answer
        return HttpResult(started_at=self.clock(), latency_ms=12.0, status_code=answer, requests_made=1,
                          error=None if 200 <= answer < 300 else f"HTTP {answer}")


class FakeSecrets:
    """ports.Secrets: `env:NAME` references looked up in a dict; a missing one fails as SecretResolver does."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def resolve(self, ref: str) -> str:
        from hookline.core.errors import SecretResolutionError

        name = ref.split(":", 1)[-1]
        if name not in self.values:
            raise SecretResolutionError(f"secret {ref!r} is not set")
        return self.values[name]

    def resolve_all(self, refs: list[str]) -> list[str]:
        return [self.resolve(r) for r in refs]

    def interpolate(self, template: str) -> str:
        return template
