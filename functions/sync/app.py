"""EventBridge Scheduler -> hookline batch sync.

The schedule ticks every minute with {"job": "due"}: the syncs whose `every` has come (or that
have an unfinished run to resume) run. {"job": "<name>"} or {"job": "all"} run now regardless.
"""

from __future__ import annotations

from typing import Any

from hookline.observability import logger, metrics, tracer
from hookline.sync.runner import run_job
from hookline.sync.service import build_runtime, emit_run_metrics
from hookline.wiring import services


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: Any) -> dict:
    svc = services()
    remaining = (lambda: context.get_remaining_time_in_millis() / 1000) if context is not None else None
    runs = run_job(str((event or {}).get("job", "due")), svc.config, build_runtime(svc, remaining=remaining))
    for run in runs:
        emit_run_metrics(run)
    return {"runs": [r.to_dict() for r in runs], "failed_pages": sum(r.failed for r in runs)}
