"""The Backend of the app serving this request (its pages ask for it; app.py installs it).

Apart from app.py so that the pages import it at module level: app.py imports the pages, so a page
importing app.py would close an import cycle.
"""

from __future__ import annotations

from flask import abort, current_app, request

from hookline.console.backend import Backend
from hookline.operations.dlq import parse_rate


def backend() -> Backend:
    return current_app.extensions["hookline_backend"]  # type: ignore[no-any-return]


def form_rate() -> float | None:
    """The form's `rate` (N/s or N/m) for a replay or a re-send; empty is none; unreadable is a 400 saying why."""
    text = request.form.get("rate", "").strip()
    try:
        return parse_rate(text) if text else None
    except ValueError as e:
        abort(400, str(e))
