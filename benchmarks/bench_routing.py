"""Route matching per request and configuration load, at 2,000 routes with `when`.

The configuration: one GitHub source with 2,000 routes (the worst case for a per-source index:
every route is a candidate for every event). 1,800 filter on the event type and action
(`headers."x-github-event" == 'e17' && body.action == 'opened'`), 150 on the repository
(`body.repository.full_name == 'org/repo-42'`) and 50 use a function (`contains(body.labels[].name,
'l3')`, which no index can file and which is evaluated for every event). Each route has a
two-field transform. The file is written as YAML and loaded with hookline.core.config.load_config,
timed from the file read to the validated, compiled configuration.

Matching is timed the way ingress calls it, over events of varied types; JMESPath parses are
counted by wrapping jmespath.parser.Parser.parse (each call is one parse).

    .venv/bin/python benchmarks/bench_routing.py [--routes 2000] [--rounds 7] [--json FILE]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import yaml
from _support import write_json
from jmespath import parser as jp

GOAL_MATCH_MS, GOAL_LOAD_MS = 1.0, 100.0


def config(n: int) -> dict[str, Any]:
    routes = []
    for i in range(n):
        if i % 40 == 39:
            when = f"contains(body.labels[].name, 'l{i % 7}')"
        elif i % 13 == 12:
            when = f"body.repository.full_name == 'org/repo-{i % 97}'"
        else:
            when = f"headers.\"x-github-event\" == 'e{i % 150}' && body.action == '{('opened', 'closed')[i % 2]}'"
        routes.append({"name": f"r{i}", "source": "github", "destination": "crm", "when": when,
                       "transform": {"title": "body.issue.title", "n": {"path": "body.issue.number", "type": "int"}}})
    return {"sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:GH_SECRET"]}}},
            "destinations": {"crm": {"url": "https://crm.example.com/contacts"}}, "routes": routes}


def envelopes(count: int) -> list[dict[str, Any]]:
    return [{"id": f"d{i}", "source": "github", "type": f"e{i % 150}", "received_at": 0,
             "headers": {"x-github-event": f"e{(i * 7) % 150}", "content-type": "application/json"},
             "body": {"action": ("opened", "closed")[i % 2], "issue": {"title": "t", "number": i},
                      "labels": [{"name": f"l{i % 5}"}], "repository": {"full_name": f"org/repo-{i % 97}"}}}
            for i in range(count)]


class ParseCounter:
    def __init__(self) -> None:
        self.count = 0
        self._original = jp.Parser.parse

    def __enter__(self) -> ParseCounter:
        original, counter = self._original, self

        def parse(self_: Any, expression: str) -> Any:
            counter.count += 1
            return original(self_, expression)

        jp.Parser.parse = parse  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        jp.Parser.parse = self._original  # type: ignore[method-assign]


def _matcher(cfg: Any) -> Any:
    """What ingress calls per event (the route index; before it, a scan of the source's routes)."""
    if hasattr(type(cfg), "route_index"):
        index = cfg.route_index
        return lambda source, env: index.matching(source, env)
    from hookline.ingress.ingress import matching_routes

    return lambda source, env: matching_routes(cfg.routes_for(source), env)


def measure(n: int, rounds: int) -> dict[str, Any]:
    from hookline.validation import load_config

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hookline.yaml"
        path.write_text(yaml.safe_dump(config(n), sort_keys=False))
        loads = []
        for _ in range(rounds):
            _reset_caches()
            started = time.perf_counter()
            cfg = load_config(path)
            loads.append(time.perf_counter() - started)
        yaml_bytes = path.stat().st_size
        prevalidated = _prevalidated_loads(path, rounds)
    match = _matcher(cfg)
    events = envelopes(200)
    for env in events[:20]:  # warm up
        match("github", env)
    per_request, parses, matched = [], [], 0
    for _ in range(rounds):
        with ParseCounter() as counter:
            started = time.perf_counter()
            for env in events:
                matched += len(match("github", env))
            per_request.append((time.perf_counter() - started) / len(events))
        parses.append(counter.count / len(events))
    return {"routes": n, "rounds": rounds, "requests_per_round": len(events), "yaml_bytes": yaml_bytes,
            "load_ms_median": statistics.median(loads) * 1000, "load_ms_min": min(loads) * 1000,
            **prevalidated,
            "match_ms_median": statistics.median(per_request) * 1000, "match_ms_min": min(per_request) * 1000,
            "parses_per_request": max(parses), "routes_matched_per_request": matched / rounds / len(events)}


def _prevalidated_loads(path: Path, rounds: int) -> dict[str, float]:
    """The load Lambda does after `make deploy`: the JSON form, no YAML, no checks, no parse."""
    try:
        from hookline import prevalidated
    except ImportError:  # before the pre-validated form existed
        return {}
    from hookline.validation import load_config

    prevalidated.dump(path)
    loads = []
    for _ in range(rounds):
        _reset_caches()
        started = time.perf_counter()
        load_config(path)
        loads.append(time.perf_counter() - started)
    return {"prevalidated_load_ms_median": statistics.median(loads) * 1000,
            "prevalidated_load_ms_min": min(loads) * 1000}


def _reset_caches() -> None:
    """Each load starts cold, as in a new Lambda environment (both our memo and jmespath's own cache)."""
    jp.Parser.purge()
    try:
        from hookline.core import expressions
    except ImportError:
        return
    expressions._COMPILED.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    r = measure(args.routes, args.rounds)
    print(f"{r['routes']} routes with `when` on one source, {r['yaml_bytes'] // 1024} KB of YAML, {r['rounds']} rounds")
    print(f"config load      : median {r['load_ms_median']:.1f} ms, min {r['load_ms_min']:.1f} ms "
          f"(goal <= {GOAL_LOAD_MS:.0f} ms)")
    if "prevalidated_load_ms_median" in r:
        print(f"config load, pre-validated JSON form (Lambda after make deploy): median "
              f"{r['prevalidated_load_ms_median']:.1f} ms, min {r['prevalidated_load_ms_min']:.1f} ms")
    print(f"route matching   : median {r['match_ms_median']:.3f} ms, min {r['match_ms_min']:.3f} ms per request "
          f"(goal <= {GOAL_MATCH_MS:.0f} ms); {r['parses_per_request']:.0f} JMESPath parses per request; "
          f"{r['routes_matched_per_request']:.1f} routes matched per request")
    write_json(args.json, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
