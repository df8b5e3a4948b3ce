"""Batch sync: pull from APIs that cannot push, page by page, and queue what changed.

One run of a sync (`run_sync`):

1. Take the run lock (state item) so one run of a sync goes at a time; resume the checkpoint
   of an unfinished run (its next request, the watermark it started from, its run id), else
   start from the first request, asking for records changed since the watermark.
2. Per page: fetch it (fetch.py: no redirects, capped size, 429 Retry-After), read the records,
   and hand them to the Recorder (recorder.py): one event per record *version*, id
   `<sync>:<record id>@<version>`, queued once. Then save the checkpoint: the next request.
3. Stop cleanly before the Lambda deadline, on a 429 longer than the time left, or on a failed
   page: the checkpoint stays and the next run (next scheduler tick) resumes from it.
4. Only when the whole walk is done and queued: advance the watermark to the highest value
   seen, clear the checkpoint, set the next due time (`every`).

Scheduling: one EventBridge schedule ticks every minute with `{"job": "due"}`; the syncs whose
`next_run_at` has come (or that have an unfinished run) run then. `{"job": NAME}` or `"all"` run
syncs now regardless (`hookline sync run`).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hookline.core import paged_run
from hookline.core.config import HooklineConfig, SyncConfig
from hookline.core.expressions import search as expr_search
from hookline.core.paged_run import (  # noqa: F401 - re-exported: the runs' statuses and limits, as before
    BUSY,
    COMPLETED,
    FAILED,
    MAX_RATE_LIMIT_RETRIES,
    MAX_RATE_LIMIT_WAIT,
    PARTIAL,
    RESERVE_SECONDS,
)
from hookline.sync.pagination import PaginationError, Request, first_request, next_request

# fetch(sync, request) -> FetchedPage; raises FetchError / RateLimited (hookline.sync.fetch).
Fetch = Callable[[SyncConfig, Request], Any]
SYNC = paged_run.Kind(label="sync", key="sync")


def every_seconds(text: str) -> int:
    return paged_run.interval_seconds(text)


@dataclass
class SyncRun:
    """One run's figures (also the `last_run` kept in the state item)."""

    sync: str
    run_id: str
    status: str = COMPLETED  # completed | partial | failed | busy
    resumed: bool = False
    pages: int = 0
    seen: int = 0
    queued: int = 0
    unchanged: int = 0
    failed: int = 0  # pages that failed
    started_at: float = 0.0
    duration_seconds: float = 0.0
    stop_reason: str | None = None
    error: str | None = None
    watermark: str | None = None  # after the run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _compare_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (1, str(value))
    if isinstance(value, int | float):
        return (0, float(value))
    try:
        return (0, float(str(value)))
    except ValueError:
        return (1, str(value))


def max_watermark(a: str | None, b: Any) -> str | None:
    if b is None or b == "":
        return a
    b = str(b) if not isinstance(b, int | float) or isinstance(b, bool) else json.dumps(b)
    if a is None:
        return b
    return b if _compare_key(b) > _compare_key(a) else a


def record_identity(name: str, sync: SyncConfig, record: Any) -> tuple[str, str]:
    """(event id, version): `<sync>:<id>@<version>`, version from version_path, else the watermark
    field, else a hash of the record (so a changed record is always a new event)."""
    found = expr_search(sync.id_path, record) if isinstance(record, dict) else None
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    if found is None or found == "":
        found = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    path = sync.version_path or (sync.watermark.path if sync.watermark else None)
    version = expr_search(path, record) if path and isinstance(record, dict) else None
    if version is None or version == "":
        version = "h" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return f"{name}:{found}@{version}", str(version)


@dataclass
class Runtime:
    """What a run needs besides the configuration: adapters and clocks (injected)."""

    store: Any  # hookline.adapters.aws.sync_state.SyncStore
    recorder: Any  # hookline.sync.recorder.Recorder
    fetch: Fetch
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    remaining: Callable[[], float] | None = None  # seconds left in the invocation (None: no deadline)
    lock_seconds: float = 900.0  # the run lock outlives the longest invocation
    on_page: Callable[[SyncRun], None] | None = None
    run_ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex[:12])


def due(config: HooklineConfig, states: dict[str, dict[str, Any]], now: float) -> list[str]:
    """Syncs to run on this tick: an unfinished run, never run, or past `next_run_at`."""
    out = []
    for name in config.syncs:
        st = states.get(name) or {}
        if st.get("checkpoint") or float(st.get("next_run_at") or 0) <= now:
            out.append(name)
    return out


