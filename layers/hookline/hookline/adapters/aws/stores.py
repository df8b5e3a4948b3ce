"""AWS adapters of the delivery queues (standard and FIFO), the S3 payload store and the event log.

Each takes an optional client so tests and `hookline dev` inject theirs; the default
client is created lazily, so importing this module never needs a region or credentials.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session

from hookline.adapters.aws.errors import translated
from hookline.core.errors import PayloadMissing, QueueUnavailable, StoreUnavailable
from hookline.core.event_log import not_yet_attempted
from hookline.core.fanout import deduplication_id
from hookline.core.messages import DeliveryTask, batches, task_json
from hookline.core.ports import EVENT_ITEM

# The replay guard of an event whose id the signature does not cover: (GUARD_PREFIX + digest, GUARD_ITEM).
GUARD_PREFIX = "#sha256:"
GUARD_ITEM = "#guard"
# A delivered route did not fail for good: a dead letter's fields go when a replay delivers it (the
# attempt history keeps the failure; `dead_message_id` stays, it refuses that message's return).
CLEARED_BY_DELIVERY = ("reason", "dead_at")


def clear_on_delivery(status: str | None, names: dict[str, str]) -> str:
    """The ` REMOVE ...` clause that goes with writing `status` (empty unless delivered); adds its names."""
    if status != "delivered":
        return ""
    names.update({f"#c{i}": name for i, name in enumerate(CLEARED_BY_DELIVERY)})
    return " REMOVE " + ", ".join(f"#c{i}" for i in range(len(CLEARED_BY_DELIVERY)))


# Clients come from botocore, not boto3: importing boto3 (its resource layer, s3transfer) was ~40-80 ms of
# ingress's first request, and a client is the same object either way. One botocore session per process,
# as boto3's default session is, so botocore's data (endpoints, service models) is loaded once.
_session: Session | None = None
_resource: tuple[Session, Any] | None = None  # (its session, boto3's DynamoDB resource over it)
_lock = threading.Lock()  # botocore sessions are not thread-safe; `hookline dev` runs functions in threads


def _botocore_session() -> Session:
    """boto3's default session's botocore session when the process set one up (tests assume roles that
    way, `boto3.setup_default_session`), else the process's own (made at the first client)."""
    global _session
    boto3 = sys.modules.get("boto3")  # imported by whoever set a default session: never imported here
    if boto3 is not None and boto3.DEFAULT_SESSION is not None:
        return boto3.DEFAULT_SESSION._session
    if _session is None:
        _session = Session()
    return _session


def client(service: str, config: Config | None = None) -> Any:
    """A botocore client of the process's session (made on first use, so importing an adapter needs no
    region or credentials)."""
    with _lock:
        return _botocore_session().create_client(service, config=config)


def _client(service: str, injected: Any | None) -> Any:
    return injected if injected is not None else client(service)


def sqs_client() -> Any:
    """An SQS client (wiring, the composition root, imports no botocore)."""
    return client("sqs")


def dynamodb_client() -> Any:
    return client("dynamodb")


def table_of(resource: Any | None, name: str) -> Any:
    """The adapters' one way to a DynamoDB Table: of the injected resource, or of boto3's resource layer
    over the process's botocore session (data loaded once for clients and tables alike)."""
    return (resource if resource is not None else _dynamodb_resource()).Table(name)


def _dynamodb_resource() -> Any:
    global _resource
    # lazy: cold start — boto3 (its resource layer) loads only for the adapters that use Tables (the
    # deliver and sync functions), never on ingress's path.
    import boto3

    with _lock:
        session = _botocore_session()
        if boto3.DEFAULT_SESSION is not None and boto3.DEFAULT_SESSION._session is session:
            return boto3.DEFAULT_SESSION.resource("dynamodb")
        if _resource is None or _resource[0] is not session:
            _resource = (session, boto3.session.Session(botocore_session=session).resource("dynamodb"))
        return _resource[1]


def hot_path_client(service: str) -> Any:
    """A client for ingress's path (hot_path_config), made at the adapter's first request."""
    return client(service, config=hot_path_config())


def hot_path_config() -> Any:
    """Config of the clients on ingress's path: no client-side parameter validation. The service validates
    anyway, and these requests' shapes are fixed in this package and covered by the tests; botocore's walk
    of every parameter was a measurable part of ingress's own CPU per event."""
    return Config(parameter_validation=False)


