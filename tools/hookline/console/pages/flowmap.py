"""Map: the governance data-flow map, the rows `hookline map` prints and a diagram of them."""

from __future__ import annotations

from flask import Blueprint, render_template

from hookline.console.current import backend
from hookline.console.flowdiagram import flow_svg
from hookline.governance import flows

bp = Blueprint("map", __name__)
NAV = ("Map", "map.index")


@bp.get("/map")
def index() -> str:
    config = backend().config()
    if config is None:
        return render_template("map.html", has_config=False, config_file=backend().config_file())
    # The cells as `hookline map` (commands/map.py) writes them.
    rows = [{"entity": f.entity, "owner": f.owner + (f" ({f.steward})" if f.steward else ""), "route": f.route,
             "flow": f"{f.source} -> {f.destination}" if f.route != "-" else "-", "fields": ", ".join(f.fields),
             "note": f.note or ""} for f in flows(config)]
    syncs = [f"{n} ({s.source}, every {s.every})" for n, s in config.syncs.items()]
    return render_template("map.html", has_config=True, config_file=backend().config_file(), rows=rows,
                           syncs=syncs, svg=flow_svg(config))
