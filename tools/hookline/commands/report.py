"""`hookline report`: outcomes per route and in total (received, delivered, retried, dead, duplicates, latency)."""

from __future__ import annotations

import argparse

from hookline.commands._ops import add_stack_arg, emit_json, friendly, percent, stack_for, table
from hookline.commands.events import read_items
from hookline.operations.report import DEFINITIONS, Stats, summarize
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import argparse_since, format_duration, format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="outcomes: received, delivered, retried, dead, duplicates dropped, "
                                      "delivery latency p50/p95",
                       description="Whether the integrations pay off: outcome figures per route and in total, "
                                   "over the events in the event log (kept EVENT_LOG_TTL_SECONDS, 30 days by "
                                   "default).")
    p.add_argument("--since", type=argparse_since, metavar="T", help=f"events received at or after T: {TIME_HELP}")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout (with the definitions)")
    p.add_argument("--config", default=None, help="configuration whose review_by dates are checked (default: the "
                                                  "one `hookline dev` runs, else $HOOKLINE_CONFIG or ./hookline.yaml)")
    add_stack_arg(p)
    p.set_defaults(func=run)


def _row(s: Stats) -> list[object]:
    return [s.name, s.received, s.delivered, s.retried, s.dead, s.in_flight, s.duplicates, percent(s.error_rate),
            format_duration(s.p50), format_duration(s.p95)]


@friendly
def run(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    report = summarize(read_items(stack), since=args.since)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands.reviews import overdue

    reviews = overdue(args.config, stack)
    if args.json:
        emit_json({**report.to_dict(), "overdue_reviews": [r.to_dict() for r in reviews]})
        return 0
    window = f"events received since {format_epoch(args.since)}" if args.since is not None else "all events in the log"
    print(f"hookline report: {window}\n")
    rows = [_row(s) for _, s in sorted(report.routes.items())]
    table(["ROUTE", "RECEIVED", "DELIVERED", "RETRIED", "DEAD", "IN FLIGHT", "DUPLICATES", "ERROR RATE",
           "P50", "P95"], [*rows, _row(report.total)], right=range(1, 10))
    if report.unrouted:
        print(f"\n{report.unrouted} event(s) matched no route (hookline events --status unrouted).")
    if report.total.skipped:
        print(f"{report.total.skipped} delivery(ies) skipped on purpose (hookline events --status skipped).")
    if report.total.stale:
        print(f"{report.total.stale} stale update(s) not sent (hookline events --status stale).")
    if report.total.held:
        print(f"{report.total.held} delivery(ies) held by an open circuit breaker (hookline destinations).")
    if reviews:
        print(f"\n{len(reviews)} integration(s) past their review date (review_by:):")
        table(["KIND", "NAME", "OWNER", "REVIEW BY"], [[r.kind, r.name, r.owner, r.review_by.isoformat()]
                                                      for r in reviews])
    print("\nDefinitions:")
    for key in ("received", "delivered", "retried", "dead", "in_flight", "duplicates", "error_rate", "latency"):
        print(f"  {key.replace('_', ' ')}: {DEFINITIONS[key]}")
    return 0
