"""One reconciliation run of a source: list the provider's events for the lookback, find the ones the
event log never recorded, and deliver those (docs/missed-webhooks.md).

Per page: one BatchGetItem (100 ids) finds the events already recorded: those arrived as webhooks
and cost nothing more. Each one not found is recorded through ingress's own path (`Ingress.record`,
the same id, source and routes as its webhook, `via: reconcile` on the record): its conditional write
still wins over a webhook arriving at the same moment, so it is delivered once either way. GitHub's
list has no payloads: a failed delivery not recorded is redelivered by GitHub instead.

The machinery is sync's (sync/runner.py), on the same state store: a run lock, a checkpoint per page
(the next page's cursor), a stop before the invocation's deadline, Retry-After honoured within it;
an unfinished run resumes on the next tick. Events recorded before a crash are found by the
BatchGetItem of the resumed page and not delivered again.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hookline.core.config import HooklineConfig, SourceConfig
from hookline.observability import logger
from hookline.reconcile.api import ApiError, Listed, RateLimited

COMPLETED, PARTIAL, FAILED, BUSY = "completed", "partial", "failed", "busy"
MAX_RATE_LIMIT_WAIT = 60.0
MAX_RATE_LIMIT_RETRIES = 3
RESERVE_SECONDS = 5.0
_SPAN = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
VIA = "reconcile"
HEADERS = {"content-type": "application/json"}


def seconds(text: str, *, minimum: int = 60) -> int:
    m = _SPAN.match(text)
    if not m:
        raise ValueError(f"{text!r}: write it as e.g. 15m, 1h or 3d")
    return max(int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[m.group(2)], minimum)


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
    runs = []
    for n in names:
        try:
            runs.append(run(n, config.sources[n], rt))
        except Exception as e:  # one source's failure must not starve the others
            logger.exception("reconcile run raised", extra={"source": n})
            runs.append(ReconcileRun(source=n, run_id="-", status=FAILED, started_at=rt.clock(),
                                     error=f"{type(e).__name__}: {e}", stop_reason="error"))
    return runs


def _left(rt: Runtime) -> float:
    return float("inf") if rt.remaining is None else rt.remaining()


def run(source: str, src: SourceConfig, rt: Runtime) -> ReconcileRun:
    cfg = src.reconcile
    if cfg is None:
        raise ValueError(f"sources.{source} has no reconcile: settings")
    name = state_name(source)
    started = rt.clock()
    state = rt.store.get_state(name)
    checkpoint = state.get("checkpoint") or {}
    out = ReconcileRun(source=source, run_id=str(checkpoint.get("run_id") or rt.run_ids()), started_at=started,
                       resumed=bool(checkpoint), lookback=cfg.lookback)
    if not rt.store.acquire(name, out.run_id, started + min(rt.lock_seconds, _left(rt) + 30)):
        out.status, out.stop_reason = BUSY, f"another run holds the lock until {state.get('lease_until')}"
        return out
    api = rt.client(source, src)
    cursor = checkpoint.get("cursor") or api.first(started - seconds(cfg.lookback))
    if not checkpoint:
        checkpoint = {"run_id": out.run_id, "cursor": cursor, "started_at": started}
        rt.store.save(name, out.run_id, checkpoint=checkpoint)
    try:
        while cursor is not None:
            if _left(rt) < cfg.timeout_seconds + RESERVE_SECONDS:
                out.status, out.stop_reason = PARTIAL, "the invocation's deadline is near; the next run resumes"
                break
            page = _page(api, cursor, rt, out, cfg.timeout_seconds)
            if page is None:
                break
            try:
                _reconcile_page(source, api, page.events, rt, out)
            except ApiError as e:  # a redelivery refused, ingress unavailable: this page again on the next run
                out.status, out.failed, out.error, out.stop_reason = FAILED, out.failed + 1, str(e), "page failed"
                break
            out.pages += 1
            cursor = page.cursor
            if cursor is not None:
                rt.store.save(name, out.run_id, checkpoint={**checkpoint, "cursor": cursor})
            if rt.on_page:
                rt.on_page(out)
    except BaseException as e:
        out.status, out.error = FAILED, f"{type(e).__name__}: {e}"
        _finish(name, cfg.every, out, rt, started)
        raise
    _finish(name, cfg.every, out, rt, started)
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


def _page(api: Any, cursor: dict[str, Any], rt: Runtime, out: ReconcileRun, timeout: float) -> Any:
    for attempt in range(MAX_RATE_LIMIT_RETRIES + 1):
        try:
            return api.page(cursor)
        except RateLimited as e:
            room = _left(rt) - timeout - RESERVE_SECONDS
            if attempt == MAX_RATE_LIMIT_RETRIES or e.retry_after > min(MAX_RATE_LIMIT_WAIT, room):
                out.status, out.stop_reason, out.error = PARTIAL, f"rate limited: {e}; the next run resumes", str(e)
                return None
            rt.sleep(e.retry_after)
        except ApiError as e:
            out.status, out.failed, out.error, out.stop_reason = FAILED, out.failed + 1, str(e), "page failed"
            return None
    return None


def _finish(name: str, every: str, out: ReconcileRun, rt: Runtime, started: float) -> None:
    now = rt.clock()
    out.duration_seconds = round(now - started, 3)
    fields: dict[str, Any] = {"last_run": {k: v for k, v in out.to_dict().items() if v is not None}}
    if out.status == COMPLETED:
        fields |= {"checkpoint": None, "next_run_at": started + seconds(every)}
    else:
        fields["next_run_at"] = now + (60 if out.status == FAILED else 0)
    if out.error:
        fields |= {"last_error": out.error, "last_error_at": now}
    try:
        rt.store.save(name, out.run_id, release=True, **fields)
    except Exception as e:  # the lock expires on its own; the figures are in the log below
        logger.warning("reconcile state not saved", extra={"source": out.source, "error": type(e).__name__})
    logger.info("reconcile run finished", extra={"reconcile_run": out.to_dict()})
