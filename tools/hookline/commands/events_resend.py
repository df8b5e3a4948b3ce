"""`hookline events resend`: archived events delivered again, each as a new delivery (operations/resend.py).

One event by id, or many by `--where` (the search language) with a confirmation, at `--rate`, with the DLQ
replay's progress bar and summary. `--dry-run` shows each re-send's request line and mapped body (with the
route's enrichment answered by --mock or --live, as `hookline dlq replay --dry-run`), and queues nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from hookline.commands._ops import CommandError, add_stack_arg, emit_json, friendly, shorten, stack_for, table
from hookline.commands.dlq import _enrichment, _load_config, _pretty, _rate
from hookline.commands.map_try import MOCK_HELP
from hookline.operations.archive_query import Search, WhereError, parse
from hookline.operations.dlq import SENT, preview_mapping, redact
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import argparse_since

DEFAULT_SINCE = 24 * 3600


def add_parser(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser(
        "resend", help="deliver archived events again (a new delivery each)",
        description="Queues archived events for delivery again through their routes (mapping, enrichment, "
                    "guards, retries, DLQ as any event). Each re-send is a new delivery: Idempotency-Key "
                    "<event id>:<route>#resend-<n> and its own line in `hookline events --id ID`; the original's "
                    "stays as it was. The body is the archived one: fields the archive redacted go as ***.")
    p.add_argument("id", nargs="?", metavar="ID", help="the event id (or use --where)")
    p.add_argument("--where", metavar="EXPR", help="re-send every archived event this filter matches "
                                                   "(the language of `hookline events search`)")
    p.add_argument("--since", type=argparse_since, metavar="T",
                   help=f"with --where, received at or after T (default 24h): {TIME_HELP}")
    p.add_argument("--source", action="append", metavar="S", help="with --where, only this source (repeatable)")
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="with --where, at most N events")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--route", metavar="R", help="only through this route (default: the event's routes)")
    target.add_argument("--to", metavar="DESTINATION", help="only through the event's routes to this destination")
    p.add_argument("--force", action="store_true",
                   help="an ordered route's older version is sent anyway (else it is stale, not sent)")
    p.add_argument("--rate", type=_rate, default=None, metavar="N/s",
                   help="at most N events per second (e.g. 20/s, 600/m); default: as fast as possible")
    p.add_argument("--yes", action="store_true", help="do not ask before a --where re-send")
    p.add_argument("--dry-run", action="store_true",
                   help="show each re-send's request line and mapped body (enrichment answered by --mock or "
                        "--live); nothing is queued")
    p.add_argument("--mock", action="append", default=[], metavar="NAME=FILE|STATUS",
                   help=f"with --dry-run, {MOCK_HELP}, as in `hookline map try`")
    p.add_argument("--live", action="store_true",
                   help="with --dry-run, call the enrichment steps' destinations for real (never the delivery)")
    p.add_argument("--config", default=None, help="the configuration (default: the running `hookline dev`'s, "
                                                  "else $HOOKLINE_CONFIG or ./hookline.yaml)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    add_stack_arg(p)
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    if (args.id is None) == (args.where is None):
        raise CommandError("give an event ID or --where EXPR (one of them)")
    if args.where is not None:
        try:
            parse(args.where)  # before any AWS call: a typo costs nothing
        except WhereError as e:
            raise CommandError(str(e)) from None
    if (args.mock or args.live) and not args.dry_run:
        raise CommandError("--mock and --live answer the enrichment steps of a --dry-run; add --dry-run")
    if args.limit < 1:
        raise CommandError("--limit: give 1 or more")


class Stack:
    """The stack's parts a re-send reads (built lazily: the imports cost ~0.5 s on every `hookline` run)."""

    def __init__(self, stack: StackInfo) -> None:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.adapters.aws.stores import EventLog, PayloadStore
        from hookline.operations.archive_search import engine_for

        self.info = stack
        self.engine = engine_for(stack)
        self.log = EventLog(stack.output("EventsTableName"), resource=stack.resource("dynamodb"))
        self.payloads = PayloadStore(stack.outputs["PayloadBucketName"], client=stack.client("s3")) \
            if "PayloadBucketName" in stack.outputs else None


