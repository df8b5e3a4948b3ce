"""EventBridge Scheduler -> hookline batch sync.

The schedule ticks every minute with {"job": "due"}: the syncs whose `every` has come (or that
have an unfinished run to resume) run. {"job": "<name>"} or {"job": "all"} run now regardless.
The same tick runs the sources' due reconciliations (reconcile/, docs/missed-webhooks.md);
{"reconcile": "<source>"} runs one now (`hookline reconcile run`).
"""

from __future__ import annotations

from hookline import cold_start

cold_start.hold()  # first, so that it covers the imports below: no cyclic collection until the cold start is over

from typing import Any

from hookline.observability import logger, metrics, tracer
from hookline.sync.runner import run_job
from hookline.sync.service import build_runtime, emit_run_metrics
from hookline.wiring import services


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: Any) -> dict:
    try:
        return _run(event, context)
    finally:
        cold_start.done()


def _run(event: dict, context: Any) -> dict:
    svc = services()
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    if (event or {}).get("reconcile"):
        return {"reconciled": _reconcile(str(event["reconcile"]), svc, remaining)}
    runtime = build_runtime(svc, remaining=remaining)
    # Unlike a request or a batch, a run may page for many minutes: the collector is back on before it starts.
    cold_start.done()
    runs = run_job(str((event or {}).get("job", "due")), svc.config, runtime)
    for run in runs:
        emit_run_metrics(run)
    out = {"runs": [r.to_dict() for r in runs], "failed_pages": sum(r.failed for r in runs)}
    if str((event or {}).get("job", "due")) == "due" and any(s.reconcile for s in svc.config.sources.values()):
        out["reconciled"] = _reconcile("due", svc, remaining)
    return out


def _reconcile(job: str, svc: Any, remaining: Any) -> list[dict]:
    # lazy: only configurations with a reconcile: source load it
    from hookline.reconcile.runner import run_job as reconcile_job
    from hookline.reconcile.service import build_runtime as reconcile_runtime
    from hookline.reconcile.service import emit_run_metrics as reconcile_metrics

    runtime = reconcile_runtime(svc, remaining=remaining)
    cold_start.done()  # as before a sync run: a reconciliation may list pages for minutes
    runs = reconcile_job(job, svc.config, runtime)
    for run in runs:
        reconcile_metrics(run)
    return [r.to_dict() for r in runs]
