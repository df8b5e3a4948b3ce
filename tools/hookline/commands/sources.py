"""`hookline sources [NAME] [--json]`: the provider catalog: what each provider signs, its handshake, where
its URL and secret go in the provider's settings, and which independent signer proves the entry."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Any

from hookline.core.config import SOURCE_AUTH_METHODS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="list the provider catalog (sources.x: {provider: NAME, secrets: [...]})",
                       description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", default=None, metavar="NAME", help="show one provider")
    p.add_argument("--json", action="store_true", help="machine-readable: one object per provider")
    p.set_defaults(func=run)


def verifies(entry: Any) -> str:
    """What the entry checks, in one line: algorithm, signed content, where the signature and timestamp are."""
    if entry.algorithm == "sns":
        return "RSA signature of AWS's canonical message with the certificate SNS names (fetched only from SNS)"
    if entry.algorithm == "token":
        return f"the shared token in {entry.where} (compared in constant time)"
    text = (f"{entry.algorithm.upper()} ({entry.encoding}) of `{entry.content.text}` in {entry.where}"
            + (f", prefix `{entry.prefix}`" if entry.prefix else ""))
    if entry.timestamp is not None or entry.timestamp_from_list:
        where = ("the signature header" if entry.timestamp_from_list else
                 entry.timestamp.header or f"body field {entry.timestamp.path}")
        text += f"; timestamp in {where}, within {entry.tolerance_seconds} s"
    return text


def describe(name: str) -> dict[str, Any]:
    # lazy: every `hookline` run imports all command modules; the catalog is read only by this command.
    from hookline.ingress.providers import load

    e = load(name)
    return {"provider": name, "title": e.title, "algorithm": e.algorithm, "verifies": verifies(e),
            "handshake": (e.handshake or {}).get("kind"), "secret": e.secret, "setup": e.setup, "docs": e.docs,
            "proof": e.proof, "proof_url": e.proof_url,
            "event_id": _where(e.id), "event_type": _where(e.type)}


def _where(loc: Any) -> str | None:
    if loc is None:
        return None
    parts = [f"header {h}" for h in loc.headers] + ([f"body {loc.path}"] if loc.path else [])
    return " or ".join(parts)


def run(args: argparse.Namespace) -> int:
    # lazy: as describe's.
    from hookline.ingress.providers import ProviderError, names

    chosen = names()
    if args.name is not None:
        if args.name not in chosen:
            close = difflib.get_close_matches(args.name, chosen, n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            print(f"hookline sources: no provider {args.name!r}{hint}; `hookline sources` lists all "
                  f"{len(chosen)}", file=sys.stderr)
            return 1
        chosen = [args.name]
    try:
        rows = [describe(n) for n in chosen]
    except ProviderError as e:
        print(f"hookline sources: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['provider']}  ({row['title']})")
        print(f"  verifies:  {row['verifies']}")
        if row["handshake"]:
            print(f"  handshake: {row['handshake']} (answered by ingress)")
        print(f"  secret:    {row['secret']}")
        print(f"  setup:     {row['setup']}")
        proof = row["proof"] + (f" ({row['proof_url']})" if row["proof_url"] else "")
        print(f"  proven by: {proof}")
        print()
    if args.name is None:
        print(f"{len(rows)} providers. Use one: sources: {{x: {{provider: NAME, secrets: [ssm:/...]}}}} "
              "(docs/providers.md)")
        print(f"Senders that do not sign: sources: {{x: {{auth: {{{' | '.join(SOURCE_AUTH_METHODS)}: ...}}}}}} "
              "(docs/providers.md, Generic source auth)")
    return 0