def ids_to_resend(args: argparse.Namespace, stack: Stack, now: float) -> tuple[list[str], float | None]:
    if args.id is not None:
        return [args.id], args.since
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations.archive_search import SearchFailed

    since = args.since if args.since is not None else now - DEFAULT_SINCE
    try:
        found = stack.engine.search(Search(where=args.where, since=since, sources=tuple(args.source or ()),
                                           limit=args.limit))
    except SearchFailed as e:
        raise CommandError(str(e)) from None
    return [h.id for h in found], since


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise CommandError(f"{question} Not asked: stdin is not a terminal; add --yes to go ahead")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@friendly
def run(args: argparse.Namespace) -> int:
    _check(args)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations import resend as ops

    stack = Stack(stack_for(args))
    config = _load_config(args, stack.info)
    if config is None:
        raise CommandError("a re-send goes through the configured routes: pass --config FILE")
    ids, since = ids_to_resend(args, stack, time.time())
    if not ids:
        print("No archived event matches: nothing to re-send.")
        return 0
    events = ops.archived_events(stack.engine, ids, since)
    load = stack.payloads.get if stack.payloads else None
    put = ops.payload_putter(stack.payloads) if stack.payloads is not None and not args.dry_run else None
    planned = ops.plan(ids, events, config, log_items=stack.log.get, route=args.route, to=args.to,
                       force=args.force, load_payload=load, put_payload=put)
    if args.dry_run:
        return _dry_run(args, stack, config, planned)
    if args.id is not None and planned.problems:
        raise CommandError(f"event {args.id}: {planned.problems[args.id]}")
    rate = f" at {args.rate:g}/s" if args.rate else ""
    if args.where is not None and not args.yes and planned.tasks and not confirm(
            f"Re-send {len({t.event_id for t in planned.tasks})} event(s) ({len(planned.tasks)} deliveries){rate}?"):
        print("Nothing re-sent.", file=sys.stderr)
        return 1
    publish = ops.stack_publisher(stack.info, config, load, time.time)
    summary = _with_progress(args, planned.tasks, publish)
    if args.json:
        emit_json({**summary.to_dict(), "not_resent": planned.problems})
    else:
        _print(summary, planned)
    if summary.interrupted and summary.interrupted.startswith("KeyboardInterrupt"):
        return 130
    return 1 if (summary.failed or summary.interrupted or planned.problems) else 0


def _with_progress(args: argparse.Namespace, tasks: list[Any], publish: Any) -> Any:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations.resend import resend

    console = Console(stderr=True)
    progress = Progress(TextColumn("re-sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[last]}"), console=console,
                        disable=args.json or not console.is_terminal, transient=False)
    with progress:
        bar = progress.add_task("resend", total=len(tasks), last="")
        return resend(tasks, publish, rate=args.rate,
                      progress=lambda r: progress.update(bar, advance=1, last=f"{r.entry.message_id} {r.outcome}"))


def _print(summary: Any, planned: Any) -> None:
    sent = [r for r in summary.results if r.outcome == SENT]
    for r in sent:
        print(f"queued {r.entry.message_id} (Idempotency-Key {r.entry.message_id})")
    print(f"\nRe-sent {len(sent)} of {summary.matched} deliveries: follow them with "
          "`hookline events --id ID` (each re-send is its own line, <route>#resend-<n>).")
    problems = [r for r in summary.results if r.outcome != SENT]
    if problems:
        table(["KEY", "OUTCOME", "DETAIL"], [[r.entry.message_id, r.outcome, shorten(r.detail, 80)] for r in problems])
    for event_id, why in planned.problems.items():
        print(f"not re-sent: {event_id}: {why}", file=sys.stderr)
    if summary.interrupted:
        print(f"Interrupted: {summary.interrupted}. Those not queued were not re-sent; run it again for them "
              "(a new run numbers its re-sends after these).", file=sys.stderr)


def _dry_run(args: argparse.Namespace, stack: Stack, config: Any, planned: Any) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.operations.resend import entry_of

    base_dir = stack.info.config_file(args.config).parent
    enrich = _enrichment(args, base_dir)
    load = stack.payloads.get if stack.payloads else None
    previews = [(t, preview_mapping(entry_of(t), config, load, base_dir, enrich)) for t in planned.tasks]
    if args.json:
        emit_json({"dry_run": True, "not_resent": planned.problems, "resends": [
            {"id": t.event_id, "route": t.route, "idempotency_key": f"{t.event_id}:{t.log_route}",
             "force": bool(t.force), "method": p.method, "url": p.url, "mapped_body": redact(p.new),
             "enriched": redact(p.enriched), "status": p.status, "detail": p.detail} for t, p in previews]})
        return 0
    print(f"Dry run: {len(previews)} re-send(s); nothing is queued.")
    for t, p in previews:
        print(f"\n{t.event_id} -> route {t.route} (Idempotency-Key {t.event_id}:{t.log_route})")
        if p.method or p.url:
            print(f"  {p.method or 'POST'} {p.url}")
        if p.enriched:
            print("  enriched (" + (p.enrichment or "") + "):\n" + _indent(_pretty({"enriched": redact(p.enriched)})))
        if p.new is not None:
            print("  mapped body:\n" + _indent(_pretty(redact(p.new))))
        if p.status in ("error", "route_removed", "payload_missing", "enrichment_failed", "enrichment_not_run") \
                or (p.detail and p.status not in ("not_recorded",)):
            print(f"  {p.status}: {p.detail}")
    for event_id, why in planned.problems.items():
        print(f"\nnot re-sent: {event_id}: {why}")
    return 0


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
