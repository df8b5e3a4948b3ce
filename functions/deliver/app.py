"""SQS delivery queue -> hookline delivery engine (ReportBatchItemFailures). One call into the domain."""

from __future__ import annotations

from typing import Any

from hookline.observability import logger, metrics, tracer
from hookline.wiring import services


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services().delivery.handle(event, context)
