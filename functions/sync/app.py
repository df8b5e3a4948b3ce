"""EventBridge Scheduler -> hookline batch sync. The schedule's Input is {"job": "<name>" | "all"}."""

from __future__ import annotations

from dataclasses import asdict

from hookline.observability import logger, metrics, tracer
from hookline.sync.runner import CursorStore, http_fetch, run_job
from hookline.wiring import services


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    svc = services()
    results = run_job(str((event or {}).get("job", "all")), svc.config, svc.ingress, http_fetch(),
                      CursorStore(svc.events.table), svc.secrets.interpolate)
    return {"jobs": [asdict(r) for r in results]}
