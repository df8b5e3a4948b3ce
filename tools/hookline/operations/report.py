"""Outcome figures over the event log: pure functions over the items `EventLog.scan()` yields.

Item layout (docs/INTERNALS.md): one `#event` item per received event (`source`, `type`,
`received_at`, `routes`, `duplicates`) and one item per (event, route) (`status`,
`attempts`, `delivered_at`, `last_error`, `reason`, `source`, `received_at`).

The definitions below are printed by `hookline report` and returned in its JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hookline.core.ports import EVENT_ITEM

IN_FLIGHT = frozenset({"received", "retrying", "held"})
STATUSES = ("received", "retrying", "delivered", "dead", "stale", "held", "skipped", "unrouted")
UNROUTED = "unrouted"  # an event no route matched (shown by `events`, never delivered)

DEFINITIONS = {
    "received": "per route: events that matched the route; total: distinct events accepted "
                "(including events no route matched), counted once however many routes they fan out to",
    "delivered": "(event, route) deliveries answered 2xx",
    "retried": "deliveries that took more than one attempt, whatever their outcome",
    "retries": "attempts beyond the first, summed",
    "dead": "deliveries dead-lettered (retries exhausted or a permanent failure); replayed ones count "
            "again once delivered",
    "in_flight": "deliveries not finished yet (received, retrying or held)",
    "stale": "deliveries not sent because their version was not newer than the last delivered one (routes[].version)",
    "held": "deliveries held (not attempted) while their destination's circuit breaker is open; also in in_flight",
    "skipped": "deliveries the deliver function skipped on purpose",
    "duplicates": "copies of an already received event dropped at ingress (per route: of events that matched it)",
    "error_rate": "dead / (delivered + dead): the share of finished deliveries that failed",
    "latency": "end to end, delivered_at - received_at of each delivered (event, route), including retries; "
               "p50/p95 by the nearest-rank method",
}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Stats:
    name: str
    received: int = 0
    delivered: int = 0
    retried: int = 0
    retries: int = 0
    dead: int = 0
    in_flight: int = 0
    skipped: int = 0
    stale: int = 0
    held: int = 0
    duplicates: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def error_rate(self) -> float | None:
        finished = self.delivered + self.dead
        return self.dead / finished if finished else None

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.latencies, 95)

    def add_delivery(self, item: dict[str, Any], received_at: float | None) -> None:
        status = item.get("status")
        attempts = len(item.get("attempts") or [])
        if attempts > 1:
            self.retried += 1
            self.retries += attempts - 1
        if status == "delivered":
            self.delivered += 1
            delivered_at = _float(item.get("delivered_at"))
            if delivered_at is not None and received_at is not None:
                self.latencies.append(max(0.0, delivered_at - received_at))
        elif status == "dead":
            self.dead += 1
        elif status == "skipped":
            self.skipped += 1
        elif status == "stale":
            self.stale += 1
        elif status in IN_FLIGHT:
            self.in_flight += 1
            self.held += status == "held"

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received, "delivered": self.delivered, "retried": self.retried,
            "retries": self.retries, "dead": self.dead, "in_flight": self.in_flight, "skipped": self.skipped,
            "stale": self.stale, "held": self.held,
            "duplicates": self.duplicates, "error_rate": self.error_rate,
            "latency_p50_seconds": self.p50, "latency_p95_seconds": self.p95, "latency_samples": len(self.latencies),
        }


@dataclass
class Report:
    since: float | None
    routes: dict[str, Stats]
    total: Stats
    unrouted: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "routes": {name: s.to_dict() for name, s in sorted(self.routes.items())},
            "total": {**self.total.to_dict(), "unrouted": self.unrouted},
            "definitions": DEFINITIONS,
        }


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _split(items: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    events: dict[str, dict[str, Any]] = {}
    deliveries: list[dict[str, Any]] = []
    for item in items:
        if str(item.get("event_id", "")).startswith("#sync:"):
            continue  # a sync's state (hookline.adapters.aws.sync_state), not an event
        if item.get("route") == EVENT_ITEM:
            events[item["event_id"]] = item
        else:
            deliveries.append(item)
    return events, deliveries


def _received_at(item: dict[str, Any], events: dict[str, dict[str, Any]]) -> float | None:
    at = _float(item.get("received_at"))
    if at is None:
        at = _float(events.get(item.get("event_id", ""), {}).get("received_at"))
    return at


def _in_window(at: float | None, since: float | None) -> bool:
    return since is None or (at is not None and at >= since)


def summarize(items: Iterable[dict[str, Any]], since: float | None = None) -> Report:
    """Per route and in total, over events received at or after `since` (all when None)."""
    events, deliveries = _split(items)
    routes: dict[str, Stats] = {}
    total = Stats("TOTAL")
    seen_events: set[str] = set()
    for item in deliveries:
        at = _received_at(item, events)
        if not _in_window(at, since):
            continue
        stats = routes.setdefault(item["route"], Stats(item["route"]))
        stats.received += 1
        stats.add_delivery(item, at)
        total.add_delivery(item, at)
        seen_events.add(item["event_id"])
    unrouted = 0
    for event_id, event in events.items():
        if not _in_window(_float(event.get("received_at")), since):
            continue
        seen_events.add(event_id)
        duplicates = int(event.get("duplicates") or 0)
        total.duplicates += duplicates
        matched = event.get("routes") or []
        if not matched:
            unrouted += 1
        for name in matched:
            if name in routes:
                routes[name].duplicates += duplicates
    total.received = len(seen_events)
    return Report(since=since, routes=routes, total=total, unrouted=unrouted)


@dataclass
class EventRow:
    event_id: str
    route: str | None
    source: str | None
    type: str | None
    status: str
    attempts: list[dict[str, Any]]
    received_at: float | None
    delivered_at: float | None = None
    last_error: str | None = None
    reason: str | None = None

    @property
    def latency(self) -> float | None:
        if self.delivered_at is None or self.received_at is None:
            return None
        return max(0.0, self.delivered_at - self.received_at)

    @property
    def last_status_code(self) -> int | None:
        for attempt in reversed(self.attempts):
            if attempt.get("status_code") is not None:
                return int(attempt["status_code"])
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.event_id, "route": self.route, "source": self.source, "type": self.type,
            "status": self.status, "attempts": len(self.attempts), "last_status_code": self.last_status_code,
            "received_at": self.received_at, "delivered_at": self.delivered_at, "latency_seconds": self.latency,
            "last_error": self.last_error, "reason": self.reason, "attempt_history": self.attempts,
        }


def list_events(items: Iterable[dict[str, Any]], status: Iterable[str] | None = None,
                source: Iterable[str] | None = None, route: Iterable[str] | None = None,
                since: float | None = None, event_id: Iterable[str] | None = None) -> list[EventRow]:
    """One row per (event, route), plus one per event no route matched (status `unrouted`); oldest first."""
    statuses, sources, routes, ids = (set(v) if v else None for v in (status, source, route, event_id))
    events, deliveries = _split(items)
    rows: list[EventRow] = []
    for item in deliveries:
        event = events.get(item["event_id"], {})
        rows.append(EventRow(
            event_id=item["event_id"], route=item["route"], source=item.get("source") or event.get("source"),
            type=event.get("type"), status=str(item.get("status") or "received"),
            attempts=list(item.get("attempts") or []), received_at=_received_at(item, events),
            delivered_at=_float(item.get("delivered_at")), last_error=item.get("last_error"),
            reason=item.get("reason"),
        ))
    for event_id, event in events.items():
        if not event.get("routes"):
            rows.append(EventRow(event_id=event_id, route=None, source=event.get("source"), type=event.get("type"),
                                 status=UNROUTED, attempts=[], received_at=_float(event.get("received_at"))))
    out = [r for r in rows
           if (statuses is None or r.status in statuses)
           and (sources is None or r.source in sources)
           and (routes is None or r.route in routes)
           and (ids is None or r.event_id in ids)
           and _in_window(r.received_at, since)]
    out.sort(key=lambda r: (r.received_at or 0.0, r.event_id, r.route or ""))
    return out
