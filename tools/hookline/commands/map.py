"""`hookline map [--mermaid]`: the data-flow table (entity -> owner -> routes -> destinations -> fields).

`hookline map try ROUTE --data FILE` (commands/map_try.py) is its subcommand: a payload through a route.
"""

from __future__ import annotations

import argparse

from hookline.commands._ops import CONFIG_RULE, config_path, table


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("map", help="data-flow map: entity -> owner -> routes -> destinations -> fields written",
                       description=__doc__.splitlines()[0])
    p.add_argument("--config", default=None, help=f"configuration file ({CONFIG_RULE})")
    p.add_argument("--mermaid", action="store_true", help="print a Mermaid flowchart instead of the table")
    p.set_defaults(func=run)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands.map_try import add_try_parser

    # Not required: a bare `hookline map` prints the table; `try` sets its own func.
    add_try_parser(p.add_subparsers(dest="map_command", metavar="SUBCOMMAND"))


def run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands.validate import load_or_report
    from hookline.governance import flows, mermaid

    cfg = load_or_report(config_path(args.config))
    if cfg is None:
        return 1
    if args.mermaid:
        print(mermaid(cfg), end="")
        return 0
    rows = [[f.entity, f.owner + (f" ({f.steward})" if f.steward else ""), f.route,
             f"{f.source} -> {f.destination}" if f.route != "-" else "-", ", ".join(f.fields), f.note or ""]
            for f in flows(cfg)]
    table(["ENTITY", "OWNER (STEWARD)", "ROUTE", "FROM -> TO", "FIELDS WRITTEN", "NOTE"], rows)
    syncs = [f"{n} ({s.source}, every {s.every})" for n, s in cfg.syncs.items()]
    if syncs:
        print(f"\nsyncs: {', '.join(syncs)}")
    return 0
