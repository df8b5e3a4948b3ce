"""`hookline map`: mapping tools.

Only `hookline map try` lives here on this branch (commands/map_try.py); the data-flow table
(`hookline map [--mermaid]`) is added beside it, and `try` is registered on its subparsers.
"""

from __future__ import annotations

import argparse

from hookline.commands.map_try import add_try_parser


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("map", help="mapping tools: `map try ROUTE --data FILE` runs a payload through a route")
    msub = p.add_subparsers(dest="map_command", metavar="SUBCOMMAND", required=True)
    add_try_parser(msub)
