"""`hookline dlq list | show | replay`: see what failed and why, then send it back for delivery."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from itertools import zip_longest
from typing import Any

from hookline.commands._ops import (
    CommandError,
    add_stack_arg,
    emit_json,
    friendly,
    note,
    shorten,
    stack_for,
    table,
)
from hookline.commands.map_try import MOCK_HELP
from hookline.core.dlq import DlqEntry
from hookline.operations.dlq import (
    INTERRUPTED,
    NOT_ATTEMPTED,
    REPLAY_VISIBILITY_SECONDS,
    SENT,
    DlqFilter,
    MappingPreview,
    ReplayError,
    ReplayResult,
    ReplaySummary,
    entry_payload,
    parse_rate,
    pretty_json,
    preview_mapping,
    redact,
    redact_headers,
    redact_text,
    replay,
    replay_held,
    sort_entries,
)
from hookline.operations.dlq_queue import DeadLetterQueue, DeadLetterQueues
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import HELP as TIME_HELP
from hookline.operations.timeparse import argparse_since, format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dlq", help="dead letter queue: list, show, replay",
                       description="Events whose delivery failed for good, with the reason; replay them once fixed.")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    dsub = p.add_subparsers(dest="dlq_command", metavar="SUBCOMMAND")

    ls = dsub.add_parser("list", help="events in the DLQ: id, source, route, reason, status code, attempts, "
                                      "first/last attempt, last error")
    _add_filters(ls)
    ls.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(ls)
    ls.set_defaults(func=run_list)

    show = dsub.add_parser("show", help="one DLQ event with its payload (secrets redacted)")
    show.add_argument("id", metavar="ID", help="event id, DLQ message id, or EVENT_ID:ROUTE")
    show.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(show)
    show.set_defaults(func=run_show)

    rp = dsub.add_parser(
        "replay", help="send DLQ events back for delivery (attempt history kept)",
        description="Sends the matching DLQ events back to the delivery queue, deleting each from the DLQ only "
                    "after its send succeeded. Without a filter, on AWS, the whole queue is redriven with an SQS "
                    "message move task.")
    _add_filters(rp)
    rp.add_argument("--dry-run", action="store_true",
                    help="list what would be sent and, where the mapping changed since the failure, the new "
                         "mapped body beside the old one; nothing is sent. A route's enrichment steps run first, "
                         "as in the replay: answer them with --mock or call them with --live")
    rp.add_argument("--mock", action="append", default=[], metavar="NAME=FILE|STATUS",
                    help=f"with --dry-run, {MOCK_HELP}, as in `hookline map try`")
    rp.add_argument("--live", action="store_true",
                    help="with --dry-run, call the enrichment steps' destinations for real (GET/POST lookups "
                         "only, never the delivery; their secrets must be resolvable here)")
    rp.add_argument("--rate", type=_rate, default=None, metavar="N/s",
                    help="at most N events per second (e.g. 10/s, 600/m); default: as fast as possible")
    rp.add_argument("--config", default=None,
                    help="configuration for the --dry-run mapping diff (default: the running "
                         "`hookline dev`'s, else $HOOKLINE_CONFIG or ./hookline.yaml; skipped when absent)")
    rp.add_argument("--per-message", action="store_true",
                    help="on AWS, replay message by message even without a filter (instead of a move task)")
    rp.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    add_stack_arg(rp)
    rp.set_defaults(func=run_replay)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--route", action="append", metavar="R", help="only this route (repeatable)")
    p.add_argument("--id", action="append", metavar="ID",
                   help="only this event id, DLQ message id or EVENT_ID:ROUTE (repeatable)")
    p.add_argument("--reason", action="append", metavar="X",
                   help="only this reason, e.g. retries_exhausted, permanent_http, mapping (repeatable)")
    p.add_argument("--since", type=argparse_since, metavar="T", help=f"dead-lettered at or after T: {TIME_HELP}")


def _rate(text: str) -> float:
    try:
        return parse_rate(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _filter(args: argparse.Namespace) -> DlqFilter:
    return DlqFilter.of(routes=args.route, ids=args.id, reasons=args.reason, since=args.since)


def open_dlq(stack: StackInfo) -> DeadLetterQueues:
    """The standard DLQ and, when the stack has one, the ordered routes' FIFO DLQ, read as one."""
    sqs, delivery_queue = stack.client("sqs"), stack.outputs.get("DeliveryQueueUrl")
    standard = DeadLetterQueue(
        sqs, stack.output("DeadLetterQueueUrl"), delivery_queue,
        dlq_arn=stack.outputs.get("DeadLetterQueueArn"), delivery_queue_arn=stack.outputs.get("DeliveryQueueArn"))
    ordered = stack.outputs.get("OrderedDeadLetterQueueUrl")
    return DeadLetterQueues(standard, *([DeadLetterQueue(sqs, ordered, delivery_queue)] if ordered else []))


