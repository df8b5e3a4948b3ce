"""`hookline` command line: one module per command under hookline.commands."""

from __future__ import annotations

import argparse
import importlib

from hookline import __version__

COMMANDS = ("dev", "validate", "send", "sources", "dlq", "events", "report", "destinations", "sync", "reconcile",
            "map", "console")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookline",
        description="Self-hosted webhook integration hub: verify, record once, map, deliver, replay.",
    )
    parser.add_argument("--version", action="version", version=f"hookline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"hookline.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
