"""`hookline events show ID`: one event's lines in the event log, each route's delivery and each re-send's."""

from __future__ import annotations

import argparse
import re

from hookline.commands._ops import CommandError, add_stack_arg, emit_json, friendly, shorten, stack_for, table
from hookline.operations.report import list_events
from hookline.operations.timeparse import format_duration, format_epoch

_RESEND = re.compile(r"^(?P<route>[^#]+)#(?P<resend>resend-[0-9]+)$")


def add_parser(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser("show", help="one event: each route's delivery and each re-send of it",
                           description="The event log's lines for one event: the original delivery per route and "
                                       "every re-send (`hookline events resend`), each with its own "
                                       "Idempotency-Key.")
    p.add_argument("id", metavar="ID", help="the event id")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(p)
    p.set_defaults(func=run)


@friendly
def run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.adapters.aws.stores import EventLog

    stack = stack_for(args)
    items = EventLog(stack.output("EventsTableName"), resource=stack.resource("dynamodb")).get(args.id)
    rows = list_events(items)
    if not rows:
        raise CommandError(f"no event {args.id!r} in the event log (kept EVENT_LOG_TTL_SECONDS, 30 days by default); "
                           "`hookline events search --where` looks in the archive")
    lines = []
    for r in rows:
        m = _RESEND.match(r.route or "")
        lines.append({**r.to_dict(), "resend_of": m["route"] if m else None, "resend": m["resend"] if m else None,
                      "idempotency_key": f"{r.event_id}:{r.route}" if r.route else None})
    if args.json:
        emit_json(lines)
        return 0
    first = rows[0]
    print(f"event {args.id} · source {first.source or '-'} · type {first.type or '-'} · "
          f"received {format_epoch(first.received_at)}\n")
    table(["ROUTE", "DELIVERY", "STATUS", "ATTEMPTS", "CODE", "LATENCY", "IDEMPOTENCY-KEY", "LAST ERROR"],
          [[line["resend_of"] or line["route"] or "-", line["resend"] or "original", r.status, len(r.attempts),
            r.last_status_code, format_duration(r.latency), line["idempotency_key"] or "-",
            "-" if r.status == "delivered" else shorten(r.last_error or r.reason, 40)]
           for line, r in zip(lines, rows, strict=True)], right=(3, 4, 5))
    return 0
