"""`hookline events search`: the event archive, filtered by `--where` (docs/events.md).

Deployed, the query runs on Athena (the stack's workgroup and Glue table); on `hookline dev`, on DuckDB in
this process over the emulator's archive objects. The same question gives the same answer on both
(tests/unit/tools/test_archive_query.py).
"""

from __future__ import annotations

import argparse
import time

from hookline.commands._ops import CommandError, add_stack_arg, emit_json, friendly, stack_for, table
from hookline.operations.archive_query import Search, WhereError, parse
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import argparse_since, format_epoch

SEARCH_STATUSES = ("received", "delivered", "retrying", "dead")
DEFAULT_SINCE = 24 * 3600


def add_parser(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "search", help="find archived events by body, headers, type, source or time",
        description="Search the event archive (every accepted event, kept archive.retention_days). "
                    "EXPR: body.a.b, headers.NAME, type, source, received_at compared with = != < <= > >= "
                    "or contains, joined by and / or / not and parentheses; values are \"quoted\" strings, "
                    "numbers, true or false. Example: --where 'body.data.object.customer = \"cus_123\"'. "
                    "A field no event has matches nothing.")
    p.add_argument("--where", metavar="EXPR", help="the filter (default: every event)")
    p.add_argument("--since", type=argparse_since, metavar="T",
                   help=f"received at or after T (default 24h): {TIME_HELP}")
    p.add_argument("--source", action="append", metavar="S", help="only this source (repeatable)")
    p.add_argument("--route", action="append", metavar="R", help="only events for this route (repeatable)")
    p.add_argument("--status", action="append", choices=SEARCH_STATUSES, metavar="S",
                   help=f"only routes whose latest status is S (repeatable): {', '.join(SEARCH_STATUSES)}")
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N event lines (default 1000)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(p)
    p.set_defaults(func=run)


def search_of(args: argparse.Namespace, now: float) -> Search:
    if args.where:
        try:
            parse(args.where)  # before any AWS call: a typo costs nothing
        except WhereError as e:
            raise CommandError(str(e)) from None
    if args.limit < 1:
        raise CommandError("--limit: give 1 or more")
    return Search(where=args.where, since=args.since if args.since is not None else now - DEFAULT_SINCE,
                  sources=tuple(args.source or ()), routes=tuple(args.route or ()),
                  statuses=tuple(args.status or ()), limit=args.limit)


@friendly
def run(args: argparse.Namespace) -> int:
    search = search_of(args, time.time())
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations.archive_search import SearchFailed, engine_for

    try:
        found = engine_for(stack_for(args)).search(search)
    except SearchFailed as e:
        raise CommandError(str(e)) from None
    if args.json:
        emit_json([h.to_dict() for h in found])
        return 0
    if not found:
        print("No archived event matches." + ("" if args.since is not None else " (received in the last 24h; "
                                                                              "--since 7d looks further back)"))
        return 0
    table(["RECEIVED", "ID", "SOURCE", "TYPE", "ROUTE", "STATUS", "ATTEMPTS", "CODE"],
          [[format_epoch(h.received_at), h.id, h.source, h.type, route, r["status"], r["attempts"], r["status_code"]]
           for h in found for route, r in sorted(h.routes.items())], right=(6, 7))
    print(f"\n{len(found)} event(s)" + (f" (--limit {args.limit} reached)" if
                                        sum(len(h.routes) for h in found) >= args.limit else ""))
    return 0
