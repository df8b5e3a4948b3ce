"""boto3 adapters: the only place (with the HTTP client) that talks to AWS.

Each takes an optional client so tests and `hookline dev` inject theirs; the default
client is created lazily, so importing this module never needs a region or credentials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import boto3

from hookline.messages import DeliveryTask

EVENT_ITEM = "#event"
# The replay guard of an event whose id the signature does not cover: (GUARD_PREFIX + digest, GUARD_ITEM).
GUARD_PREFIX = "#sha256:"
GUARD_ITEM = "#guard"
# SendMessageBatch: at most 10 entries, and the bodies together within 256 KiB (also one message's limit).
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
T = TypeVar("T")


def _client(service: str, client: Any | None) -> Any:
    return client if client is not None else boto3.client(service)


class QueuePublisher:
    """Sends delivery tasks to the delivery queue (batches within SQS's limits, failures raised)."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        self._client = _client("sqs", self._client)
        return self._client

    def publish(self, tasks: list[DeliveryTask]) -> None:
        for chunk in batches([t.model_dump_json(exclude_none=True) for t in tasks]):
            resp = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
            )
            failed = resp.get("Failed") or []
            if failed:
                codes = ", ".join(f"{f.get('Code')}" for f in failed)
                raise QueueUnavailable(f"{len(failed)} of {len(chunk)} messages not queued ({codes})")


def batches(bodies: list[T], body: Callable[[T], str] = str) -> list[list[T]]:
    """Message bodies (or items carrying one) in order, grouped within SendMessageBatch's entry count
    and payload size."""
    out: list[list[T]] = []
    size = 0
    for item in bodies:
        n = len(body(item).encode())
        if not out or len(out[-1]) >= MAX_BATCH_ENTRIES or size + n > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += n
    return out


class QueueUnavailable(Exception):
    pass


class EventInFlight(Exception):
    """Another copy of this event is being recorded or released right now: the sender should come back."""


