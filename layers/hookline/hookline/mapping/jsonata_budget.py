"""One JSONata evaluation's limits (time, depth, sequence items), apart from the adapter and the fixes.

Both mapping/jsonata.py (which binds a budget into each evaluation) and mapping/jsonata_compat.py
(whose bounded regexes and range checks read the running one) import this module; neither imports
the other at module level, so there is no cycle between them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hookline.mapping.jsonata import Clock


class JsonataEvalError(ValueError):
    """The expression failed on one input (a type error, a bad function argument, a time-out)."""


def _jexception(code: str, *args: Any) -> Exception:
    # lazy: the jsonata library (~130 ms to import) loads only when a route uses JSONata.
    from jsonata.jexception import JException

    return JException(code, -1, *args)


class _Budget:
    """One evaluation's limits. Bound into that evaluation's frame, so no other evaluation (on
    this thread or another) shares its counters, and a failure leaves nothing behind."""

    __slots__ = ("clock", "deadline", "depth", "items", "max_depth", "max_items", "timeout_ms")

    def __init__(self, clock: Clock, timeout_ms: int, max_depth: int, max_items: int) -> None:
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.deadline = clock.monotonic() + timeout_ms / 1000
        self.depth = 0
        self.max_depth = max_depth
        self.items = 0
        self.max_items = max_items

    def remaining(self) -> float:
        """Seconds left; raises D1012 when none are."""
        left = self.deadline - self.clock.monotonic()
        if left <= 0:
            raise _jexception("D1012", self.timeout_ms)
        return left

    # The library calls these around every sub-expression. Unlike its Timebox, they count every
    # entry and exit: it skips frames flagged `is_parallel_call`, a flag the library flips on a
    # shared frame between entry and exit, so its count drifted by one per array element.
    def enter(self, _expr: Any, _input: Any, _env: Any) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise _jexception("D1011")
        self.remaining()

    def exit(self, _expr: Any, _input: Any, _env: Any, result: Any) -> None:
        self.depth -= 1
        if isinstance(result, list):
            self.items += len(result)
            if self.items > self.max_items:
                raise JsonataEvalError(f"the evaluation built more than {self.max_items:,} sequence items, "
                                       "hookline's limit per evaluation (D2014)")
        self.remaining()


_active = threading.local()


def active_budget() -> _Budget | None:
    """The budget of the evaluation running on this thread (jsonata_compat's regexes use it)."""
    return getattr(_active, "budget", None)
