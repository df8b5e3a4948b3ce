"""SQS delivery queue -> hookline delivery engine (ReportBatchItemFailures). One call into the domain."""

from __future__ import annotations

from hookline import cold_start

cold_start.hold()  # first, so that it covers the imports below: no cyclic collection until the cold start is over

from typing import Any

# Imported before anything loads pydantic (the configuration model): Powertools' batch utility imports
# every event source's pydantic parser model when pydantic is already loaded, and the engine uses none
# of them: 35 ms less to the first request (median of 20 side-by-side pairs, 780 ms before).
import aws_lambda_powertools.utilities.batch  # noqa: F401

from hookline.observability import logger, metrics, tracer
from hookline.wiring import services


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return services().delivery.handle(event, context)
    finally:
        cold_start.done()
