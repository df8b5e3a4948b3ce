"""The fan-out step, one copy for ingress and sync: envelope -> matching routes -> groups -> tasks -> queues.

- `match`: the routes whose `when` takes the envelope (the configuration's RouteIndex) and, for
  `ordered: true` routes, the FIFO MessageGroupId of the event's record key.
- `tasks`: one DeliveryTask per route. The body travels inline when it is small and one copy per
  route fits one SendMessageBatch; otherwise the payload store holds it once (claim check) and the
  tasks carry its key.
- `publish`: each task to its queue: an ordered route's to the FIFO queue in its record's group,
  the others to the standard queue.

Per-key ordering (delivery/ordering.py has the consuming side): an event whose key evaluates to
nothing gets a group of its own (`<route>#~<event id>`): it is not ordered against anything, and
blocks nothing. The deduplication id derives from `event_id:route`, so an ingress retry within
5 minutes is dropped by SQS itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hookline.core.config import HooklineConfig, RouteConfig
from hookline.core.errors import QueueUnavailable
from hookline.core.expressions import search as expr_search
from hookline.core.messages import MAX_BATCH_BYTES, DeliveryTask, task_json
from hookline.core.ports import OrderedTaskQueue, PayloadStore, TaskQueue
from hookline.observability import logger

MAX_GROUP_ID = 128
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]+$")


def record_key(expr: str | None, envelope: dict[str, Any]) -> str | None:
    """The route's record key for this envelope, as text (None when the expression finds nothing)."""
    if not expr:
        return None
    try:
        value = expr_search(expr, envelope)
    except Exception:  # a runtime type error in the expression: no key, as for a missing field
        return None
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def group_id(route: str, key: str | None, event_id: str) -> str:
    """`<route>#<key>`, hashed when it would not be a valid MessageGroupId (128 chars, printable ASCII)."""
    raw = f"{route}#{key}" if key is not None else f"{route}#~{event_id}"
    if len(raw) <= MAX_GROUP_ID and _GROUP_SAFE.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return f"{route[:MAX_GROUP_ID - 66]}#{digest}"


def deduplication_id(event_id: str, route: str) -> str:
    return hashlib.sha256(f"{event_id}:{route}".encode()).hexdigest()


def groups_for(routes: Iterable[RouteConfig], envelope: dict[str, Any], event_id: str) -> dict[str, str]:
    """{route name: MessageGroupId} for the ordered routes among `routes`."""
    return {r.name: group_id(r.name, record_key(r.key, envelope), event_id) for r in routes if r.ordered}


def filter_failed(route: RouteConfig, error: Exception) -> None:
    """`RouteIndex.matching`'s on_error: a runtime type error in a filter skips the route and is logged."""
    logger.warning("route filter failed; route skipped", extra={"route": route.name, "error": str(error)})


@dataclass(frozen=True)
class Matched:
    routes: list[str]  # names, in configuration order
    groups: dict[str, str]  # {route: MessageGroupId} for the ordered ones


def match(config: HooklineConfig, envelope: dict[str, Any]) -> Matched:
    """The routes of the envelope's source that take it, and the FIFO group of each ordered one."""
    matched = config.route_index.matching(envelope["source"], envelope, on_error=filter_failed)
    return Matched([r.name for r in matched], groups_for(matched, envelope, envelope["id"]))


def payload_key(source: str, event_id: str) -> str:
    return f"payloads/{source}/{hashlib.sha256(event_id.encode()).hexdigest()}"


def tasks(*, event_id: str, source: str, type: str | None, received_at: float, headers: dict[str, str],
          body: bytes, routes: list[str], payloads: PayloadStore, large_body_threshold: int,
          chain: str | None = None) -> list[DeliveryTask]:
    """One task per route; the body inline, or once in the payload store when it is large or the route
    copies would not fit one SendMessageBatch. No routes: no tasks, nothing stored."""
    if not routes:
        return []
    content_type = headers.get("content-type")

    def tasks_with(**fields: Any) -> list[DeliveryTask]:
        return [DeliveryTask.new(event_id=event_id, source=source, route=route, type=type, received_at=received_at,
                                 headers=headers, content_type=content_type, chain=chain, **fields)
                for route in routes]

    if len(body) <= large_body_threshold:
        text, encoding = DeliveryTask.encode_body(body)
        inline = tasks_with(body=text, body_encoding=encoding)
        if sum(len(task_json(t).encode()) for t in inline) <= MAX_BATCH_BYTES:
            return inline
    key = payload_key(source, event_id)
    payloads.put(key, body, content_type)
    return tasks_with(s3_key=key)


def publish(tasks: list[DeliveryTask], group_of: Callable[[DeliveryTask], str | None], publisher: TaskQueue,
            ordered_publisher: OrderedTaskQueue | None) -> None:
    """Each task to its queue: an ordered route's (it has a group) to the FIFO queue in its record's
    group, the others to the standard queue."""
    publisher.publish([t for t in tasks if group_of(t) is None])
    ordered = [(t, group) for t in tasks if (group := group_of(t)) is not None]
    if ordered:
        if ordered_publisher is None:
            raise QueueUnavailable("ordered routes need the ordered delivery queue (ORDERED_QUEUE_URL)")
        ordered_publisher.publish_grouped(ordered)
