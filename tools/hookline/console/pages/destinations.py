"""Destinations: where each one is, how it is called, and how its recent attempts went.

Error rate and last status come from the attempts in the event log (the rows `hookline events`
lists), per destination over the routes that feed it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, render_template

from hookline.console.current import backend
from hookline.operations.report import list_events
from hookline.operations.stack import StackNotFound
from hookline.operations.timeparse import format_epoch

bp = Blueprint("destinations", __name__)
NAV = ("Destinations", "destinations.index")
RECENT_SECONDS = 24 * 3600


def _health(name: str, backend: Any) -> Any | None:
    """This destination's row of `hookline destinations` (one read of the records table per page), or
    None when the stack has no records table (deployed before breakers existed)."""
    if "destination_health" not in g:
        config = backend.config()
        try:
            g.destination_health = {r.name: r for r in backend.destination_rows(config)} if config else {}
        except StackNotFound:
            g.destination_health = {}
    return g.destination_health.get(name)


def breaker_text(row: Any | None) -> str:
    """closed | closed (N failing) | open since T | half-open since T | off, as `hookline destinations` says it."""
    if row is None:
        return "unknown (the stack has no records table)"
    if row.breaker == "closed":
        return "closed" + (f" ({row.consecutive_failures} failing)" if row.consecutive_failures else "")
    if row.breaker in ("open", "half-open") and row.since:
        return f"{row.breaker} since {format_epoch(row.since)}"
    return str(row.breaker)


def _held(name: str, backend: Any) -> str:
    row = _health(name, backend)
    return "-" if row is None else str(row.held)


# Extra columns other capabilities contribute: (heading, value(name, destination config, backend)).
# Each is one line here; the value is shown as text in the column after "routes".
COLUMNS: list[tuple[str, Callable[[str, Any, Any], Any]]] = [
    ("rate limit", lambda name, d, backend: d.rate_limit or "-"),
    ("concurrency", lambda name, d, backend: d.max_concurrency or "-"),
    ("breaker", lambda name, d, backend: breaker_text(_health(name, backend))),
    ("held", lambda name, d, backend: _held(name, backend)),
]


@dataclass
class DestinationView:
    name: str
    host: str
    method: str
    timeout_seconds: float
    routes: list[str] = field(default_factory=list)
    attempts: int = 0
    failed: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    last_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # columns added by other capabilities

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.attempts if self.attempts else None


def _where(d: Any) -> str:
    if d.type == "firehose":
        return f"firehose:{d.stream}"
    if d.type == "s3":
        return f"s3://{d.bucket}/{d.prefix}"
    return _host(d.url or "")


def _host(url: str) -> str:
    # Never the whole URL: a query string or user-info may carry a token.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def destination_views(config: Any, items: list[dict[str, Any]], now: float) -> list[DestinationView]:
    views = {name: DestinationView(name, _where(d), d.method, d.timeout_seconds)
             for name, d in config.destinations.items()}
    route_to = {r.name: r.destination for r in config.routes}
    for route, dest in route_to.items():
        if dest in views:
            views[dest].routes.append(route)
    for row in list_events(items):
        view = views.get(route_to.get(row.route or "", ""))
        if view is None:
            continue
        for attempt in row.attempts:
            at = attempt.get("at")
            if at is None or float(at) < now - RECENT_SECONDS:
                continue
            view.attempts += 1
            code = attempt.get("status_code")
            if not (code is not None and 200 <= int(code) < 300):
                view.failed += 1
            if view.last_at is None or float(at) >= view.last_at:
                view.last_at = float(at)
                view.last_status_code = int(code) if code is not None else None
                view.last_error = attempt.get("error")
    return sorted(views.values(), key=lambda v: v.name)


@bp.get("/destinations")
def index() -> str:
    config = backend().config()
    views = destination_views(config, backend().items(), time.time()) if config is not None else []
    for view in views:
        view.extra = {heading: value(view.name, config.destinations[view.name], backend())
                      for heading, value in COLUMNS}
    return render_template("destinations.html", views=views, config_file=backend().config_file(),
                           extra_heads=[heading for heading, _ in COLUMNS],
                           has_config=config is not None, recent_hours=RECENT_SECONDS // 3600)
