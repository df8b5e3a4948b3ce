"""Re-send archived events (`hookline events resend`, the console's re-send): each is a new delivery.

A re-send queues a DeliveryTask as fan-out does (core/fanout.py: the same queues, an ordered route's in
its record's FIFO group), marked `resend: resend-<n>`. The delivery engine then claims, keys and logs it
as `<route>#resend-<n>` (DeliveryTask.log_route): its own Idempotency-Key (`<event id>:<route>#resend-<n>`),
its own event log entry beside the original's (which stays as it was), and a re-send of a re-send takes
the next number. Everything else is any event's delivery: the route's mapping and enrichment, the
guards (an ordered route's older version is `stale` unless `force`), retries and the DLQ.

The body comes from the archive's event line (core/archive.py), as archived: the fields the archive
redacted are sent redacted (`***`); a body over the inline limit comes from the payload store while
it is still there. The loop, its rate, progress and interruption are the DLQ replay's (operations/dlq.py
`replay`): each task is wrapped in a DlqEntry whose `delete` does nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hookline.core.archive import day
from hookline.core.dlq import DlqEntry
from hookline.core.messages import DeliveryTask
from hookline.operations.dlq import ReplayError, ReplaySummary, replay

NOT_QUEUED = "resend_not_queued"  # the event log's reason for a re-send the queue refused
RESEND_REASON = "resend"  # the wrapped entries' reason: what `replay`'s results name
_RESEND = re.compile(r"#resend-([0-9]+)$")
# The archive's event lines for some ids: `{table}` is the engine's table, each `?` an id (never in the SQL).
EVENT_LINES_SQL = ("SELECT DISTINCT id, source, type, route, received_at, headers, body, body_encoding, s3_key "
                   "FROM {table} WHERE kind = 'event' AND id IN ({marks})")


class ResendError(Exception):
    """A re-send that cannot be made as asked: what was wrong, and what to do."""


@dataclass
class ArchivedEvent:
    """An event as its archive lines keep it: enough to queue it again."""

    id: str
    source: str
    type: str | None
    received_at: float
    headers: dict[str, str]
    body: str | None  # JSON text (body_encoding json), or a JSON string of the text / its base64
    body_encoding: str
    s3_key: str | None
    routes: list[str] = field(default_factory=list)  # the routes it was queued for (re-sends' lines left out)

    def raw_body(self, load_payload: Callable[[str], bytes] | None) -> bytes:
        if self.s3_key is not None:
            if load_payload is None:
                raise ResendError(f"event {self.id}: its body is in the payload store ({self.s3_key}), which this "
                                  "stack does not name (output PayloadBucketName)")
            try:
                return load_payload(self.s3_key)
            except Exception as e:
                raise ResendError(f"event {self.id}: its body is no longer in the payload store ({e}); the archive "
                                  "keeps only the fields of a body over the inline limit") from None
        if self.body is None:
            raise ResendError(f"event {self.id}: the archive kept no body (over Firehose's record limit)")
        value = json.loads(self.body)
        if self.body_encoding == "json":
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        if self.body_encoding == "base64":
            return base64.b64decode(value)
        return str(value).encode()


def archived_events(engine: Any, ids: Iterable[str], since: float | None = None) -> dict[str, ArchivedEvent]:
    """{id: ArchivedEvent} for the ids the archive holds (an id it does not hold is absent)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    sql = EVENT_LINES_SQL.replace("{marks}", ", ".join("?" for _ in wanted))
    params: list[Any] = list(wanted)
    if since is not None:  # Athena reads only the days' partitions from `since` on (dt is projected)
        sql += " AND dt >= ?"
        params.append(day(since))
    kwargs = {"since": since} if hasattr(engine, "connect") else {}
    out: dict[str, ArchivedEvent] = {}
    for row in engine.query(sql, params, **kwargs):
        route = str(row.get("route") or "")
        event = out.get(row["id"])
        if event is None:
            event = out[row["id"]] = ArchivedEvent(
                id=row["id"], source=row["source"], type=row.get("type") or None,
                received_at=float(row["received_at"]), headers=json.loads(row.get("headers") or "{}"),
                body=row.get("body"), body_encoding=row.get("body_encoding") or "json",
                s3_key=row.get("s3_key") or None)
        if route and "#" not in route and route not in event.routes:
            event.routes.append(route)
    for event in out.values():
        event.routes.sort()
    return out