# ---------------------------------------------------------------- list


@friendly
def run_list(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    flt = _filter(args)
    all_entries = open_dlq(stack).peek()
    entries = sort_entries(e for e in all_entries if flt.matches(e))
    if args.json:
        emit_json([e.to_dict() for e in entries])
        return 0
    if not entries:
        print("The DLQ is empty." if not all_entries else
              f"No DLQ event matches ({flt.describe()}); {len(all_entries)} in the DLQ.")
        return 0
    table(["ID", "SOURCE", "ROUTE", "REASON", "CODE", "ATTEMPTS", "FIRST ATTEMPT", "LAST ATTEMPT", "LAST ERROR"],
          [[e.event_id, e.source, e.route, e.reason, e.status_code, e.attempts, format_epoch(e.first_attempt_at),
            format_epoch(e.failed_at), shorten(e.last_error)] for e in entries], right=(4, 5))
    reasons = Counter(e.reason for e in entries)
    extra = "" if flt.empty else f" matching ({flt.describe()}), of {len(all_entries)}"
    print(f"\n{len(entries)} event(s) in the DLQ{extra}: "
          + ", ".join(f"{r} {n}" for r, n in reasons.most_common()))
    print("Details: hookline dlq show ID    Replay: hookline dlq replay [--route R] [--id ID] [--dry-run]")
    return 0


# ---------------------------------------------------------------- show


def _payload(entry: DlqEntry, stack: StackInfo) -> tuple[Any, str | None]:
    """The stored body, parsed like ingress would (auto) and redacted; or (None, why not)."""
    def load_s3(key: str) -> bytes:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.adapters.aws.stores import PayloadStore

        return PayloadStore(stack.output("PayloadBucketName"), client=stack.client("s3")).get(key)

    return entry_payload(entry, load_s3)


@friendly
def run_show(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    flt = DlqFilter.of(ids=[args.id])
    entries = sort_entries(e for e in open_dlq(stack).peek() if flt.matches(e))
    if not entries:
        raise CommandError(f"no DLQ event with id {args.id!r} (ids are listed by `hookline dlq list`)")
    shown = []
    for entry in entries:
        payload, problem = _payload(entry, stack)
        headers = redact_headers(entry.task.headers) if entry.task else {}
        mapped = redact_text(entry.mapped_body) if entry.mapped_body is not None else None
        shown.append((entry, headers, payload, problem, mapped))
    if args.json:
        emit_json([{**e.to_dict(), "headers": h, "payload": p, "payload_problem": pr, "mapped_body": m}
                   for e, h, p, pr, m in shown])
        return 0
    for i, (entry, headers, payload, problem, mapped) in enumerate(shown):
        if i:
            print("\n" + "-" * 72 + "\n")
        task = entry.task
        rows = [
            ("event", entry.event_id), ("route", entry.route), ("source", entry.source),
            ("type", task.type if task else None), ("reason", entry.reason), ("status code", entry.status_code),
            ("attempts", entry.attempts), ("received", format_epoch(task.received_at) if task else None),
            ("first attempt", format_epoch(entry.first_attempt_at)),
            ("last attempt", format_epoch(entry.last_attempt_at)),
            ("dead-lettered", format_epoch(entry.sent_at)), ("message id", entry.message_id),
            ("last error", entry.last_error),
        ]
        if task and task.s3_key:
            rows.append(("payload in S3", task.s3_key))
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key.ljust(width)}  {'-' if value is None else value}")
        if headers:
            print("\nheaders:")
            for name, value in sorted(headers.items()):
                print(f"  {name}: {value}")
        print("\npayload (secrets redacted):")
        print(_indent(problem if problem else _pretty(payload)))
        if mapped is not None:
            print("\nmapped body of the failed attempt (secrets redacted):")
            print(_indent(_pretty(mapped)))
    return 0


def _pretty(value: Any, sort_keys: bool = False) -> str:
    if isinstance(value, str):
        return value
    return pretty_json(value, sort_keys)  # depth-safe: a DLQ body may predate ingress's depth cap


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# ---------------------------------------------------------------- replay


def _load_config(args: argparse.Namespace, stack: StackInfo) -> Any | None:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.errors import ConfigError
    from hookline.validation import load_config

    path = stack.config_file(args.config)
    if not path.exists():
        note(f"note: no configuration at {path}: mapping changes are not shown (pass --config FILE)")
        return None
    try:
        return load_config(path)
    except ConfigError as e:
        note(f"note: {path} is not valid ({len(e.problems)} problem(s), see `hookline validate`): "
             "mapping changes are not shown")
        return None


def _delivered_check(stack: StackInfo) -> Any:
    """(event, route) already delivered per the event log? None when the stack has no event log."""
    table_name = stack.outputs.get("EventsTableName")
    if not table_name:
        return None
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.adapters.aws.stores import EventLog

    log = EventLog(table_name, resource=stack.resource("dynamodb"))

    def is_delivered(entry: DlqEntry) -> bool:
        return any(i.get("route") == entry.route and i.get("status") == "delivered" for i in log.get(entry.event_id))

    return is_delivered


@friendly
def run_replay(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    flt = _filter(args)
    dlq = open_dlq(stack)
    if args.dry_run:
        return _dry_run(args, stack, dlq, flt)
    if args.mock or args.live:
        raise CommandError("--mock and --live answer the enrichment steps of a --dry-run; add --dry-run")
    if flt.empty and stack.endpoint_url is None and not args.per_message:
        return _move_task(args, dlq)
    if not dlq.delivery_queue_url:
        raise CommandError(f"the stack ({stack.origin}) has no output 'DeliveryQueueUrl'")
    summary = _replay_messages(args, stack, dlq, flt)
    _print_summary(args, summary, flt)
    if summary.interrupted and summary.interrupted.startswith("KeyboardInterrupt"):
        return 130
    return 1 if (summary.failed or summary.interrupted) else 0


def _replay_messages(args: argparse.Namespace, stack: StackInfo, dlq: DeadLetterQueues,
                     flt: DlqFilter) -> ReplaySummary:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    progress = Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[last]}"), console=console,
                        disable=args.json or not console.is_terminal, transient=False)
    with progress:
        bar = progress.add_task("replay", total=None, last="")

        def advance(result: ReplayResult) -> None:
            progress.update(bar, advance=1, last=f"{result.entry.key} {result.outcome}")

        return replay_held(dlq, flt, visibility_timeout=REPLAY_VISIBILITY_SECONDS,
                           on_start=lambda entries: progress.update(bar, total=len(entries)),
                           rate=args.rate, is_delivered=_delivered_check(stack), progress=advance)


