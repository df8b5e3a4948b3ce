"""Delivery claims in memory (adapters.aws.claims.RouteClaims): a Powertools persistence layer on the event log's
items."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from hookline.core.chains import (
    CURRENT_CLAIMANT,
    AlreadyDeadLettered,
    ChainSuperseded,
    Claimant,
    HandedOver,
)
from tests.support.fakes.tables import CLEARED_BY_DELIVERY, Clock, Key, MemoryTable

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