def run_job(job: str, config: HooklineConfig, rt: Runtime) -> list[SyncRun]:
    if job in ("all", "", None):
        names = list(config.syncs)
    elif job == "due":
        names = due(config, rt.store.all_states(list(config.syncs)), rt.clock()) if config.syncs else []
    else:
        names = [job]
    unknown = [n for n in names if n not in config.syncs]
    if unknown:
        raise KeyError(f"unknown sync job(s) {unknown}; configured: {sorted(config.syncs)}")
    return paged_run.run_each(SYNC, names, lambda n: run_sync(n, config.syncs[n], rt),
                              lambda n, error: SyncRun(sync=n, run_id="-", status=FAILED, started_at=rt.clock(),
                                                       error=error, stop_reason="error"))


def run_sync(name: str, sync: SyncConfig, rt: Runtime) -> SyncRun:
    at = paged_run.start(rt, name)
    started, state, checkpoint = at.started, at.state, at.checkpoint
    run = SyncRun(sync=name, run_id=at.run_id, started_at=started, resumed=bool(checkpoint))
    if not paged_run.lock(rt, name, run, at):
        return run
    watermark_from = checkpoint.get("watermark_from", state.get("watermark"))
    max_seen: str | None = checkpoint.get("max_seen", watermark_from)
    request = Request.from_dict(checkpoint["request"]) if checkpoint.get("request") else first_request(
        sync, watermark_from)
    pages_done = int(checkpoint.get("pages", 0))
    if not checkpoint:
        # A checkpoint from the start: records claimed by this run stay this run's to queue if it dies.
        checkpoint = {"run_id": run.run_id, "request": request.to_dict(), "watermark_from": watermark_from,
                      "max_seen": max_seen, "pages": 0, "started_at": started}
        rt.store.save(name, run.run_id, checkpoint=checkpoint)
    try:
        next_req: Request | None = request
        while next_req is not None:
            if pages_done >= sync.max_pages:
                run.status, run.stop_reason = PARTIAL, f"max_pages ({sync.max_pages}) reached; the next run goes on"
                break
            if paged_run.deadline_near(rt, run, sync.timeout_seconds):
                break
            page = _fetch_page(sync, next_req, rt, run)
            if page is None:
                break  # status and reason set
            records = expr_search(sync.items_path, page.data)
            records = [] if records is None else (records if isinstance(records, list) else [records])
            counts = rt.recorder.record_page(name, sync, records, run.run_id)
            run.pages += 1
            pages_done += 1
            run.seen += len(records)
            run.queued += counts.queued
            run.unchanged += counts.unchanged
            if sync.watermark:
                for r in records:
                    if isinstance(r, dict):
                        max_seen = max_watermark(max_seen, expr_search(sync.watermark.path, r))
            try:
                next_req = next_request(sync, next_req, page.data, len(records), page.link_next)
            except PaginationError as e:
                paged_run.page_failed(run, e, "pagination")
                break
            if next_req is not None:
                rt.store.save(name, run.run_id, checkpoint={
                    "run_id": run.run_id, "request": next_req.to_dict(), "watermark_from": watermark_from,
                    "max_seen": max_seen, "pages": pages_done, "started_at": checkpoint.get("started_at", started)})
            if rt.on_page:
                rt.on_page(run)
    except BaseException as e:
        run.status, run.error = FAILED, f"{type(e).__name__}: {e}"
        _finish(name, sync, run, rt, state, None, started)
        raise
    _finish(name, sync, run, rt, state, max_seen if run.status == COMPLETED else None, started)
    return run


def _fetch_page(sync: SyncConfig, request: Request, rt: Runtime, run: SyncRun) -> Any:
    # lazy: as sync/service.py's build_runtime: the HTTP client loads on the first run, not at import.
    from hookline.sync.fetch import FetchError, RateLimited

    return paged_run.fetch_page(SYNC, run.sync, rt, run, lambda: rt.fetch(sync, request), sync.timeout_seconds,
                                RateLimited, FetchError)


def _finish(name: str, sync: SyncConfig, run: SyncRun, rt: Runtime, state: dict[str, Any], new_watermark: str | None,
            started: float) -> None:
    # The watermark moves only when the whole walk is done; a stopped run reports the one it started from.
    if run.status == COMPLETED:
        run.watermark = new_watermark if sync.watermark else None
    else:
        run.watermark = state.get("watermark")
    paged_run.finish(SYNC, name, name, rt, run, started, sync.every,
                     completed={"watermark": run.watermark} if run.status == COMPLETED else None)
