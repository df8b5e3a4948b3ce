"""Ingress's record of an event: the event log's `#event` item, which is also its idempotency record.

A boto3 adapter on the low-level DynamoDB client, with items written in DynamoDB's wire form: the
resource layer's type transformation (a deep copy and a walk of every request) and botocore's
parameter validation were a third of ingress's own CPU per event, for requests whose shape is
fixed here and covered by the tests. Layout and guarantees: docs/INTERNALS.md ("Event log items").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from hookline.adapters.aws.errors import translated
from hookline.adapters.aws.stores import GUARD_ITEM, GUARD_PREFIX, from_wire, hot_path_client
from hookline.core.errors import EventInFlight, StoreUnavailable
from hookline.core.ports import ENTRY_GONE, EVENT_ITEM

# The first write asks only that the key be new; a record older than the idempotency window is over
# (the same key is a new event), which the rare second write's condition allows.
_NEW = "attribute_not_exists(event_id)"
_FRESH = _NEW + " OR received_at < :since"
# A record that is its own replay guard (`guard_on_record`): replaced once past the guard's window, or past
# the idempotency window with other bytes (the same id, a new event). A record without a digest (written by
# a version before digests) cannot be compared: past its window it is over, as it always was.
_FRESH_GUARDED = (_NEW + " OR received_at < :guard OR (received_at < :since"
                  " AND (attribute_not_exists(body_sha256) OR body_sha256 <> :sha))")
# Only the invocation that wrote a record may delete it, and not once a copy has queued the event.
_MINE = "#tok = :tok AND attribute_not_exists(queued)"


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return from_wire(item)  # boto3's deserializer, imported only when an item is read (a failed condition)


def _found(error: ClientError) -> list[dict[str, Any]]:
    """The items whose condition failed, as the failure returned them (ALL_OLD)."""
    if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
        return [error.response.get("Item") or {}]
    return [r.get("Item") or {} for r in error.response.get("CancellationReasons") or []
            if r.get("Code") == "ConditionalCheckFailed"]


def _older_than(item: dict[str, Any], since: float) -> bool:
    received = item.get("received_at", {}).get("N")
    return received is not None and float(received) < since


def _replaceable(item: dict[str, Any], window_start: float, guard_start: float, body_sha256: str | None) -> bool:
    """_FRESH_GUARDED's test, on the item the failed first write returned (wire form)."""
    received = item.get("received_at", {}).get("N")
    if received is None:
        return False
    sha = item.get("body_sha256", {}).get("S")
    return float(received) < guard_start or (float(received) < window_start and sha != body_sha256)


