"""`hookline destinations`: each destination's target, auth and egress, circuit breaker, held events, limits and
current error rate."""

from __future__ import annotations

import argparse
import time

from hookline.commands._ops import CommandError, add_stack_arg, emit_json, friendly, percent, stack_for, table
from hookline.operations.timeparse import format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("destinations", help="target, auth, egress, breaker state, held events, limits, error rate",
                       description="One line per destination of the configuration: its target type, auth "
                                   "type (never a secret) and egress path (direct / proxy host / vpc), its "
                                   "circuit breaker "
                                   "(closed / open / half-open, since when), events held while it is open, "
                                   "its rate limit and concurrency cap, and failed attempts / attempts over "
                                   "the last 5 minutes.")
    p.add_argument("--config", default=None,
                   help="configuration file (default: the running `hookline dev`'s, else $HOOKLINE_CONFIG "
                        "or ./hookline.yaml)")
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout (times in epoch seconds)")
    add_stack_arg(p)
    p.set_defaults(func=run)


@friendly
def run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.adapters.aws.guard_store import GuardStore
    from hookline.adapters.aws.stores import EventLog
    from hookline.core.errors import ConfigError
    from hookline.operations.destinations import destination_rows
    from hookline.validation import load_config

    stack = stack_for(args)
    path = stack.config_file(args.config)
    try:
        config = load_config(path)
    except ConfigError as e:
        raise CommandError(f"{path}: {e.problems[0].path or 'file'}: {e.problems[0].message} "
                           "(pass --config FILE)") from None
    store = GuardStore(stack.output("RecordsTableName"), resource=stack.resource("dynamodb"))
    items = EventLog(stack.output("EventsTableName"), resource=stack.resource("dynamodb")).scan()
    rows = destination_rows(config, store.breakers(), items, time.time(),
                            stack_proxy=stack.outputs.get("EgressProxy") or None,
                            vpc=stack.outputs.get("Egress") == "vpc")
    if args.json:
        emit_json([r.to_dict() for r in rows])
        return 0
    if not rows:
        print(f"No destinations in {path}.")
        return 0
    table(["DESTINATION", "TARGET", "AUTH", "EGRESS", "BREAKER", "SINCE", "HELD", "RATE LIMIT", "CONCURRENCY",
           "ERRORS (5 MIN)"],
          [[r.name, r.target, r.auth, r.egress,
            r.breaker + (f" ({r.consecutive_failures} failing)" if r.breaker == "closed"
                         and r.consecutive_failures else ""),
            format_epoch(r.since) if r.since else "-", r.held, r.rate_limit or "-", r.max_concurrency or "-",
            f"{percent(r.error_rate)} of {r.attempts}" if r.attempts else "-"] for r in rows], right=(6,))
    open_ = [r.name for r in rows if r.breaker in ("open", "half-open")]
    if open_:
        print(f"\nOpen: {', '.join(open_)}. Held events are re-tried by a probe every cool-down; "
              "see docs/runbook.md#runbook-breaker-open-breakeropenalarm.")
    return 0
