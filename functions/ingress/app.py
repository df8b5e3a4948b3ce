"""API Gateway HTTP API -> hookline ingress. Parse at the edge, one call into the domain."""

from __future__ import annotations

import base64
import binascii
import json

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from hookline.observability import logger, metrics, tracer
from hookline.wiring import services

app = APIGatewayHttpResolver()


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)


@app.post("/webhooks/<source>")
def receive(source: str) -> Response:
    raw_event = app.current_event.raw_event
    body = raw_event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if raw_event.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, ValueError):
        return _json(400, {"error": "request body is marked base64 but is not valid base64"})
    result = services().ingress.accept(source, app.current_event.headers, raw, context=app.lambda_context)
    return _json(result.status, result.body, result.headers)


@app.not_found
def not_found(_exc: Exception) -> Response:
    return _json(404, {"error": "not found: webhooks are accepted at POST /webhooks/{source}"})


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    # The only 5xx the contract allows is 503: nothing was recorded, so the sender's retry is safe.
    logger.exception("unexpected ingress failure")
    return _json(503, {"error": "temporarily unavailable; retry later"})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
