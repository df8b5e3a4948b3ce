"""One reconciliation run of a source: list the provider's events for the lookback, find the ones the
event log never recorded, and deliver those (docs/missed-webhooks.md).

Per page: one BatchGetItem (100 ids) finds the events already recorded: those arrived as webhooks
and cost nothing more. Each one not found is recorded through ingress's own path (`Ingress.record`,
the same id, source and routes as its webhook, `via: reconcile` on the record): its conditional write
still wins over a webhook arriving at the same moment, so it is delivered once either way. GitHub's
list has no payloads: a failed delivery not recorded is redelivered by GitHub instead.

The machinery is sync's (core/paged_run.py, shared with sync/runner.py), on the same state store: a run
lock, a checkpoint per page (the next page's cursor), a stop before the invocation's deadline, Retry-After
honoured within it; an unfinished run resumes on the next tick. Events recorded before a crash are found by the
BatchGetItem of the resumed page and not delivered again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hookline.core import paged_run
from hookline.core.config import HooklineConfig, SourceConfig
from hookline.core.paged_run import BUSY, COMPLETED, FAILED, PARTIAL  # noqa: F401 - re-exported, as before
from hookline.observability import logger
from hookline.reconcile.api import ApiError, Listed, RateLimited

VIA = "reconcile"
HEADERS = {"content-type": "application/json"}
RECONCILE = paged_run.Kind(label="reconcile", key="source")


def seconds(text: str, *, minimum: int = 60) -> int:
    return paged_run.interval_seconds(text, minimum=minimum)


def state_name(source: str) -> str:
    return f"reconcile:{source}"


@dataclass
class ReconcileRun:
    source: str
    run_id: str
    status: str = COMPLETED
    resumed: bool = False
    lookback: str = ""
    pages: int = 0
    seen: int = 0
    arrived: int = 0  # recorded before: a webhook came
    missed: int = 0  # never came: delivered now (Stripe) or redelivery asked for (GitHub)
    failed: int = 0  # pages that failed
    started_at: float = 0.0
    duration_seconds: float = 0.0
    stop_reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# record(source, listed) -> the HTTP status ingress answered (202 recorded now; 200/409: recorded already).
Record = Callable[[str, Listed], int]


@dataclass
class Runtime:
    store: Any  # ports.SyncStateStore: lock, checkpoint, and the BatchGetItem of event items
    record: Record
    client: Callable[[str, SourceConfig], Any]  # -> reconcile.api.Stripe / GitHub for the source
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    remaining: Callable[[], float] | None = None
    lock_seconds: float = 900.0
    on_page: Callable[[ReconcileRun], None] | None = None
    run_ids: Callable[[], str] = field(default=lambda: uuid.uuid4().hex[:12])


def reconciling(config: HooklineConfig) -> list[str]:
    return [n for n, s in config.sources.items() if s.reconcile is not None]


def due(config: HooklineConfig, store: Any, now: float) -> list[str]:
    names = reconciling(config)
    states = store.all_states([state_name(n) for n in names]) if names else {}
    return [n for n in names if (st := states.get(state_name(n)) or {}).get("checkpoint")
            or float(st.get("next_run_at") or 0) <= now]


def run_job(job: str, config: HooklineConfig, rt: Runtime) -> list[ReconcileRun]:
    names = due(config, rt.store, rt.clock()) if job == "due" else reconciling(config) if job == "all" else [job]
    unknown = [n for n in names if n not in reconciling(config)]
    if unknown:
        raise KeyError(f"no reconcile: configured for source(s) {unknown}; reconciling: {reconciling(config)}")
    return paged_run.run_each(RECONCILE, names, lambda n: run(n, config.sources[n], rt),
                              lambda n, error: ReconcileRun(source=n, run_id="-", status=FAILED, started_at=rt.clock(),
                                                            error=error, stop_reason="error"))


def run(source: str, src: SourceConfig, rt: Runtime) -> ReconcileRun:
    cfg = src.reconcile
    if cfg is None:
        raise ValueError(f"sources.{source} has no reconcile: settings")
    name = state_name(source)
    at = paged_run.start(rt, name)
    started, checkpoint = at.started, at.checkpoint
    out = ReconcileRun(source=source, run_id=at.run_id, started_at=started, resumed=bool(checkpoint),
                       lookback=cfg.lookback)
    if not paged_run.lock(rt, name, out, at):
        return out
    api = rt.client(source, src)
    cursor = checkpoint.get("cursor") or api.first(started - seconds(cfg.lookback))
    if not checkpoint:
        checkpoint = {"run_id": out.run_id, "cursor": cursor, "started_at": started}
        rt.store.save(name, out.run_id, checkpoint=checkpoint)
    try:
        while cursor is not None:
            if paged_run.deadline_near(rt, out, cfg.timeout_seconds):
                break
            page = paged_run.fetch_page(RECONCILE, source, rt, out, lambda c=cursor: api.page(c), cfg.timeout_seconds,
                                        RateLimited, ApiError)
            if page is None:
                break
            try:
                _reconcile_page(source, api, page.events, rt, out)
            except ApiError as e:  # a redelivery refused, ingress unavailable: this page again on the next run
                paged_run.page_failed(out, e)
                break
            out.pages += 1
            cursor = page.cursor
            if cursor is not None:
                rt.store.save(name, out.run_id, checkpoint={**checkpoint, "cursor": cursor})
            if rt.on_page:
                rt.on_page(out)
    except BaseException as e:
        out.status, out.error = FAILED, f"{type(e).__name__}: {e}"
        paged_run.finish(RECONCILE, source, name, rt, out, started, cfg.every)
        raise
    paged_run.finish(RECONCILE, source, name, rt, out, started, cfg.every)
    return out


def _reconcile_page(source: str, api: Any, events: list[Listed], rt: Runtime, out: ReconcileRun) -> None:
    out.seen += len(events)
    known = rt.store.lookup([e.event_id for e in events]) if events else {}
    for e in events:
        if e.event_id in known:
            out.arrived += 1
        elif e.redeliver is not None:  # GitHub: a failed delivery, never recorded: GitHub sends it again
            api.redeliver(e)
            out.missed += 1
            logger.info("missed webhook: redelivery requested", extra={"source": source, "event_id": e.event_id})
        elif e.failed is False and e.body:
            status = rt.record(source, e)
            if status == 202:
                out.missed += 1
                logger.info("missed webhook delivered", extra={"source": source, "event_id": e.event_id})
            elif status in (200, 409):  # its webhook came meanwhile (ingress kept the first)
                out.arrived += 1
            else:
                raise ApiError(f"event {e.event_id} not recorded (ingress answered {status}); the run resumes here")
        else:
            out.arrived += 1  # GitHub: delivered successfully, its record expired since