class QueuePublisher:
    """Sends delivery tasks to the delivery queue (batches within SQS's limits, failures raised)."""

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = hot_path_client("sqs")
        return self._client

    @translated(QueueUnavailable)
    def publish(self, tasks: list[DeliveryTask]) -> None:
        # task_json: model_dump_json(exclude_none=True)'s text, without building pydantic's serializer
        bodies = [task_json(t) for t in tasks]
        if len(bodies) == 1:  # one route: the same one request, without a batch's per-entry envelope
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=bodies[0])
            return
        for chunk in batches(bodies):
            resp = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
            )
            failed = resp.get("Failed") or []
            if failed:
                codes = ", ".join(f"{f.get('Code')}" for f in failed)
                raise QueueUnavailable(f"{len(failed)} of {len(chunk)} messages not queued ({codes})")


class FifoPublisher(QueuePublisher):
    """Sends ordered tasks to the FIFO delivery queue (batches of 10, in the order given)."""

    @translated(QueueUnavailable)
    def publish_grouped(self, tasks: list[tuple[DeliveryTask, str]]) -> None:
        if not self.queue_url:
            raise QueueUnavailable("ordered routes need the ordered delivery queue (ORDERED_QUEUE_URL is not set)")
        entries = [(task_json(t), t, g) for t, g in tasks]
        for chunk in batches(entries, body=lambda entry: entry[0]):  # within the entry count and the byte limit
            resp = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "MessageBody": body, "MessageGroupId": g,
                          "MessageDeduplicationId": deduplication_id(t.event_id, t.log_route)}
                         for i, (body, t, g) in enumerate(chunk)],
            )
            failed = resp.get("Failed") or []
            if failed:
                codes = ", ".join(f"{f.get('Code')}" for f in failed)
                raise QueueUnavailable(f"{len(failed)} of {len(chunk)} ordered messages not queued ({codes})")


class PayloadStore:
    """Claim check: bodies too large for a queue message live in S3 under a content key."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        self._client = _client("s3", self._client)
        return self._client

    @translated(StoreUnavailable)
    def put(self, key: str, body: bytes, content_type: str | None = None) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                               ContentType=content_type or "application/octet-stream")
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise PayloadMissing(f"payload {key} is no longer in the bucket (expired or deleted)") from None
            raise StoreUnavailable(f"cannot read payload {key}: {code or type(e).__name__}") from None
        except BotoCoreError as e:  # the read of the body included: a timeout mid-stream is retryable too
            raise StoreUnavailable(f"cannot read payload {key}: {type(e).__name__}") from None


def _to_dynamo(value: Any) -> Any:
    # DynamoDB refuses floats: round-trip through Decimal.
    return json.loads(json.dumps(value), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    return value


def from_wire(item: dict[str, Any]) -> dict[str, Any]:
    """An item in DynamoDB's wire form (a low-level client's: {"S": ...}) as plain values (from_dynamo's)."""
    # lazy: cold start — boto3's deserializer imports boto3 (its resource layer, s3transfer); ingress reads an
    # item only when its write's condition failed (a duplicate, a copy), never for a first accepted event.
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return from_dynamo({k: deserializer.deserialize(v) for k, v in item.items()})


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
            self._table = table_of(self._resource, self.table_name)
        return self._table

    def _expires(self) -> int:
        return int(self._clock()) + self.ttl_seconds

    @translated(StoreUnavailable)
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
            UpdateExpression="SET " + ", ".join(sets) + clear_on_delivery(status, names),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_dynamo(values),
        )

    @translated(StoreUnavailable)
    def get(self, event_id: str) -> list[dict[str, Any]]:
        resp = self.table.query(KeyConditionExpression="event_id = :id",
                               ExpressionAttributeValues={":id": event_id})
        items = [_public(i) for i in resp.get("Items", [])]
        return items + list(not_yet_attempted(items))

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
        yield from not_yet_attempted(events, seen)


# Ingress's bookkeeping on the `#event` item (its idempotency record), not part of the log.
_ENTRY_ONLY = frozenset({"token", "queue_by", "queued", "body_sha256"})


def _public(raw: dict[str, Any]) -> dict[str, Any]:
    """An item as readers see it: without delivery's claim attributes (adapters/aws/claims.py) or ingress's
    record bookkeeping."""
    item = {k: v for k, v in from_dynamo(raw).items() if not k.startswith("idem_") and k not in _ENTRY_ONLY}
    if item.get("route") != EVENT_ITEM and "status" not in item and not str(item.get("route", "")).startswith("#"):
        item["status"] = "received"  # a claim taken, nothing recorded yet: delivery is in progress
    return item
