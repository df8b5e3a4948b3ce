"""A Lambda cold start without cyclic garbage collection: `hold()` at the top of functions/*/app.py, before
their imports; `done()` once the first invocation (or a sync run's set-up) is over.

Over the modules and the first invocation's services and clients the collector ran ~40 collections (~30 ms
of CPU for ingress and for deliver) that found next to nothing, since those objects live as long as the
process. They are frozen (never scanned again, which also spares each later full collection
~110,000-135,000 objects) rather than collected: the few hundred unreachable ones among them (~400) stay.
Outside Lambda (tests, `hookline dev`: one process for everything) and under `sam local` nothing changes.
This module imports nothing of hookline's, so holding costs the handlers no import of their own.
"""

from __future__ import annotations

import gc
import os


def hold() -> None:
    """In Lambda only: no cyclic collection until `done()`."""
    if os.environ.get("LAMBDA_TASK_ROOT") and not os.environ.get("AWS_SAM_LOCAL"):
        gc.disable()


def done() -> None:
    """The cold start's objects frozen and the collector back on; a no-op once done (or never held)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
