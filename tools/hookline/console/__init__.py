"""`hookline console`: a local, server-rendered web console over the same operations code as the CLI.

`create_app(Backend(stack))` builds the Flask app; each page is a blueprint in console/pages/,
listed once in `pages.PAGES`. Runs on the operator's machine, never in Lambda (Flask is a local
extra, not a layer requirement).
"""

from hookline.console.app import create_app
from hookline.console.backend import Backend

__all__ = ["Backend", "create_app"]
