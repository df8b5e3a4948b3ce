"""The Backend of the app serving this request (its pages ask for it; app.py installs it).

Apart from app.py so that the pages import it at module level: app.py imports the pages, so a page
importing app.py would close an import cycle.
"""

from __future__ import annotations

from flask import current_app

from hookline.console.backend import Backend


def backend() -> Backend:
    return current_app.extensions["hookline_backend"]  # type: ignore[no-any-return]