def _print_summary(args: argparse.Namespace, summary: ReplaySummary, flt: DlqFilter) -> None:
    if args.json:
        emit_json(summary.to_dict())
        return
    data = summary.to_dict()
    if not summary.matched:
        print(f"Nothing to replay: no DLQ event matches ({flt.describe()}).")
        return
    print(f"Replayed {summary.sent} of {summary.matched} matching event(s) ({flt.describe()}): "
          f"sent {summary.sent}, skipped {summary.skipped}, failed {summary.failed}.")
    others = {k: v for k, v in data["by_outcome"].items() if k != SENT}
    if set(others) - {"failed"}:
        print("  " + ", ".join(f"{k} {v}" for k, v in others.items()))
    problems = [r for r in summary.results if r.outcome not in (SENT, NOT_ATTEMPTED)]
    if problems:
        table(["ID", "ROUTE", "OUTCOME", "DETAIL"],
              [[r.entry.event_id, r.entry.route, r.outcome, shorten(r.detail, 80)] for r in problems])
    if summary.interrupted:
        print(f"Interrupted: {summary.interrupted}.", file=sys.stderr)
        print("Nothing was lost: events not sent are still in the DLQ; an event sent but not yet deleted "
              "is delivered once (delivery is idempotent per event and route). Run the same replay again "
              "to finish.", file=sys.stderr)
    elif summary.count(INTERRUPTED) or summary.failed:
        print("Failed events are still in the DLQ: check the error, then run the replay again.", file=sys.stderr)


def _move_task(args: argparse.Namespace, dlq: DeadLetterQueues) -> int:
    count, *ordered = dlq.counts()
    rate = max(1, round(args.rate)) if args.rate else None
    try:
        handle = dlq.start_redrive(max_per_second=rate)
    except ReplayError as e:
        raise CommandError(f"{e}; pass --per-message to replay message by message") from None
    if args.json:
        emit_json({"move_task": handle, "source_arn": dlq.dlq_arn, "destination_arn": dlq.delivery_queue_arn,
                   "approximate_messages": count, "max_per_second": rate})
        return 0
    print(f"Started an SQS message move task: about {count} event(s) go back from the DLQ to the delivery "
          f"queue{f' at up to {rate}/s' if rate else ''}, each deleted from the DLQ only once moved.")
    print(f"  task handle: {handle}")
    print(f"  follow it:   aws sqs list-message-move-tasks --source-arn {dlq.dlq_arn}")
    print(f"  stop it:     aws sqs cancel-message-move-task --task-handle {handle}")
    if sum(ordered):
        print(f"The ordered routes' FIFO DLQ holds about {sum(ordered)} more: a move task cannot send them to the "
              "standard delivery queue; run `hookline dlq replay --per-message` for those.")
    return 0