class EventLogEntries:
    def __init__(self, table_name: str, ttl_seconds: int = 30 * 24 * 3600, client: Any | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._clock = clock

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = hot_path_client("dynamodb")
        return self._client

    def _key(self, event_id: str) -> dict[str, Any]:
        return {"event_id": _s(event_id), "route": _s(EVENT_ITEM)}

    @translated(StoreUnavailable)
    def claim(self, *, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
              queue_by: float, token: str, window_start: float, digest: str | None = None,
              body_sha256: str | None = None, guard_seconds: float | None = None,
              via: str | None = None, guard_on_record: bool = False) -> dict[str, Any] | None:
        """Record the event once. None: this call recorded it. Otherwise the record already there (read by
        the failed condition; a GetItem when only the guard matched: the same bytes under another id).

        `body_sha256` rides on the record (same write): a copy under the same id is only the same event
        if its bytes are (Ingress._copy). With `digest` (the signature does not cover the id, or carries no
        timestamp), a replay guard item keyed on the digest of the signed bytes is written in the same
        transaction: one request, and both the id and the bytes are "once" (each item needs its own
        condition): the id within the idempotency window, the bytes for `guard_seconds` (at least the
        window), which only costs the guard item's storage (its TTL).

        A key seen before its window began is a new event. That case is rare (a sender resending after
        days), so it costs a second write, whose conditions allow the old items to be replaced, and the
        first write keeps the cheaper condition. The second write's conditions are checked atomically like
        the first, so two late copies still record the event once.

        `guard_on_record` (no `digest`): the caller's id is derived from the signed bytes (an id path in
        the signed body, or the body's digest), so equal bytes always meet at this one key and the record
        is its own replay guard: it is kept for the guard's window and may be replaced before then only by
        other bytes past the idempotency window. One PutItem (1 write unit) holds both rules that
        otherwise take a guard item and a transaction (4 units): docs/benchmarks.md.
        """
        guard_window = max(guard_seconds or 0.0, received_at - window_start)
        guard_start = received_at - guard_window
        expires = int(self._clock()) + self.ttl_seconds
        if guard_on_record and digest is None:
            return self._claim_guarded_record(event_id, source, type, received_at, routes, queue_by, token,
                                              window_start, guard_start, body_sha256, via,
                                              max(expires, int(received_at + guard_window) + 1))
        record = self._record(event_id, source, type, received_at, routes, queue_by, token, body_sha256, via,
                              expires)
        guard = None if digest is None else {
            "event_id": _s(GUARD_PREFIX + digest), "route": _s(GUARD_ITEM), "event_ref": _s(event_id),
            "received_at": record["received_at"], "token": _s(token),
            "expires_at": {"N": str(max(expires, int(received_at + guard_window) + 1))}}

        def stale(item: dict[str, Any]) -> bool:
            guard_item = item.get("route", {}).get("S") == GUARD_ITEM
            return _older_than(item, guard_start if guard_item else window_start)

        try:
            self._put(record, guard)
            return None
        except ClientError as e:
            found = _found(e)
            if not found or not all(stale(item) for item in found):
                return self._recorded(e, stale, window_start)
        try:
            self._put(record, guard, since=(window_start, guard_start))
            return None
        except ClientError as e:  # only items inside their window fail the second condition
            return self._recorded(e, stale, window_start)

    def _record(self, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
                queue_by: float, token: str, body_sha256: str | None, via: str | None,
                expires: int) -> dict[str, Any]:
        record: dict[str, Any] = {
            **self._key(event_id), "source": _s(source), "received_at": _n(received_at),
            "routes": {"L": [_s(r) for r in routes]}, "expires_at": {"N": str(expires)}, "queue_by": _n(queue_by),
            "token": _s(token),
        }
        if type is not None:
            record["type"] = _s(type)
        if body_sha256 is not None:
            record["body_sha256"] = _s(body_sha256)
        if via is not None:  # how it came other than as a webhook: "reconcile" (reconcile/runner.py)
            record["via"] = _s(via)
        return record

    def _claim_guarded_record(self, event_id: str, source: str, type: str | None, received_at: float,
                              routes: list[str], queue_by: float, token: str, window_start: float,
                              guard_start: float, body_sha256: str | None, via: str | None,
                              expires: int) -> dict[str, Any] | None:
        record = self._record(event_id, source, type, received_at, routes, queue_by, token, body_sha256, via,
                              expires)
        first = {"ConditionExpression": _NEW, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        try:
            self.client.put_item(TableName=self.table_name, Item=record, **first)
            return None
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            found = e.response.get("Item") or {}
        if not _replaceable(found, window_start, guard_start, body_sha256):
            return _plain(found)
        values = {":guard": _n(guard_start), ":since": _n(window_start), ":sha": _s(body_sha256 or "")}
        try:  # the rare second write: the record there is over (see _FRESH_GUARDED)
            self.client.put_item(TableName=self.table_name, Item=record, ConditionExpression=_FRESH_GUARDED,
                                 ExpressionAttributeValues=values, ReturnValuesOnConditionCheckFailure="ALL_OLD")
            return None
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return _plain(e.response.get("Item") or {})

    def _put(self, record: dict[str, Any], guard: dict[str, Any] | None,
             since: tuple[float, float] | None = None) -> None:
        """Write the record (and guard) if new; with `since` = (the record's, the guard's window start): also
        over an item received before it."""
        def condition(start: float | None) -> dict[str, Any]:
            if start is None:
                return {"ConditionExpression": _NEW, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
            return {"ConditionExpression": _FRESH, "ExpressionAttributeValues": {":since": _n(start)},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}

        record_since, guard_since = since or (None, None)
        if guard is None:
            self.client.put_item(TableName=self.table_name, Item=record, **condition(record_since))
            return
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table_name, "Item": record, **condition(record_since)}},
            {"Put": {"TableName": self.table_name, "Item": guard, **condition(guard_since)}},
        ])

    def _recorded(self, error: ClientError, stale: Callable[[dict[str, Any]], bool],
                  window_start: float) -> dict[str, Any]:
        code = error.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException":
            return _plain(error.response.get("Item") or {})
        if code != "TransactionCanceledException":
            raise error
        reasons = error.response.get("CancellationReasons") or []
        codes = [r.get("Code") for r in reasons]
        if "TransactionConflict" in codes:
            raise EventInFlight("another copy is being recorded at this moment") from error
        if len(codes) != 2 or "ConditionalCheckFailed" not in codes:
            raise error
        record, guard = (r.get("Item") or {} for r in reasons)
        if codes[0] == "ConditionalCheckFailed" and not stale(record):  # this id, within its window
            return _plain(record)
        if codes[1] != "ConditionalCheckFailed":
            raise error
        return self._guarded(guard, window_start, error)

    def _guarded(self, guard: dict[str, Any], window_start: float, error: Exception) -> dict[str, Any]:
        """These bytes were received under another id (`event_ref`), within the guard's window: that record."""
        first = _plain(guard)
        first_id = str(first.get("event_ref"))
        item = self.client.get_item(TableName=self.table_name, Key=self._key(first_id),
                                    ConsistentRead=True).get("Item")
        record = None if item is None else _plain(item)
        if record is not None and record.get("received_at") == first.get("received_at"):
            return record
        if float(first.get("received_at") or 0) >= window_start and record is None:
            raise EventInFlight(f"the event first received as {first_id!r} is being released") from error
        # That reception's record expired (the guard outlives the event log) or its id names a newer event.
        return {"event_id": first_id, "received_at": first.get("received_at"), ENTRY_GONE: True}

    @translated(StoreUnavailable)
    def release(self, event_id: str, token: str, digest: str | None = None) -> bool:
        """Remove this invocation's record (and guard) after its queueing failed, unless a copy has since
        queued it."""
        mine = {"ConditionExpression": _MINE, "ExpressionAttributeNames": {"#tok": "token"},
                "ExpressionAttributeValues": {":tok": _s(token)}}
        try:
            if digest is None:
                self.client.delete_item(TableName=self.table_name, Key=self._key(event_id), **mine)
            else:
                guard_key = {"event_id": _s(GUARD_PREFIX + digest), "route": _s(GUARD_ITEM)}
                self.client.transact_write_items(TransactItems=[
                    {"Delete": {"TableName": self.table_name, "Key": self._key(event_id), **mine}},
                    {"Delete": {"TableName": self.table_name, "Key": guard_key, **mine}},
                ])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("ConditionalCheckFailedException",
                                                                 "TransactionCanceledException"):
                raise
            return False
        return True

    @translated(StoreUnavailable)
    def count_duplicate(self, event_id: str, queued: bool = False) -> None:
        """Count a dropped copy; `queued`: the event is known to be queued (later copies check nothing). An
        event released meanwhile has nothing to count: no stray counter item is written."""
        values: dict[str, Any] = {":one": {"N": "1"}}
        if queued:
            values[":yes"] = {"BOOL": True}
        try:
            self.client.update_item(
                TableName=self.table_name, Key=self._key(event_id),
                UpdateExpression="ADD duplicates :one" + (" SET queued = :yes" if queued else ""),
                ConditionExpression="attribute_exists(event_id)",
                ExpressionAttributeValues=values,
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    @translated(StoreUnavailable)
    def delivery_started(self, event_id: str, received_at: float) -> bool:
        """A route item of this reception exists: delivery received at least one of the event's tasks (it
        writes the route's item, with the event's `received_at`, from its first claim), so the event was
        queued. Route items outlive the idempotency window (they expire with the event log): those of an
        earlier reception of the same key, more than the window ago, are not proof."""
        resp = self.client.query(
            TableName=self.table_name, ConsistentRead=True, ProjectionExpression="#r",
            KeyConditionExpression="event_id = :e AND #r > :event",  # route names [A-Za-z0-9_.-] sort after it
            # A second's slack for the number's round trip: an earlier reception is at least a window (>= 60 s) older.
            FilterExpression="received_at >= :since",
            ExpressionAttributeNames={"#r": "route"},
            ExpressionAttributeValues={":e": _s(event_id), ":event": _s(EVENT_ITEM), ":since": _n(received_at - 1)},
        )
        return bool(resp.get("Items"))
