"""Overview: outcomes per route over 1 h / 24 h / 7 d, from the code behind `hookline report`."""

from __future__ import annotations

import time
from collections import defaultdict

from flask import Blueprint, render_template, request

from hookline.console import charts
from hookline.console.current import backend
from hookline.operations.report import DEFINITIONS, EventRow, list_events, summarize

bp = Blueprint("overview", __name__)
NAV = ("Overview", "overview.index")
DEFAULT_WINDOW = "24h"


@bp.get("/")
def index() -> str:
    window = request.args.get("window", DEFAULT_WINDOW)
    if window not in charts.WINDOWS:
        window = DEFAULT_WINDOW
    now = time.time()
    since = now - charts.WINDOWS[window][0]
    items = backend().items()
    # The same call as `hookline report --since <window>`: the table below is its JSON, rendered.
    report = summarize(items, since=since)
    rows = list_events(items, since=since)
    by_route: dict[str, list[EventRow]] = defaultdict(list)
    for row in rows:
        by_route[row.route or "(no route matched)"].append(row)
    total = charts.bucket_counts(rows, now, window)
    panels = [("All routes", total, charts.stacked_bars(total, window, f"All routes, last {window}"))]
    for route in sorted(by_route):
        b = charts.bucket_counts(by_route[route], now, window)
        panels.append((route, b, charts.stacked_bars(b, window, f"{route}, last {window}")))
    return render_template("overview.html", window=window, windows=list(charts.WINDOWS), since=since,
                           report=report.to_dict(), panels=panels, dlq_depth=backend().dlq_depth(),
                           definitions=DEFINITIONS, statuses=total.statuses or ["delivered"],
                           status_class=charts.STATUS_CLASS)