def _dry_run(args: argparse.Namespace, stack: StackInfo, dlq: DeadLetterQueues, flt: DlqFilter) -> int:
    all_entries = dlq.peek()
    entries = sort_entries(e for e in all_entries if flt.matches(e))
    config = _load_config(args, stack)
    store = None
    if config is not None and "PayloadBucketName" in stack.outputs:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.adapters.aws.stores import PayloadStore

        store = PayloadStore(stack.outputs["PayloadBucketName"], client=stack.client("s3"))
    base_dir = stack.config_file(args.config).parent
    enrich = _enrichment(args, base_dir)
    previews = [preview_mapping(e, config, store.get if store else None, base_dir, enrich) for e in entries]
    summary = replay(entries, dlq, dry_run=True)
    if args.json:
        emit_json({**summary.to_dict(), "entries": [
            {**e.to_dict(), "outcome": r.outcome, "mapping": p.to_dict()}
            for e, r, p in zip(entries, summary.results, previews, strict=True)]})
        return 0
    if not entries:
        print(f"Nothing to replay: no DLQ event matches ({flt.describe()}); {len(all_entries)} in the DLQ.")
        return 0
    print(f"Dry run: would send {summary.count('would_send')} of {len(all_entries)} DLQ event(s) back for "
          f"delivery ({flt.describe()}); nothing is sent.\n")
    table(["ID", "SOURCE", "ROUTE", "REASON", "ATTEMPTS", "LAST ERROR", "MAPPING NOW"],
          [[e.event_id, e.source, e.route, e.reason, e.attempts, shorten(e.last_error, 50),
            p.status if r.outcome == "would_send" else f"not replayable: {r.detail}"]
           for e, r, p in zip(entries, summary.results, previews, strict=True)], right=(4,))
    for entry, preview in zip(entries, previews, strict=True):
        if preview.templated:  # a url or method filled from the event: say which request a replay makes
            print(f"\n{entry.key}: would send {preview.method} {preview.url}")
    changed = [(e, p) for e, p in zip(entries, previews, strict=True) if p.status in ("changed", "not_recorded")]
    for entry, preview in changed:
        print(f"\n{entry.key}: mapping {'changed since the failure' if preview.status == 'changed' else 'now'}"
              f"{f' ({preview.detail})' if preview.detail else ''}")
        print(side_by_side(preview))
    notes = [(e, p) for e, p in zip(entries, previews, strict=True)
             if p.status in ("error", "route_removed", "payload_missing", "enrichment_failed", "enrichment_not_run")
             or (p.detail and p.status not in ("changed", "not_recorded", "no_config"))]
    for entry, preview in notes:
        print(f"\n{entry.key}: {preview.status}: {preview.detail}")
        if preview.status == "enrichment_not_run":
            print("  to see it: answer each step with --mock NAME=FILE (its JSON) or NAME=STATUS, as in "
                  "`hookline map try`, or call them with --live")
    for entry, preview in zip(entries, previews, strict=True):
        if preview.enriched:
            print(f"\n{entry.key}: enriched envelope ({ENRICHED_FROM.get(preview.enrichment, preview.enrichment)}"
                  f"{'' if preview.status != 'enrichment_failed' else ', up to the failing step'}):")
            print(_pretty({"enriched": redact(preview.enriched)}))
    return 0


ENRICHED_FROM = {"mock": "the steps answered by --mock", "live": "the steps called now (--live)"}


def _enrichment(args: argparse.Namespace, base_dir: Any) -> tuple[str, Any] | None:
    """How the dry run answers enrichment steps: ("live", real calls), ("mock", --mock answers) or None."""
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands.map_try import _mock_fetch, _mocks, _Usage

    if args.live:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.delivery.enrich import sender_fetch
        from hookline.delivery.send.http import HttpSender
        from hookline.secrets import SecretResolver

        return "live", sender_fetch(HttpSender(SecretResolver()))
    if not args.mock:
        return None
    try:
        return "mock", _mock_fetch(_mocks(args.mock, base_dir), {})
    except _Usage as e:
        raise CommandError(str(e)) from None


def side_by_side(preview: MappingPreview, width: int = 48) -> str:
    """Old (failed attempt) and new (current mapping) bodies in two columns; '|' marks changed lines."""
    def lines(value: Any) -> list[str]:  # keys sorted so that equal fields line up
        return _pretty(redact(value), sort_keys=True).splitlines()

    new = lines(preview.new)
    if preview.old is None:
        return "\n".join(["  now (current configuration):", *(f"    {line}" for line in new)])
    old = lines(preview.old)
    left_title = "before (failed attempt)"
    width = min(width, max(len(left_title), *(len(line) for line in old)))
    out = [f"  {left_title.ljust(width)}   now (current configuration)"]
    for left, right in zip_longest(old, new, fillvalue=""):
        mark = "|" if left != right else " "
        out.append(f"  {left[:width].ljust(width)} {mark} {right}".rstrip())
    return "\n".join(out)
