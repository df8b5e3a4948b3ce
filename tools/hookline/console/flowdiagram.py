"""The data-flow map as server-rendered SVG: sources -> routes -> destinations, no script, works offline.

It draws what `hookline map --mermaid` describes (governance.py) without a Mermaid runtime (the
console's Content-Security-Policy allows only its own scripts): three columns of boxes, one per
source, route and destination, joined by curves. A route's box names the entity it writes and
the fields; an entity's owner is marked with a star; a one-way copy is drawn dashed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from hookline.governance import written_fields

COLUMN_X = (10, 290, 690)  # sources, routes, destinations
COLUMN_W = (200, 320, 200)
ROW_H, BOX_H, PAD = 62, 46, 10
CHARS_PER_LINE = {200: 26, 320: 44}  # ~7 px per character at 12 px


def _fit(text: str, width: int) -> str:
    n = CHARS_PER_LINE[width]
    return text if len(text) <= n else text[:n - 1] + "…"


def _box(kind: str, key: str, x: int, y: float, w: int, lines: list[str], extra_class: str = "") -> str:
    full = " · ".join(lines)
    texts = "".join(f'<text class="{"name" if i == 0 else "sub"}" x="{x + 10}" y="{y + 18 + i * 16:.1f}">'
                    f'{escape(_fit(line, w))}</text>' for i, line in enumerate(lines[:2]))
    classes = " ".join(c for c in ("map-node", kind, extra_class) if c)
    return (f'<g class="{classes}" data-{kind}="{escape(key)}"><title>{escape(full)}</title>'
            f'<rect x="{x}" y="{y:.1f}" width="{w}" height="{BOX_H}" rx="8"/>{texts}</g>')


def _edge(x1: float, y1: float, x2: float, y2: float, extra_class: str = "") -> str:
    mid = (x1 + x2) / 2
    return (f'<path class="edge {extra_class}" d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}"/>')


def _rows(n: int, height: float) -> list[float]:
    """Top y of each of n boxes, spread evenly over the height."""
    if n == 0:
        return []
    step = (height - 2 * PAD) / n
    return [PAD + i * step + (step - BOX_H) / 2 for i in range(n)]


def flow_svg(cfg: Any) -> str:
    owners: dict[str, list[str]] = {}
    for name, entity in cfg.entities.items():
        owners.setdefault(entity.owner, []).append(name)
    syncs: dict[str, list[str]] = {}
    for name, sync in cfg.syncs.items():
        syncs.setdefault(sync.source, []).append(f"sync {name} every {sync.every}")
    sources, destinations, routes = list(cfg.sources), list(cfg.destinations), list(cfg.routes)
    height = max(len(sources), len(destinations), len(routes), 1) * ROW_H + 2 * PAD
    width = COLUMN_X[2] + COLUMN_W[2] + 10
    ys = {("src", n): y for n, y in zip(sources, _rows(len(sources), height), strict=True)}
    ys |= {("dst", n): y for n, y in zip(destinations, _rows(len(destinations), height), strict=True)}
    route_ys = _rows(len(routes), height)
    parts = [f'<svg class="flowmap" viewBox="0 0 {width} {height:.0f}" width="{width}" height="{height:.0f}" '
             'role="img" aria-label="data-flow map"><title>Data flows: sources, routes, destinations</title>']
    edges, boxes = [], []
    for route, y in zip(routes, route_ys, strict=True):
        fields = written_fields(route)
        what = (route.writes or "data") + (f": {', '.join(fields)}" if fields else " (whole body)")
        copy = "copy" if route.one_way_copy else ""
        boxes.append(_box("route", route.name, COLUMN_X[1], y, COLUMN_W[1],
                          [route.name + (" (one-way copy)" if route.one_way_copy else ""), what], copy))
        mid = y + BOX_H / 2
        if ("src", route.source) in ys:
            edges.append(_edge(COLUMN_X[0] + COLUMN_W[0], ys[("src", route.source)] + BOX_H / 2,
                               COLUMN_X[1], mid, copy))
        if ("dst", route.destination) in ys:
            edges.append(_edge(COLUMN_X[1] + COLUMN_W[1], mid, COLUMN_X[2],
                               ys[("dst", route.destination)] + BOX_H / 2, copy))
    for name in sources:
        sub = [f"★ owner of {', '.join(owners[name])}"] if name in owners else []
        sub += syncs.get(name, [])
        boxes.append(_box("source", name, COLUMN_X[0], ys[("src", name)], COLUMN_W[0],
                          [name, " · ".join(sub) or "source"], "owner" if name in owners else ""))
    for name, dest in cfg.destinations.items():
        sub = [f"★ owner of {', '.join(owners[name])}"] if name in owners else []
        sub = ([dest.type] if dest.type != "http" else []) + sub
        boxes.append(_box("destination", name, COLUMN_X[2], ys[("dst", name)], COLUMN_W[2],
                          [name, " · ".join(sub) or "destination"], "owner" if name in owners else ""))
    parts += edges + boxes + ["</svg>"]
    return "".join(parts)
