"""A clock the test moves, and ten threads at once: for the aging tests (tests/unit/cross_cutting/test_aging*.py)
and any test that injects a clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

SECONDS, MINUTES, HOURS = 3.0, 10 * 60.0, 6 * 3600.0
LATER = [SECONDS, MINUTES, HOURS]
THREADS = 10


class Clock:
    """A clock the test moves; thread-safe, and `sleep` moves it instead of waiting (`sleeps` lists each)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))


def together(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run `work(i)` on `threads` threads released at the same moment; their results, or raise the first error."""
    gate = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = work(i)
        except BaseException as e:  # reported in the test's thread below
            errors.append(e)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    assert not any(t.is_alive() for t in pool), "a thread is still running after 30 s"
    if errors:
        raise errors[0]
    return results
