"""Events: the event log filtered like `hookline events`, and one event's timeline per route."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, render_template, request

from hookline.commands.events_search import DEFAULT_SINCE, SEARCH_STATUSES
from hookline.console.current import backend
from hookline.core.ports import EVENT_ITEM
from hookline.operations.archive_query import Search, WhereError, parse
from hookline.operations.dlq import DlqFilter
from hookline.operations.report import STATUSES, EventRow, list_events
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import parse_since

bp = Blueprint("events", __name__)
NAV = ("Events", "events.index")
LIMIT = 500


@bp.get("/events")
def index() -> str:
    args = request.args
    status = [s for s in args.getlist("status") if s]
    source = [s for s in args.getlist("source") if s]
    route = [r for r in args.getlist("route") if r]
    query = args.get("q", "").strip()
    since_text = args.get("since", "").strip()
    until_text = args.get("until", "").strip()
    problem = None
    since = until = None
    try:
        since = parse_since(since_text) if since_text else None
        until = parse_since(until_text) if until_text else None
    except ValueError as e:
        problem = str(e)
    where = args.get("where", "")  # as typed: an error's column counts from its first character
    if where.strip() and problem is None:
        return _search(where, since, until, status, source, route, since_text, until_text)
    items = backend().items()
    every = list_events(items)
    rows = list_events(items, status=status or None, source=source or None, route=route or None, since=since)
    if until is not None:
        rows = [r for r in rows if r.received_at is not None and r.received_at < until]
    if query:
        rows = [r for r in rows if query.lower() in r.event_id.lower()]
    total = len(rows)
    rows = list(reversed(rows))[:LIMIT]  # newest first
    return render_template(
        "events.html", rows=rows, total=total, limit=LIMIT, statuses=STATUSES, problem=problem, time_help=TIME_HELP,
        sources=sorted({r.source for r in every if r.source}), routes=sorted({r.route for r in every if r.route}),
        chosen={"status": status, "source": source, "route": route, "q": query, "since": since_text,
                "until": until_text, "where": ""})


def _search(where: str, since: float | None, until: float | None, status: list[str], source: list[str],
            route: list[str], since_text: str, until_text: str) -> str:
    """The search box: `hookline events search --where` over the event archive, with the form's other filters."""
    hits: list[Any] = []
    problem = None
    search = Search(where=where, since=since if since is not None else time.time() - DEFAULT_SINCE, until=until,
                    sources=tuple(source), routes=tuple(route), statuses=tuple(s for s in status if s in
                                                                               SEARCH_STATUSES), limit=LIMIT)
    try:
        parse(where)
        hits = backend().archive_search(search)
    except WhereError as e:
        problem = str(e)
    except Exception as e:  # the engine's or AWS's refusal, shown as the CLI words it
        problem = f"the archive could not be searched: {e}"
    return render_template(
        "events.html", rows=[], hits=hits, total=len(hits), limit=LIMIT, statuses=STATUSES, problem=problem,
        time_help=TIME_HELP, sources=sorted(source), routes=sorted(route),
        chosen={"status": status, "source": source, "route": route, "q": "", "since": since_text,
                "until": until_text, "where": where})


def timeline(row: EventRow) -> list[dict[str, Any]]:
    """received -> each attempt -> where it stands now (delivered, dead, stale, waiting...)."""
    steps: list[dict[str, Any]] = [{"kind": "received", "at": row.received_at, "label": "received"}]
    for n, attempt in enumerate(row.attempts, 1):
        steps.append({"kind": "attempt", "n": n, "at": attempt.get("at"), "status_code": attempt.get("status_code"),
                      "latency_ms": attempt.get("latency_ms"), "error": attempt.get("error"),
                      "outcome": attempt.get("outcome")})
    if row.status == "delivered":
        steps.append({"kind": "delivered", "at": row.delivered_at, "label": "delivered"})
    elif row.status in ("dead", "stale", "skipped", "unrouted"):
        # The event log keeps no time for the verdict itself: it came with the last attempt.
        last = row.attempts[-1].get("at") if row.attempts else None
        steps.append({"kind": row.status, "at": last, "label": row.status, "reason": row.reason,
                      "error": row.last_error})
    else:  # received / retrying / held: the next step has not happened yet
        steps.append({"kind": "pending", "at": None, "label": f"{row.status}: next attempt pending"})
    return steps


@bp.get("/events/<path:event_id>")
def detail(event_id: str) -> str:
    items = backend().event_items(event_id)
    if not items:
        abort(404, f"no event {event_id!r} in the event log (kept EVENT_LOG_TTL_SECONDS, 30 days by default)")
    event = next((i for i in items if i.get("route") == EVENT_ITEM), {})
    rows = list_events(items)
    # Payloads are kept only where an event waits: the DLQ (or the delivery queue, which the console
    # never reads, so that looking cannot delay a delivery).
    shown: dict[str | None, dict[str, Any]] = {}
    if any(r.status == "dead" for r in rows):
        for entry in backend().dlq_entries(DlqFilter.of(ids=[event_id])):
            shown[entry.route] = backend().shown_entry(entry)
    return render_template("event.html", event_id=event_id, event=event,
                           routes=[(r, timeline(r), shown.get(r.route)) for r in rows])
