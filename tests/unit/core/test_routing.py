"""The route index: the same routes as evaluating every `when`, with no JMESPath parse per request."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import jmespath
import pytest
from jmespath import parser as jmespath_parser

from hookline.core.routing import RouteIndex
from hookline.validation import parse_config

WHENS = [
    None,
    "type == 'issues'",
    "'issues' == type",
    "headers.\"x-github-event\" == 'push' && body.action == 'opened'",
    "body.action == 'opened' && headers.\"x-github-event\" == 'push'",
    "body.action == 'opened' && body.n > `2`",
    "body.items[0].sku == 'A'",
    "type == 'issues' || type == 'push'",
    "!(type == 'issues')",
    "body.n == `3`",
    "contains(body.tags, 'x')",
    "body.action",
    "type == 'issues'",  # the same filter twice: evaluated once, both routes match
    "body.n > `1` && type == 'push'",  # a comparison that fails at run time on a string n
    "@.type == 'push'",
]


def _config(whens: list[str | None], sources: tuple[str, ...] = ("github",)) -> Any:
    routes = []
    for i, (when, source) in enumerate(zip(whens, itertools.cycle(sources), strict=False)):
        route = {"name": f"r{i}", "source": source, "destination": "crm"}
        if when is not None:
            route["when"] = when
        routes.append(route)
    return parse_config({
        "sources": {s: {"verify": {"scheme": "github", "secrets": ["env:X"]}} for s in sources},
        "destinations": {"crm": {"url": "https://crm.example.com/x"}},
        "routes": routes,
    })


def _envelopes() -> Iterator[dict[str, Any]]:
    for type_, event, action, n, items, tags in itertools.product(
        ["issues", "push", None, 7], ["push", "issues"], ["opened", "closed", None], [3, "3", 0, None],
        [[{"sku": "A"}], [], None], [["x"], "x", None],
    ):
        yield {"id": "e", "source": "github", "type": type_, "received_at": 0, "headers": {"x-github-event": event},
               "body": {"action": action, "n": n, "items": items, "tags": tags}}


def _naive(routes: list[Any], envelope: dict[str, Any]) -> list[str]:
    out = []
    for route in routes:
        try:
            if route.when is None or jmespath.search(route.when, envelope):
                out.append(route.name)
        except Exception:  # noqa: S112 - a failing filter skips its route, as in ingress
            continue
    return out


def test_index_matches_exactly_what_evaluating_every_filter_matches() -> None:
    # Given routes with every kind of filter (indexable or not) on two sources
    cfg = _config(WHENS * 2, ("github", "shop"))
    index = RouteIndex(cfg.routes)
    checked = 0
    for envelope in _envelopes():
        for source in ("github", "shop"):
            # When the index answers, Then it is the naive answer, in configuration order
            expected = _naive([r for r in cfg.routes if r.source == source], envelope)
            assert [r.name for r in index.matching(source, envelope)] == expected
            checked += 1
    assert checked > 500


def test_unknown_source_matches_nothing_and_failing_filters_are_reported() -> None:
    cfg = _config(["body.n > `1` && type == 'push'", "type == 'push'"])
    errors: list[str] = []
    envelope = {"type": "push", "body": {"n": "not a number"}, "headers": {}}
    matched = cfg.route_index.matching("github", envelope, on_error=lambda route, e: errors.append(route.name))
    assert [r.name for r in matched] == ["r1"]
    assert errors == ["r0"]
    assert cfg.route_index.matching("nope", envelope) == []


@pytest.fixture
def parses() -> Iterator[list[str]]:
    seen: list[str] = []
    original = jmespath_parser.Parser.parse

    def counting(self: Any, expression: str) -> Any:
        seen.append(expression)
        return original(self, expression)

    jmespath_parser.Parser.parse = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        jmespath_parser.Parser.parse = original  # type: ignore[method-assign]


def test_no_jmespath_parse_per_request_at_600_routes(parses: list[str]) -> None:
    # Given more routes than jmespath's own 128-entry cache holds, each with its own filter and transform
    whens = [f"headers.\"x-github-event\" == 'e{i}' && body.action == 'opened'" for i in range(300)]
    whens += [f"contains(body.tags, 't{i}')" for i in range(300)]
    cfg = _config(whens)
    assert len(parses) >= 600  # compiled at load
    parses.clear()
    # When events are matched
    for i in range(50):
        envelope = {"headers": {"x-github-event": f"e{i}"}, "body": {"action": "opened", "tags": [f"t{i}"]}}
        assert [r.name for r in cfg.route_index.matching("github", envelope)] == [f"r{i}", f"r{300 + i}"]
    # Then nothing was parsed
    assert parses == []