def next_resend(log_items: Iterable[dict[str, Any]], route: str) -> str:
    """`resend-<n>`: one more than the route's highest re-send in the event's log entries."""
    taken = [int(m.group(1)) for item in log_items
             if str(item.get("route", "")).startswith(f"{route}#") and (m := _RESEND.search(str(item["route"])))]
    return f"resend-{max(taken, default=0) + 1}"


def routes_for(event: ArchivedEvent, config: Any, *, route: str | None = None, to: str | None = None) -> list[str]:
    """The routes a re-send goes through: `route`, or the event's routes whose destination is `to`, or all of
    the event's routes (those still configured)."""
    configured = {r.name: r for r in config.routes}
    if route is not None:
        if route not in configured:
            raise ResendError(f"--route {route}: no such route in the configuration "
                              f"(routes: {', '.join(sorted(configured)) or 'none'})")
        if configured[route].source != event.source:
            raise ResendError(f"--route {route} takes source {configured[route].source!r}; event {event.id} came "
                              f"from {event.source!r}")
        return [route]
    of_source = [name for name, r in configured.items() if r.source == event.source]
    if to is not None:
        if to not in config.destinations:
            raise ResendError(f"--to {to}: no such destination "
                              f"(destinations: {', '.join(sorted(config.destinations))})")
        chosen = [name for name in of_source if configured[name].destination == to]
        if not chosen:
            raise ResendError(f"--to {to}: no route of source {event.source!r} delivers to it; a re-send goes through "
                              "a route (its mapping and guards): add one, or pick --route")
        return chosen
    chosen = [name for name in event.routes if name in configured]
    if not chosen:
        raise ResendError(f"event {event.id} was queued for {', '.join(event.routes) or 'no route'}, none of which "
                          "is configured now; pick one with --route")
    return chosen


def build_task(event: ArchivedEvent, route: str, resend: str, raw: bytes, *, force: bool = False,
               large_body_threshold: int = 200 * 1024,
               put_payload: Callable[[bytes, str | None], str] | None = None) -> DeliveryTask:
    """The re-send's DeliveryTask: the body inline, or (large) in the payload store as fan-out puts it."""
    fields: dict[str, Any] = {
        "event_id": event.id, "source": event.source, "route": route, "type": event.type,
        "received_at": event.received_at, "headers": event.headers,
        "content_type": event.headers.get("content-type"), "resend": resend, "force": force or None}
    if event.s3_key is not None:
        return DeliveryTask(**fields, s3_key=event.s3_key)
    if len(raw) > large_body_threshold and put_payload is not None:
        return DeliveryTask(**fields, s3_key=put_payload(raw, fields["content_type"]))
    text, encoding = DeliveryTask.encode_body(raw)
    return DeliveryTask(**fields, body=text, body_encoding=encoding)


def entry_of(task: DeliveryTask) -> DlqEntry:
    """The task as the DLQ replay's loop and dry-run preview take it."""
    return DlqEntry(message_id=f"{task.event_id}:{task.log_route}", receipt_handle=None,
                    body=task.model_dump_json(exclude_none=True), task=task, event_id=task.event_id,
                    source=task.source, route=task.route, reason=RESEND_REASON)


class QueueTarget:
    """`replay`'s target for re-sends: `send` queues the task as fan-out does; there is nothing to delete."""

    def __init__(self, publish: Callable[[list[DeliveryTask]], None]) -> None:
        self._publish = publish

    def send(self, entry: DlqEntry) -> None:
        try:
            self._publish([entry.task] if entry.task is not None else [])
        except Exception as e:  # the queue refused it: that entry fails, the loop goes on (and stops after 5)
            raise ReplayError(str(e)) from e

    def delete(self, entry: DlqEntry) -> None:
        return None


def fanout_publisher(config: Any, publisher: Any, ordered_publisher: Any | None,
                     load_payload: Callable[[str], bytes] | None = None) -> Callable[[list[DeliveryTask]], None]:
    """Publish tasks as fan-out does: an ordered route's to the FIFO queue in its record's group."""
    # lazy: every `hookline` run imports the command modules; only a re-send parses bodies.
    from hookline.core.envelope import build_envelope, parse_body
    from hookline.core.fanout import groups_for, publish

    def run(tasks: list[DeliveryTask]) -> None:
        def group_of(task: DeliveryTask) -> str | None:
            route = config.route(task.route)
            if not route.ordered:
                return None
            if task.body is not None:
                raw = task.inline_body()
            elif load_payload is not None and task.s3_key is not None:
                raw = load_payload(task.s3_key)
            else:  # the record key cannot be read: a group of its own, as fan-out gives a keyless event
                return groups_for([route], {}, task.event_id)[route.name]
            source = config.sources.get(task.source)
            body = parse_body(raw, task.content_type, source.format if source is not None else "auto")
            envelope = build_envelope(event_id=task.event_id, source=task.source, type=task.type,
                                      received_at=task.received_at, headers=task.headers, body=body)
            return groups_for([route], envelope, task.event_id)[route.name]

        publish(tasks, group_of, publisher, ordered_publisher)

    return run


