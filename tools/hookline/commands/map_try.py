"""`hookline map try ROUTE --data FILE`: the fast loop for writing a mapping.

Runs one payload through a route the way the deliver function would — parse with the source's
format, build the envelope, evaluate `when`, run the enrichment steps (answers from `--mock`
files, or the real destinations with `--live`), map, and write the body in the destination's
format — and prints each stage. Nothing is recorded, queued or delivered; `--live` makes only
the enrichment calls (GET/POST lookups), never the delivery.

Exit codes: 0 the body was produced; 1 a failure the event would meet too (mapping, enrichment,
body format, unparseable payload) or a configuration problem; 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from hookline.commands._ops import CONFIG_RULE, config_path, header_line

MOCK_HELP = ("an enrichment step's answer: NAME=FILE (its JSON response, status 200) or NAME=STATUS "
             "(e.g. contact=404); repeatable")


def add_try_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `try` on the `hookline map` subcommand parser."""
    p = sub.add_parser("try", help="run a payload through a route's enrichment, mapping and output format",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("route", metavar="ROUTE", help="route name (routes[].name)")
    p.add_argument("--data", required=True, metavar="FILE", help="the payload, as the source would send it")
    p.add_argument("--config", default=None, help=f"configuration file ({CONFIG_RULE})")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="a request header of the webhook (e.g. 'X-GitHub-Event: issues'); repeatable")
    p.add_argument("--content-type", default=None,
                   help="the payload's Content-Type (default: from the file name, else application/json)")
    p.add_argument("--mock", action="append", default=[], metavar="NAME=FILE|STATUS", help=MOCK_HELP)
    p.add_argument("--live", action="store_true",
                   help="call the enrichment destinations for real (their secrets must be resolvable here)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run_try)
    return p


class _Usage(Exception):
    pass


class _Failure(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage = stage


_SUFFIX_TYPES = {".json": "application/json", ".xml": "application/xml", ".txt": "text/plain",
                 ".form": "application/x-www-form-urlencoded", ".csv": "text/csv"}


def _headers(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        header = header_line(value)
        if header is None:
            raise _Usage(f"--header {value!r}: write it as 'Name: value'")
        out[header[0]] = header[1]
    return out


def _mocks(values: list[str], base: Path) -> dict[str, tuple[int, bytes, str]]:
    mocks = {}
    for value in values:
        name, sep, what = value.partition("=")
        if not sep or not name:
            raise _Usage(f"--mock {value!r}: write NAME=FILE or NAME=STATUS")
        if what.isdigit():
            mocks[name] = (int(what), b"", f"mock status {what}")
            continue
        file = Path(what)
        try:
            mocks[name] = (200, file.read_bytes(), f"mock {what}")
        except OSError as e:
            raise _Usage(f"--mock {name}: cannot read {what}: {e.strerror or e}") from None
    return mocks


def _mock_fetch(mocks: dict[str, tuple[int, bytes, str]], sources: dict[str, str]) -> Any:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.outcomes import HttpResult

    def fetch(dest: Any, method: str, url: str, body: bytes, event_id: str, label: str,
              deadline: float | None) -> HttpResult:
        name = label.rsplit(".enrich.", 1)[-1]
        if name not in mocks:
            raise _Failure("enrichment", f"no --mock for enrichment step {name!r}: pass --mock {name}=FILE (its "
                                         f"JSON response) or --mock {name}=404, or --live to call it")
        status, payload, origin = mocks[name]
        sources[name] = origin
        return HttpResult(time.time(), 0.0, status_code=status, body=payload, requests_made=1,
                          error=None if 200 <= status <= 299 else f"HTTP {status} ({origin})")

    return fetch


def _request_line(dest: Any, envelope: dict[str, Any], mapped: Any) -> tuple[str, str]:
    """The method and URL this event would be sent with (a templated url or method filled in)."""
    if dest.type != "http":
        return "-", f"{dest.type}: {dest.stream or dest.bucket}"
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.core.auth import redact_url
    from hookline.mapping.errors import MappingError
    from hookline.mapping.urls import resolve_request

    try:
        method, url = resolve_request(dest, envelope, mapped)
    except MappingError as e:
        raise _Failure("mapping", f"url/method: {e} (DLQ reason mapping)") from None
    return method, redact_url(url, dest)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _section(title: str) -> None:
    print(f"\n== {title} ==")


def run_try(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _Usage as e:
        print(f"hookline map try: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.commands.validate import load_or_report

    path = config_path(args.config, say=not args.json)
    cfg = load_or_report(path)
    if cfg is None:
        return 1
    try:
        route = cfg.route(args.route)
    except KeyError:
        known = ", ".join(r.name for r in cfg.routes) or "none"
        raise _Usage(f"no route named {args.route!r} in {path} (routes: {known})") from None
    data = Path(args.data)
    try:
        raw = data.read_bytes()
    except OSError as e:
        raise _Usage(f"cannot read --data {data}: {e.strerror or e}") from None
    headers = _headers(args.header)
    mocks = _mocks(args.mock, Path.cwd())
    content_type = args.content_type or _SUFFIX_TYPES.get(data.suffix.lower(), "application/json")
    report: dict[str, Any] = {"route": route.name, "source": route.source, "destination": route.destination}
    try:
        _pipeline(cfg, route, path.parent, raw, content_type, headers, mocks, args.live, report, args.json)
    except _Failure as f:
        report["failure"] = {"stage": f.stage, "error": str(f)}
        if args.json:
            print(_pretty(report))
        else:
            print(f"\nFAILED at {f.stage}: {f}", file=sys.stderr)
        return 1
    if args.json:
        print(_pretty(report))
    return 0


def _pipeline(cfg: Any, route: Any, base_dir: Path, raw: bytes, content_type: str, headers: dict[str, str],
              mocks: dict[str, tuple[int, bytes, str]], live: bool, report: dict[str, Any], quiet: bool) -> None:
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    import jmespath

    from hookline.core.envelope import BodyParseError, build_envelope, parse_body
    from hookline.core.signing import body_digest
    from hookline.delivery.enrich import Enricher, EnrichFailed, sender_fetch
    from hookline.ingress.providers import Request, identify, load
    from hookline.ingress.signatures import event_id, event_type
    from hookline.mapping.compiler import MappingError, MappingSpecError, compile_transform
    from hookline.mapping.formats import FormatError, serialize

    show = (lambda *a, **k: None) if quiet else print
    source = cfg.sources[route.source]
    try:
        parsed = parse_body(raw, content_type, source.format)
    except BodyParseError as e:
        raise _Failure("payload", f"{e} (source format {source.format}; DLQ reason payload_invalid)") from None
    lowered = {k.lower(): v for k, v in {"content-type": content_type, **headers}.items()}
    if source.verify is not None:
        eid, etype = event_id(source.verify, lowered, raw, parsed), event_type(source.verify, lowered, parsed)
    else:  # a catalog provider: its id and type, as ingress reads them
        seen = identify(load(source.provider), Request(headers=lowered, body=raw), id_path=source.id_path,
                        type_path=source.type_path)
        eid, etype = seen.event_id or body_digest(raw), seen.event_type
    envelope = build_envelope(event_id=eid, source=route.source, type=etype, received_at=time.time(),
                              headers=lowered, body=parsed)
    matches = True
    if route.when:
        matches = bool(jmespath.search(route.when, envelope))
    report["when_matches"] = matches
    if route.when:
        show(f"when: {route.when!r} -> {'matches' if matches else 'does NOT match: this route would not run'}")

    enrichment: list[dict[str, Any]] = []
    if route.enrich:
        # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
        from hookline.delivery.send.http import HttpSender
        from hookline.secrets import SecretResolver

        sources: dict[str, str] = {}
        fetch = sender_fetch(HttpSender(SecretResolver())) if live else _mock_fetch(mocks, sources)
        try:
            enriched, responses = Enricher(cfg, fetch, base_dir=base_dir).run(route, envelope, envelope["id"])
        except EnrichFailed as e:
            outcome = "retried on the route's schedule" if e.http is not None and not e.http.outcome.permanent \
                else "dead-lettered"
            raise _Failure("enrichment", f"{e.error} (the event would be {outcome})") from None
        envelope["enriched"] = enriched
        enrichment = [{**r.to_dict(), "from": sources.get(r.name, "live")} for r in responses]
    report["envelope"] = envelope
    report["enrichment"] = enrichment
    show("\n== envelope ==")
    show(_pretty(envelope))
    if route.enrich:
        show("\n== enrichment ==")
        for r in enrichment:
            show(f"{r['name']}: {r['destination']} {r['method']} {r['path']} -> {r['status_code']} "
                 f"{r['result']} ({r['from']})")
            show(_pretty(r["body"]))

    dest = cfg.destinations[route.destination]
    if route.transform is None:
        method, url = _request_line(dest, envelope, None)
        delivery = {"destination": route.destination, "method": method, "url": url,
                    "content_type": content_type, "body": raw.decode("utf-8", errors="replace"),
                    "note": "no transform: the original bytes and Content-Type are sent unchanged"}
    else:
        try:
            transform = compile_transform(route.transform, base_dir)
            mapped = transform.apply(envelope)
            body, ctype, _ = serialize(mapped, dest.format, xml_root=dest.xml_root, csv_header=dest.csv_header,
                                       columns=transform.columns)
        except MappingSpecError as e:
            raise _Failure("mapping", str(e)) from None
        except MappingError as e:
            raise _Failure("mapping", f"{e} (DLQ reason mapping)") from None
        except FormatError as e:
            raise _Failure("format", f"{dest.format} body: {e} (DLQ reason mapping)") from None
        method, url = _request_line(dest, envelope, mapped)
        delivery = {"destination": route.destination, "method": method, "url": url,
                    "format": dest.format, "content_type": ctype, "body": body.decode("utf-8")}
    report["deliveries"] = [delivery]
    show(f"\n== {route.destination}: {delivery['method']} {delivery['url']} "
         f"(Content-Type: {delivery['content_type']}) ==")
    if "note" in delivery:
        show(f"({delivery['note']})")
    show(delivery["body"])
