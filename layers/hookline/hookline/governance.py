"""Governance: one system of record per entity, checked before deploy; the data-flow map; reviews.

The seed's rule is "designate a single source of truth for each data type before building
any integration". In hookline.yaml that is `entities.<name>.owner` (a source or destination
name) and, on routes, `writes: <entity>`. Two static checks follow from it:

- a route must not write an entity *into* its owner from another system, unless the route
  says `one_way_copy: true` (a deliberate copy the owner does not treat as authoritative) or
  declares a `precedence`;
- two routes from different sources must not write the same destination field unless a
  precedence is declared: both routes carry different `precedence: N` (higher wins), or the
  entity's `precedence: [source, ...]` lists both sources (first wins).

A route's written fields are its transform's target fields; a route without a transform passes
the body through, which writes no *named* field and so cannot be checked field by field.

The same model feeds `hookline map` (the table and a Mermaid diagram) and the review list of
`hookline report` (sources, destinations and routes past their `review_by:` date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from hookline.core.config import HooklineConfig, RouteConfig
from hookline.core.errors import Problem


def written_fields(route: RouteConfig) -> list[str]:
    """The destination fields a route writes (its transform's targets), in file order."""
    if not isinstance(route.transform, dict):
        return []
    # `python:` transforms are code: their output fields are not known statically.
    return [k for k in route.transform if k not in ("python", "jsonata")]


def _route_index(cfg: HooklineConfig, route: RouteConfig) -> int:
    return next(i for i, r in enumerate(cfg.routes) if r is route)


def governance_problems(cfg: HooklineConfig) -> list[Problem]:
    problems: list[Problem] = []
    systems = set(cfg.sources) | set(cfg.destinations)
    for name, entity in cfg.entities.items():
        if entity.owner not in systems:
            problems.append(Problem(
                f"entities.{name}.owner", f"unknown system {entity.owner!r}",
                f"name a source or destination (known: {', '.join(sorted(systems)) or 'none'})"))
        for s in entity.precedence or []:
            if s not in cfg.sources:
                problems.append(Problem(f"entities.{name}.precedence", f"unknown source {s!r}",
                                        "list source names, the most trusted first"))
    for i, route in enumerate(cfg.routes):
        if route.writes is None:
            continue
        entity = cfg.entities.get(route.writes)
        if entity is None:
            problems.append(Problem(f"routes[{i}].writes", f"unknown entity {route.writes!r}",
                                    f"declare it under entities: (known: {', '.join(sorted(cfg.entities)) or 'none'})"))
            continue
        if route.destination == entity.owner and route.source != entity.owner \
                and not route.one_way_copy and route.precedence is None:
            problems.append(Problem(
                f"routes[{i}]",
                f"route {route.name!r} writes {route.writes} into {entity.owner!r}, its system of record "
                f"(entities.{route.writes}.owner), from another system ({route.source!r})",
                f"if {entity.owner!r} should only take these as a copy, add `one_way_copy: true` to route "
                f"{route.name!r}; if {route.source!r} may override it, add `precedence: N`; or make "
                f"{route.source!r} the owner of {route.writes}"))
    problems += _field_conflicts(cfg)
    return problems


def _declared_order(cfg: HooklineConfig, a: RouteConfig, b: RouteConfig) -> bool:
    if a.precedence is not None and b.precedence is not None and a.precedence != b.precedence:
        return True
    for entity_name in {a.writes, b.writes} - {None}:
        entity = cfg.entities.get(str(entity_name))
        if entity and entity.precedence and a.source in entity.precedence and b.source in entity.precedence:
            return True
    return False


def _field_conflicts(cfg: HooklineConfig) -> list[Problem]:
    problems: list[Problem] = []
    writers: dict[tuple[str, str], list[RouteConfig]] = {}
    for route in cfg.routes:
        for f in written_fields(route):
            writers.setdefault((route.destination, f), []).append(route)
    reported: set[tuple[str, str, str]] = set()
    for (dest, f), routes in writers.items():
        if len({r.source for r in routes}) < 2:  # routes of one source never conflict (and n² pairs cost)
            continue
        for x, a in enumerate(routes):
            for b in routes[x + 1:]:
                if a.source == b.source or _declared_order(cfg, a, b):
                    continue
                key = (a.name, b.name, dest)
                if key in reported:  # one problem per pair of routes, naming every shared field
                    continue
                reported.add(key)
                shared = [g for g in written_fields(a) if g in written_fields(b)]
                same = a.precedence is not None and a.precedence == b.precedence
                problems.append(Problem(
                    f"routes[{_route_index(cfg, b)}].transform.{f}",
                    f"routes {a.name!r} (from {a.source!r}) and {b.name!r} (from {b.source!r}) both write "
                    f"{dest}.{', '.join(shared)}" + (f" with the same precedence {a.precedence}" if same else
                                                     " and no precedence is declared")
                    + ": each would overwrite the other's value in whichever order events arrive (checked for "
                      "every pair of sources; no entities: are needed for it)",
                    f"give routes {a.name!r} and {b.name!r} different `precedence: N` (higher wins), "
                    f"{_entity_fix(a, b)}, or let only one of them write {', '.join(shared)}"))
    return problems


def _entity_fix(a: RouteConfig, b: RouteConfig) -> str:
    """The entity way out of a field conflict, worded for whether the routes already name an entity."""
    order = f"[{a.source}, {b.source}]"
    entity = a.writes or b.writes
    if entity:
        return f"list both sources in entities.{entity}.precedence: {order} (first wins)"
    return (f"declare the data they write under `entities:` with `precedence: {order}` (first wins) and add "
            "`writes: <entity>` to both routes")


# ---------------------------------------------------------------- the data-flow map


@dataclass(frozen=True)
class Flow:
    entity: str
    owner: str
    steward: str | None
    route: str
    source: str
    destination: str
    fields: tuple[str, ...]
    note: str  # "from owner" | "one-way copy" | "precedence N" | "into owner" | ""


def flows(cfg: HooklineConfig) -> list[Flow]:
    out: list[Flow] = []
    for route in cfg.routes:
        entity = cfg.entities.get(route.writes or "")
        owner = entity.owner if entity else "-"
        if route.one_way_copy:
            note = "one-way copy"
        elif route.precedence is not None:
            note = f"precedence {route.precedence}"
        elif entity and route.source == entity.owner:
            note = "from owner"
        else:
            note = ""
        out.append(Flow(route.writes or "-", owner, entity.steward if entity else None, route.name, route.source,
                        route.destination, tuple(written_fields(route)) or ("(whole body)",), note))
    for name, entity in cfg.entities.items():  # declared but nothing writes it yet: still on the map
        if not any(f.entity == name for f in out):
            out.append(Flow(name, entity.owner, entity.steward, "-", "-", "-", tuple(entity.fields) or ("-",),
                            "no route writes it"))
    return sorted(out, key=lambda f: (f.entity == "-", f.entity, f.route))


def mermaid(cfg: HooklineConfig) -> str:
    """A `flowchart LR`: sources -> routes -> destinations, owners marked, edges labelled by entity."""
    def node(kind: str, name: str) -> str:
        return f"{kind}_{''.join(c if c.isalnum() else '_' for c in name)}"

    owners = {e.owner for e in cfg.entities.values()}
    lines = ["flowchart LR"]
    for name in cfg.sources:
        star = " ★ owner" if name in owners else ""
        lines.append(f'  {node("src", name)}(["{name}{star}"])')
    for name, dest in cfg.destinations.items():
        star = " ★ owner" if name in owners else ""
        kind = "" if dest.type == "http" else f" ({dest.type})"
        lines.append(f'  {node("dst", name)}[("{name}{kind}{star}")]')
    for name, sync in cfg.syncs.items():
        lines.append(f'  {node("sync", name)}{{{{"sync {name} every {sync.every}"}}}} --> {node("src", sync.source)}')
    for route in cfg.routes:
        fields = written_fields(route)
        label = (route.writes or "data") + (f": {', '.join(fields)}" if fields else "")
        label = label.replace('"', "'")
        lines.append(f'  {node("src", route.source)} -- "{route.name}<br/>{label}" --> '
                     f'{node("dst", route.destination)}')
    for name, entity in cfg.entities.items():
        steward = f"<br/>steward: {entity.steward}" if entity.steward else ""
        lines.append(f'  {node("ent", name)}>"{name}: owner {entity.owner}{steward}"] -.- '
                     f'{node("src" if entity.owner in cfg.sources else "dst", entity.owner)}')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class Review:
    kind: str  # source | destination | route
    name: str
    owner: str | None
    review_by: date

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "owner": self.owner, "review_by": self.review_by.isoformat()}


def overdue_reviews(cfg: HooklineConfig, today: date) -> list[Review]:
    """Integrations whose `review_by:` date has passed (the seed's quarterly review)."""
    items: list[tuple[str, str, Any]] = [("source", n, s) for n, s in cfg.sources.items()]
    items += [("destination", n, d) for n, d in cfg.destinations.items()]
    items += [("route", r.name, r) for r in cfg.routes]
    return sorted((Review(kind, name, obj.owner, obj.review_by) for kind, name, obj in items
                   if obj.review_by is not None and obj.review_by < today), key=lambda r: (r.review_by, r.name))
