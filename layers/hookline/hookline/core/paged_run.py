"""The skeleton of a locked, checkpointed run over an API's pages, which sync (sync/runner.py) and
reconciliation (reconcile/runner.py) share on the same state store: a job's runs one at a time, the
run lock, the stop before the invocation's deadline, a page fetched with Retry-After honoured within
it, and the state written when the run ends. What a page means stays with each caller."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hookline.observability import logger

COMPLETED, PARTIAL, FAILED, BUSY = "completed", "partial", "failed", "busy"
MAX_RATE_LIMIT_WAIT = 60.0  # longer Retry-After: stop now and resume on a later run
MAX_RATE_LIMIT_RETRIES = 3
RESERVE_SECONDS = 5.0  # of the invocation, kept for the final state write
_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")

R = TypeVar("R")


class Run(Protocol):
    """The figures both runs keep (sync.runner.SyncRun, reconcile.runner.ReconcileRun)."""

    run_id: str
    status: str
    failed: int
    duration_seconds: float
    stop_reason: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]: ...


class Clocks(Protocol):
    """The part of each runner's Runtime the skeleton reads."""

    store: Any  # ports.SyncStateStore
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    remaining: Callable[[], float] | None
    lock_seconds: float
    run_ids: Callable[[], str]


@dataclass(frozen=True)
class Kind:
    """Who runs, for the logs: `label` starts their messages, `key` is the field naming the job."""

    label: str  # "sync" | "reconcile"
    key: str  # "sync" | "source"


def interval_seconds(text: str, *, minimum: int = 60) -> int:
    m = _INTERVAL.match(text)
    if not m:
        raise ValueError(f"{text!r}: write it as e.g. 15m, 1h or 3d")
    return max(int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)], minimum)


def time_left(rt: Clocks) -> float:
    return float("inf") if rt.remaining is None else rt.remaining()


def run_each(kind: Kind, names: list[str], run_one: Callable[[str], R], failed: Callable[[str, str], R]) -> list[R]:
    """Each job's run in turn; one that raises (its state unwritable, a bug) becomes `failed(name,
    error)` so it cannot starve the others."""
    runs = []
    for n in names:
        try:
            runs.append(run_one(n))
        except Exception as e:
            logger.exception(f"{kind.label} run raised", extra={kind.key: n})
            runs.append(failed(n, f"{type(e).__name__}: {e}"))
    return runs


@dataclass(frozen=True)
class Start:
    """Where a run starts: its state item, the checkpoint an unfinished run left ({} if none) and the run
    id (the unfinished run's, so a resumed run keeps its id)."""

    started: float
    state: dict[str, Any]
    checkpoint: dict[str, Any]
    run_id: str


def start(rt: Clocks, name: str) -> Start:
    started = rt.clock()
    state = rt.store.get_state(name)
    checkpoint = state.get("checkpoint") or {}
    return Start(started, state, checkpoint, str(checkpoint.get("run_id") or rt.run_ids()))


def lock(rt: Clocks, name: str, run: Run, at: Start) -> bool:
    """Take the run lock; False (the run marked busy) while another run holds it."""
    # The lock outlives this invocation a little, not much: a run killed at its deadline blocks the next one briefly.
    if rt.store.acquire(name, run.run_id, at.started + min(rt.lock_seconds, time_left(rt) + 30)):
        return True
    run.status, run.stop_reason = BUSY, f"another run holds the lock until {at.state.get('lease_until')}"
    return False


def deadline_near(rt: Clocks, run: Run, timeout: float) -> bool:
    """True (the run marked partial) when one more page of `timeout` seconds would not leave the reserve."""
    if time_left(rt) >= timeout + RESERVE_SECONDS:
        return False
    run.status, run.stop_reason = PARTIAL, "the invocation's deadline is near; the next run resumes"
    return True


def page_failed(run: Run, error: Exception, reason: str = "page failed") -> None:
    run.status, run.failed, run.error, run.stop_reason = FAILED, run.failed + 1, str(error), reason


def fetch_page(kind: Kind, job: str, rt: Clocks, run: Run, fetch: Callable[[], Any], timeout: float,
               rate_limited: type[Exception], failed: type[Exception]) -> Any:
    """`fetch()`, waiting out a `rate_limited` (its `retry_after`) while the deadline allows; None when the
    run stops here (partial on a wait too long, failed on `failed`): the checkpoint stays for the next run."""
    for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
        try:
            return fetch()
        except rate_limited as e:
            wait = e.retry_after  # type: ignore[attr-defined]
            room = time_left(rt) - timeout - RESERVE_SECONDS
            if attempt == MAX_RATE_LIMIT_RETRIES or wait > min(MAX_RATE_LIMIT_WAIT, room):
                run.status, run.stop_reason, run.error = PARTIAL, f"rate limited: {e}; the next run resumes", str(e)
                return None
            logger.info("source rate limited; waiting", extra={kind.key: job, "seconds": wait})
            rt.sleep(wait)
        except failed as e:
            page_failed(run, e)
            return None
    return None


def finish(kind: Kind, job: str, state_name: str, rt: Clocks, run: Run, started: float, every: str,
           completed: dict[str, Any] | None = None) -> None:
    """The state the run leaves in the `state_name` item: done (checkpoint cleared, `completed`'s fields,
    next due after `every`) or resumed on the next tick (a minute later after a failure); the lock
    released; the figures logged under `job`."""
    now = rt.clock()
    run.duration_seconds = round(now - started, 3)
    fields: dict[str, Any] = {"last_run": {k: v for k, v in run.to_dict().items() if v is not None}}
    if run.status == COMPLETED:
        fields |= {"checkpoint": None, **(completed or {}), "next_run_at": started + interval_seconds(every)}
    else:
        fields["next_run_at"] = now + (60 if run.status == FAILED else 0)
    if run.error:
        fields |= {"last_error": run.error, "last_error_at": now}
    try:
        rt.store.save(state_name, run.run_id, release=True, **fields)
    except Exception as e:  # the lock expires on its own; the figures are in the log below
        logger.warning(f"{kind.label} state not saved", extra={kind.key: job, "error": type(e).__name__})
    logger.info(f"{kind.label} run finished", extra={f"{kind.label}_run": run.to_dict()})
