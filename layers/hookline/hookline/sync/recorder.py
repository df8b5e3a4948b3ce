"""Record a page of pulled records once per version and queue them, with few AWS requests.

Per page (N records, R matching routes each), in this order:

1. BatchGetItem (100 keys a request): the versions already in the event log. Queued ones are
   `unchanged`; claimed by a live run that is not this one: left to it (`unchanged` too).
2. A conditional PutItem per remaining version (the claim, see state.py): the one write that
   makes "overlapping runs never queue a version twice" hold. A lost race = unchanged.
3. SendMessageBatch: up to 10 tasks a request within SQS's 256 KiB batch limit
   (`fanout.publish`, as at ingress: an `ordered: true` route's tasks to the FIFO queue in their
   record key's group; large records go to the payload bucket). No route
   items: as for a webhook, readers show each of the claim's `routes` as received until delivery
   writes its own item.
4. BatchWriteItem: mark the claims `queued`.

A crash between 2 and 4 leaves claims without `queued`: the same run, resumed from its
checkpoint, takes them back at once; any other run after `claim_seconds`. Queueing a task twice
that way is harmless: delivery is once per event and route (its own idempotency record).

A version seen again has its event item's TTL renewed (batched, at most once per half TTL), so
a sync that re-reads everything on each run never delivers an unchanged record again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hookline.core import fanout, ports
from hookline.core.config import HooklineConfig, SyncConfig
from hookline.core.envelope import build_envelope
from hookline.core.messages import DeliveryTask
from hookline.sync.runner import record_identity


@dataclass
class PageCounts:
    queued: int = 0
    unchanged: int = 0


class Recorder:
    def __init__(self, config: HooklineConfig, store: ports.SyncStateStore, publisher: ports.TaskQueue,
                 payloads: ports.PayloadStore, *,
                 large_body_threshold: int = 200 * 1024, event_log_ttl_seconds: int = 30 * 24 * 3600,
                 claim_seconds: float = 900.0, clock: Callable[[], float] = time.time,
                 ordered_publisher: ports.OrderedTaskQueue | None = None) -> None:
        self.config = config
        self.store = store
        self.publisher = publisher
        self.ordered_publisher = ordered_publisher
        self.payloads = payloads
        self.large_body_threshold = large_body_threshold
        self.ttl = event_log_ttl_seconds
        self.claim_seconds = claim_seconds
        self.clock = clock

    def record_page(self, name: str, sync: SyncConfig, records: list[Any], run_id: str) -> PageCounts:
        counts = PageCounts()
        if not records:
            return counts
        now = self.clock()
        by_id: dict[str, tuple[Any, str]] = {}
        for record in records:
            event_id, version = record_identity(name, sync, record)
            if event_id in by_id:
                counts.unchanged += 1  # the same version twice on one page
            by_id[event_id] = (record, version)
        known = self.store.lookup(list(by_id))
        fresh: list[tuple[str, Any, str]] = []
        refresh: list[dict[str, Any]] = []
        for event_id, (record, version) in by_id.items():
            item = known.get(event_id)
            if item is not None and (item.get("queued") or (
                    item.get("claim_run") != run_id and float(item.get("claim_until") or 0) >= now)):
                counts.unchanged += 1
                # A version seen again keeps its record from expiring (TTL), so a sync that re-reads
                # everything never re-delivers it; rewritten at most once per half TTL.
                if item.get("queued") and float(item.get("expires_at") or 0) < now + self.ttl / 2:
                    refresh.append({**item, "expires_at": int(now) + self.ttl})
            else:
                fresh.append((event_id, record, version))
        self.store.write(refresh)
        claimed: list[tuple[dict[str, Any], list[DeliveryTask]]] = []
        groups: dict[tuple[str, str], str] = {}
        for event_id, record, version in fresh:
            item, tasks, event_groups = self._event(name, sync, event_id, record, version, now)
            if self.store.claim(item, run_id, now + self.claim_seconds):
                claimed.append((item, tasks))
                groups.update({(event_id, route): g for route, g in event_groups.items()})
            else:
                counts.unchanged += 1
        if not claimed:
            return counts
        fanout.publish([t for _, event_tasks in claimed for t in event_tasks],
                         lambda t: groups.get((t.event_id, t.route)), self.publisher, self.ordered_publisher)
        self.store.write([{**item, "queued": True} for item, _ in claimed])
        counts.queued = len(claimed)
        return counts

    def _event(self, name: str, sync: SyncConfig, event_id: str, record: Any, version: str,
               now: float) -> tuple[dict[str, Any], list[DeliveryTask], dict[str, str]]:
        raw = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "x-hookline-sync": name}
        envelope = build_envelope(event_id=event_id, source=sync.source, received_at=now, headers=headers,
                                  type=sync.type, body=record)
        matched = fanout.match(self.config, envelope)
        tasks = fanout.tasks(event_id=event_id, source=sync.source, type=sync.type, received_at=now,
                             headers=headers, body=raw, routes=matched.routes, payloads=self.payloads,
                             large_body_threshold=self.large_body_threshold)
        item = {"event_id": event_id, "route": ports.EVENT_ITEM, "source": sync.source, "type": sync.type,
                "received_at": now, "routes": matched.routes, "expires_at": int(now) + self.ttl, "duplicates": 0,
                "sync": name, "version": version}
        return item, tasks, matched.groups
