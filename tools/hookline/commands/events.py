"""`hookline events`: the event log, one line per (event, route): status, attempts, latency, last error."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

from hookline.commands import events_resend, events_search, events_show
from hookline.commands._ops import add_stack_arg, emit_json, friendly, shorten, stack_for, table
from hookline.operations.report import STATUSES, list_events
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import argparse_since, format_duration, format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="event log: received / delivered / retrying / dead, attempts",
                       description="One line per event and route, oldest first. Events no route matched "
                                   "are listed with status 'unrouted'.")
    p.add_argument("--status", action="append", choices=STATUSES, metavar="S",
                   help=f"only this status (repeatable): {', '.join(STATUSES)}")
    p.add_argument("--source", action="append", metavar="S", help="only this source (repeatable)")
    p.add_argument("--route", action="append", metavar="R", help="only this route (repeatable)")
    p.add_argument("--id", action="append", metavar="ID", help="only this event id (repeatable)")
    p.add_argument("--since", type=argparse_since, metavar="T", help=f"received at or after T: {TIME_HELP}")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the N most recent lines")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(p)
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="events_command", metavar="{search,resend,show}", title="archive")
    events_search.add_parser(actions)
    events_resend.add_parser(actions)
    events_show.add_parser(actions)


def read_items(stack: StackInfo) -> list[dict[str, Any]]:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.adapters.aws.stores import EventLog

    return list(EventLog(stack.output("EventsTableName"), resource=stack.resource("dynamodb")).scan())


@friendly
def run(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    rows = list_events(read_items(stack), status=args.status, source=args.source, route=args.route,
                       since=args.since, event_id=args.id)
    total = len(rows)
    if args.limit is not None:
        rows = rows[-args.limit:] if args.limit > 0 else []
    if args.json:
        emit_json([r.to_dict() for r in rows])
        return 0
    if not rows:
        print("No events match." if total == 0 else f"{total} event line(s) match; none shown (--limit 0).")
        return 0
    table(["RECEIVED", "ID", "SOURCE", "TYPE", "ROUTE", "STATUS", "ATTEMPTS", "CODE", "LATENCY", "LAST ERROR"],
          [[format_epoch(r.received_at), r.event_id, r.source, r.type, r.route, r.status, len(r.attempts),
            r.last_status_code, format_duration(r.latency),
            # A delivered line keeps its earlier failure in --json only: here it would read as current.
            "-" if r.status == "delivered" else shorten(r.last_error or r.reason, 50)] for r in rows],
          right=(6, 7, 8))
    counts = Counter(r.status for r in rows)
    shown = f"{len(rows)} of {total}" if len(rows) != total else str(total)
    print(f"\n{shown} line(s): " + ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]))
    if counts["dead"]:
        print("Dead events wait in the DLQ: hookline dlq list")
    return 0
