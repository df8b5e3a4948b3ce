"""API Gateway HTTP API -> hookline ingress. Parse at the edge, one call into the domain."""

from __future__ import annotations

from hookline import cold_start

cold_start.hold()  # first, so that it covers the imports below: no cyclic collection until the cold start is over

import base64
import binascii
import json

from hookline.ingress.providers.request import from_http_api_event
from hookline.observability import logger, metrics, tracer
from hookline.wiring import services

# Not Powertools' APIGatewayHttpResolver: it keeps the current event on its class (process-wide),
# so two invocations running at once in one process (`hookline dev`'s environments are threads)
# could answer one request with another's headers and body. The route is one path: parse it here.
# The event is read as the dict it is: importing Powertools' event data classes (every event
# source's, through their package) cost ~20 ms of cold start for five fields.


def _json(status: int, body: dict, headers: dict | None = None) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json", **(headers or {})},
            "body": json.dumps(body), "isBase64Encoded": False}


def receive(event: dict, context: object) -> dict:
    source = (event.get("pathParameters") or {}).get("source")
    # GET reaches ingress for the handshakes that use it (Meta, Dropbox, Okta...); elsewhere it is a 404.
    if event["requestContext"]["http"]["method"].upper() not in ("POST", "GET") or not source:
        return _json(404, {"error": "not found: webhooks are accepted at POST /webhooks/{source}"})
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (binascii.Error, ValueError):
        return _json(400, {"error": "request body is marked base64 but is not valid base64"})
    request = from_http_api_event(event, raw)
    result = services().ingress.accept(source, request.headers, raw, context=context, request=request)
    if isinstance(result.body, str):  # a handshake's answer: text (or nothing), as the provider expects it
        content = {"Content-Type": result.content_type} if result.content_type else {}
        return {"statusCode": result.status, "headers": {**content, **result.headers}, "body": result.body,
                "isBase64Encoded": False}
    return _json(result.status, result.body, result.headers)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict, context: object) -> dict:
    try:
        return receive(event, context)
    except Exception:
        # The only 5xx the contract allows is 503: nothing was recorded, so the sender's retry is safe.
        logger.exception("unexpected ingress failure")
        return _json(503, {"error": "temporarily unavailable; retry later"})
    finally:
        cold_start.done()
