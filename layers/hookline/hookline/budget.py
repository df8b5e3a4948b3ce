"""A stand-in for the Lambda context where there is none (`hookline dev` scripts, sync runs, tests).

Powertools idempotency uses the context's remaining time as the expiry of an IN_PROGRESS
record; without one, a crash mid-request would leave the record blocking its key for the
whole idempotency window instead of for one invocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable

NOMINAL_BUDGET_SECONDS = 15 * 60  # Lambda's maximum timeout


class NominalContext:
    """The time left of a nominal invocation starting now."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic,
                 seconds: float = NOMINAL_BUDGET_SECONDS) -> None:
        self._monotonic = monotonic
        self._ends = monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._ends - self._monotonic()) * 1000), 0)