class PayloadStore:
    """Claim check: bodies too large for a queue message live in S3 under a content key."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        self._client = _client("s3", self._client)
        return self._client

    def put(self, key: str, body: bytes, content_type: str | None = None) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                               ContentType=content_type or "application/octet-stream")
        return key

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def _to_dynamo(value: Any) -> Any:
    # DynamoDB refuses floats: round-trip through Decimal.
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    return value


class EventLog:
    """Per event and route: status and every attempt (the data behind events/report)."""

    def __init__(self, table_name: str, ttl_seconds: int = 30 * 24 * 3600, resource: Any | None = None,
                 clock: Any = time.time) -> None:
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._resource = resource
        self._table: Any = None
        self._clock = clock

    @property
    def table(self) -> Any:
        if self._table is None:
            resource = self._resource if self._resource is not None else boto3.resource("dynamodb")
            self._table = resource.Table(self.table_name)
        return self._table

    def _expires(self) -> int:
        return int(self._clock()) + self.ttl_seconds

    def claim_event(self, *, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
                    queue_by: float, token: str, window_start: float,
                    digest: str | None = None) -> dict[str, Any] | None:
        """Ingress's one write: the `#event` item is also the event's idempotency record.

        With `digest` (the signature does not cover the id), a replay guard item keyed on the digest of
        the signed bytes is written in the same transaction: one request, and both the id and the bytes
        are "once". None: this call recorded the event. Otherwise the record already there (read by the
        failed condition; a GetItem when only the guard matched: the same bytes under another id).
        """
        from botocore.exceptions import ClientError

        record: dict[str, Any] = {
            "event_id": event_id, "route": EVENT_ITEM, "source": source, "received_at": _decimal(received_at),
            "routes": routes, "expires_at": self._expires(), "duplicates": 0, "queue_by": _decimal(queue_by),
            "token": token,
        }
        if type is not None:
            record["type"] = type
        if digest is not None:
            record["body_sha256"] = digest
        # A record older than the idempotency window is over: the same key is a new event.
        fresh = {"ConditionExpression": "attribute_not_exists(event_id) OR received_at < :since",
                 "ExpressionAttributeValues": {":since": _decimal(window_start)},
                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        try:
            if digest is None:
                self.table.put_item(Item=record, **fresh)
                return None
            guard = {"event_id": GUARD_PREFIX + digest, "route": GUARD_ITEM, "event_ref": event_id,
                     "received_at": record["received_at"], "expires_at": record["expires_at"], "token": token}
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": record, **fresh}},
                {"Put": {"TableName": self.table_name, "Item": guard, **fresh}},
            ])
            return None
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return _from_dynamo(_deserialize(e.response.get("Item") or {}))
            if code != "TransactionCanceledException":
                raise
            return self._claimed_earlier(e.response.get("CancellationReasons") or [], e)

    def _claimed_earlier(self, reasons: list[dict[str, Any]], error: Exception) -> dict[str, Any]:
        codes = [r.get("Code") for r in reasons]
        if "TransactionConflict" in codes:
            raise EventInFlight("another copy is being recorded at this moment") from error
        if len(codes) != 2 or "ConditionalCheckFailed" not in codes:
            raise error
        if codes[0] == "ConditionalCheckFailed":  # this id was recorded
            return _from_dynamo(_deserialize(reasons[0].get("Item") or {}))
        first_id = _deserialize(reasons[1].get("Item") or {}).get("event_ref")  # these bytes, under another id
        item = self.table.get_item(Key={"event_id": first_id, "route": EVENT_ITEM}, ConsistentRead=True).get("Item")
        if item is None:
            raise EventInFlight(f"the event first received as {first_id!r} is being released") from error
        return _from_dynamo(item)

    @property
    def client(self) -> Any:
        return self.table.meta.client

    def release_event(self, event_id: str, token: str, digest: str | None = None) -> bool:
        """Remove this invocation's record (and guard) after its queueing failed, unless a copy has since
        queued it."""
        from botocore.exceptions import ClientError

        mine = {"ConditionExpression": "#tok = :tok AND attribute_not_exists(queued)",
                "ExpressionAttributeNames": {"#tok": "token"}, "ExpressionAttributeValues": {":tok": token}}
        try:
            if digest is None:
                self.table.delete_item(Key={"event_id": event_id, "route": EVENT_ITEM}, **mine)
            else:
                self.client.transact_write_items(TransactItems=[
                    {"Delete": {"TableName": self.table_name, "Key": {"event_id": event_id, "route": EVENT_ITEM},
                                **mine}},
                    {"Delete": {"TableName": self.table_name,
                                "Key": {"event_id": GUARD_PREFIX + digest, "route": GUARD_ITEM}, **mine}},
                ])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("ConditionalCheckFailedException",
                                                                 "TransactionCanceledException"):
                raise
            return False
        return True

    def record_duplicate(self, event_id: str, queued: bool = False) -> None:
        """Count a dropped copy; `queued`: its delivery is known to have been queued (no more checks)."""
        self.table.update_item(
            Key={"event_id": event_id, "route": EVENT_ITEM},
            UpdateExpression="ADD duplicates :one" + (" SET queued = :yes" if queued else ""),
            ConditionExpression="attribute_exists(event_id)",  # released meanwhile: no stray counter item
            ExpressionAttributeValues={":one": 1, **({":yes": True} if queued else {})},
        )

    def delivery_started(self, event_id: str) -> bool:
        """Any route item exists: delivery received at least one of the event's tasks (it writes the
        route's item with its first claim), so the event was queued."""
        from boto3.dynamodb.conditions import Key

        resp = self.table.query(
            KeyConditionExpression=Key("event_id").eq(event_id) & Key("route").gt(EVENT_ITEM),
            ConsistentRead=True, Limit=1, ProjectionExpression="#r", ExpressionAttributeNames={"#r": "route"},
        )  # route names ([A-Za-z0-9_.-]) sort after "#event"
        return bool(resp.get("Items"))

    def record_attempt(self, *, event_id: str, route: str, status: str, attempt: dict[str, Any] | None = None,
                       **fields: Any) -> None:
        """Append one attempt and set the route's status (plus e.g. reason, last_error, delivered_at)."""
        names = {"#st": "status"}
        values: dict[str, Any] = {":status": status, ":exp": self._expires()}
        sets = ["#st = :status", "expires_at = :exp"]
        if attempt is not None:
            sets.append("attempts = list_append(if_not_exists(attempts, :empty), :attempt)")
            values[":attempt"] = [attempt]
            values[":empty"] = []
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        self.table.update_item(
            Key={"event_id": event_id, "route": route},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_dynamo(values),
        )

    def get(self, event_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        resp = self.table.query(KeyConditionExpression=Key("event_id").eq(event_id))
        items = [_public(i) for i in resp.get("Items", [])]
        return items + list(_not_yet_attempted(items))

    def scan(self) -> Iterator[dict[str, Any]]:
        """Every item; a matched route that delivery has not written yet is yielded as `received`."""
        kwargs: dict[str, Any] = {}
        events: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        while True:
            resp = self.table.scan(**kwargs)
            for raw in resp.get("Items", []):
                if raw.get("route") == GUARD_ITEM:
                    continue  # ingress's replay guard: the event is its `#event` item
                item = _public(raw)
                if item.get("route") == EVENT_ITEM:
                    if item.get("routes"):
                        events.append(item)
                else:
                    seen.add((item.get("event_id"), item.get("route")))
                yield item
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        yield from _not_yet_attempted(events, seen)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(value))


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire form (a failed condition's ALL_OLD, which boto3's resource layer leaves raw)."""
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


# Ingress's bookkeeping on the `#event` item (its idempotency record), not part of the log.
_RECORD_ONLY = frozenset({"token", "queue_by", "queued"})


def _public(raw: dict[str, Any]) -> dict[str, Any]:
    """An item as readers see it: without delivery's claim attributes (delivery/claims.py) or ingress's
    record bookkeeping."""
    item = {k: v for k, v in _from_dynamo(raw).items() if not k.startswith("idem_") and k not in _RECORD_ONLY}
    if item.get("route") != EVENT_ITEM and "status" not in item and not str(item.get("route", "")).startswith("#"):
        item["status"] = "received"  # a claim taken, nothing recorded yet: delivery is in progress
    return item


def _not_yet_attempted(items: list[dict[str, Any]],
                       seen: set[tuple[str, str]] | None = None) -> Iterator[dict[str, Any]]:
    """Ingress writes only the `#event` item (its `routes`); delivery creates each route's item when it
    first claims or records it. Until then the route's item reads as received."""
    if seen is None:
        seen = {(i.get("event_id"), i.get("route")) for i in items if i.get("route") != EVENT_ITEM}
    for event in items:
        if event.get("route") != EVENT_ITEM:
            continue
        for route in event.get("routes") or []:
            if (event["event_id"], route) not in seen:
                yield {"event_id": event["event_id"], "route": route, "status": "received",
                       "source": event.get("source"), "received_at": event.get("received_at"), "attempts": []}