def resend(tasks: list[DeliveryTask], publish: Callable[[list[DeliveryTask]], None], **options: Any) -> ReplaySummary:
    """Queue each task at `rate` (options go to operations.dlq.replay: rate, progress, sleep, clock, dry_run)."""
    return replay([entry_of(t) for t in tasks], QueueTarget(publish), **options)


@dataclass
class Plan:
    """What a re-send will queue: one task per (event, route), and the events it cannot re-send with why."""

    tasks: list[DeliveryTask] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # {event id: what is wrong, and what to do}


def plan(ids: Iterable[str], events: dict[str, ArchivedEvent], config: Any, *,
         log_items: Callable[[str], list[dict[str, Any]]], route: str | None = None, to: str | None = None,
         force: bool = False, load_payload: Callable[[str], bytes] | None = None,
         put_payload: Callable[[bytes, str | None], str] | None = None) -> Plan:
    """Each id's re-send tasks, numbered after the re-sends its event log entries already name."""
    out = Plan()
    for event_id in dict.fromkeys(ids):
        event = events.get(event_id)
        if event is None:
            out.problems[event_id] = ("not in the archive (kept archive.retention_days; look further back with "
                                      "--since, or find it with `hookline events search`)")
            continue
        try:
            names = routes_for(event, config, route=route, to=to)
            raw = event.raw_body(load_payload)
            items = log_items(event_id)
            out.tasks += [build_task(event, name, next_resend(items, name), raw, force=force, put_payload=put_payload)
                          for name in names]
        except ResendError as e:
            out.problems[event_id] = str(e)
    return out


def logging_publisher(publish: Callable[[list[DeliveryTask]], None], record: Callable[..., None],
                      clock: Callable[[], float]) -> Callable[[list[DeliveryTask]], None]:
    """Write each re-send's event log entry (`<route>#resend-<n>`, status received) as it is queued: `hookline
    events --id ID` lists it at once, and the next re-send takes the next number. A task the queue refused
    is marked dead with reason `resend_not_queued` (it will never be delivered), and the error raised."""
    def run(tasks: list[DeliveryTask]) -> None:
        for t in tasks:
            record(event_id=t.event_id, route=t.log_route, status="received", source=t.source,
                   received_at=t.received_at, resent_at=clock(), resend_of=t.route)
        try:
            publish(tasks)
        except Exception as e:
            for t in tasks:
                record(event_id=t.event_id, route=t.log_route, status="dead", reason=NOT_QUEUED, last_error=str(e))
            raise

    return run


def payload_putter(store: Any) -> Callable[[bytes, str | None], str]:
    """Where a large re-sent body goes: the payload store, keyed by its digest (the same body, one object)."""
    def put(raw: bytes, content_type: str | None) -> str:
        return store.put(f"payloads/resend/{hashlib.sha256(raw).hexdigest()}", raw, content_type)

    return put


def stack_publisher(stack: Any, config: Any, load_payload: Callable[[str], bytes] | None,
                    clock: Callable[[], float]) -> Callable[[list[DeliveryTask]], None]:
    """The stack's delivery queues (ordered routes' FIFO one too), each re-send logged as it is queued."""
    # lazy: boto3 (the adapters) loads only when a re-send is queued, not for a dry run or a test.
    from hookline.adapters.aws.stores import EventLog, FifoPublisher, QueuePublisher

    sqs = stack.client("sqs")
    ordered = stack.outputs.get("OrderedDeliveryQueueUrl")
    log = EventLog(stack.output("EventsTableName"), resource=stack.resource("dynamodb"))
    return logging_publisher(fanout_publisher(config, QueuePublisher(stack.output("DeliveryQueueUrl"), client=sqs),
                                              FifoPublisher(ordered, client=sqs) if ordered else None, load_payload),
                             log.record_attempt, clock)
