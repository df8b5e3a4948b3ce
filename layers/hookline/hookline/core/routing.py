"""Which routes an event matches: routes compiled once per configuration, indexed by source.

Within a source, most `when` filters test one field against a string (`type == 'issues'`,
`headers."x-github-event" == 'push' && body.action == 'opened'`). Such a route is filed under
that field's path and string: per event each distinct path is evaluated once and the routes
filed under the value found are the only candidates; the rest of their filter runs only for
them. A route whose filter has no such test is evaluated as written. The result is the same
as evaluating every filter (in configuration order), at a cost that does not grow with the
number of routes filed under other values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hookline.core.expressions import compile_expression, evaluate

if TYPE_CHECKING:
    from hookline.core.config import RouteConfig

# AST node types of a plain path: evaluating one never raises and never calls a function.
_PATH_NODES = frozenset({"field", "subexpression", "index_expression", "index", "current", "identity"})


@dataclass(slots=True)
class _Compiled:
    position: int
    route: RouteConfig
    when: dict[str, Any] | None  # the parsed filter; None: the route takes every event of its source
    exact: bool = False  # the filter is the indexed test itself: a hit needs no further evaluation


def _path_key(node: dict[str, Any]) -> tuple[Any, ...] | None:
    """A hashable form of `node` if it is a plain path, else None."""
    if node["type"] not in _PATH_NODES:
        return None
    key: tuple[Any, ...] = (node["type"], node.get("value"))
    for child in node["children"]:
        sub = _path_key(child)
        if sub is None:
            return None
        key += (sub,)
    return key


def _conjuncts(node: dict[str, Any]) -> list[dict[str, Any]]:
    if node.get("type") == "and_expression":
        return [c for child in node["children"] for c in _conjuncts(child)]
    return [node]


def _string_test(node: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...], str] | None:
    """(path, its key, string) when `node` is `path == 'string'` (either way round), else None."""
    if node["type"] != "comparator" or node["value"] != "eq":
        return None
    left, right = node["children"]
    for path, literal in ((left, right), (right, left)):
        if literal["type"] == "literal" and isinstance(literal["value"], str):
            key = _path_key(path)
            if key is not None:
                return path, key, literal["value"]
    return None


@dataclass
class _Group:
    path: dict[str, Any]
    by_value: dict[str, list[_Compiled]]


class _SourceRoutes:
    def __init__(self) -> None:
        self.always: list[_Compiled] = []
        self.scanned: list[_Compiled] = []
        self.groups: dict[str, _Group] = {}

    def add(self, position: int, route: RouteConfig, when: dict[str, Any] | None) -> None:
        entry = _Compiled(position, route, when)
        if when is None:
            self.always.append(entry)
            return
        for conjunct in _conjuncts(when):
            test = _string_test(conjunct)
            if test is None:
                continue
            path, key, value = test
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _Group(path, {})
            entry.exact = conjunct is when
            group.by_value.setdefault(value, []).append(entry)
            return
        self.scanned.append(entry)


class RouteIndex:
    """The routes of a configuration, compiled and indexed; `matching` is what ingress asks per event."""

    def __init__(self, routes: Iterable[RouteConfig]) -> None:
        self._sources: dict[str, _SourceRoutes] = {}
        for position, route in enumerate(routes):
            when = compile_expression(route.when).parsed if route.when else None
            routes_of = self._sources.get(route.source)
            if routes_of is None:
                routes_of = self._sources[route.source] = _SourceRoutes()
            routes_of.add(position, route, when)

    def matching(self, source: str, envelope: Mapping[str, Any], on_error: Any = None) -> list[RouteConfig]:
        """The routes of `source` whose filter holds for `envelope`, in configuration order.

        A filter that fails at run time (a type error in a function) skips its route; `on_error(route,
        exc)` is told so ingress can log it.
        """
        routes = self._sources.get(source)
        if routes is None:
            return []
        matched = list(routes.always)
        candidates = list(routes.scanned)
        for group in routes.groups.values():
            value = evaluate(group.path, envelope)
            hits = group.by_value.get(value) if isinstance(value, str) else None
            for entry in hits or ():
                (matched if entry.exact else candidates).append(entry)
        results: dict[int, bool | Exception] = {}  # routes sharing one filter evaluate it once
        for entry in candidates:
            key = id(entry.when)
            if key not in results:
                try:
                    results[key] = bool(evaluate(entry.when, envelope))  # type: ignore[arg-type]
                except Exception as e:  # a runtime type error in a filter skips the route, it must not fail ingress
                    results[key] = e
            result = results[key]
            if isinstance(result, Exception):
                if on_error is not None:
                    on_error(entry.route, result)
            elif result:
                matched.append(entry)
        matched.sort(key=lambda entry: entry.position)
        return [entry.route for entry in matched]
