"""One Logger / Metrics / Tracer per process, shared by handlers and domain code."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "hookline"
NAMESPACE = "Hookline"

# The signature headers of the schemes hookline verifies: proof for ingress only.
SIGNATURE_HEADERS = frozenset({
    "x-hub-signature", "x-hub-signature-256", "stripe-signature", "x-shopify-hmac-sha256", "webhook-signature",
})
# Headers that carry credentials or signatures: never logged, never echoed.
SENSITIVE_HEADERS = SIGNATURE_HEADERS | {
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
}



class InvocationMetrics(Metrics):
    """Powertools Metrics whose `log_metrics` leaves the process-wide buffer empty after every invocation.

    With metrics disabled (POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV on a deployed function; always
    in `hookline dev`) Powertools' flush neither prints nor clears: the buffer kept every invocation's
    values and the last event's fields, and add_metric printed it anyway at a metric's 100th value, as one
    EMF line for a hundred invocations. A flush that raises would leave it full as well.
    """

    def log_metrics(self, lambda_handler: Callable[..., Any] | None = None, **options: Any) -> Callable[..., Any]:
        if lambda_handler is None:
            return functools.partial(self.log_metrics, **options)
        flushed = super().log_metrics(lambda_handler, **options)

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return flushed(event, context, *args, **kwargs)
            finally:
                self.clear_metrics()

        return handler


logger = Logger(service=SERVICE)
metrics = InvocationMetrics(namespace=NAMESPACE, service=SERVICE)

_TRUE = {"1", "true", "yes", "on"}


def tracing_enabled(env: Mapping[str, str] = os.environ) -> bool:
    """X-Ray is on (Lambda sets the daemon address when the function's Tracing is Active) and not switched off.

    Outside Lambda, or under SAM local or Chalice, Powertools' Tracer disables itself: the SDK is not
    even imported then (outside Lambda its centralised sampler alone imports botocore).
    """
    if env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    if not env.get("LAMBDA_TASK_ROOT") or env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"):
        return False
    return bool(env.get("AWS_XRAY_DAEMON_ADDRESS") or env.get("_X_AMZN_TRACE_ID"))


class NoTracer:
    """Tracer's decorators as no-ops, for when X-Ray is off.

    Powertools' Tracer imports the X-Ray SDK even when disabled, and the SDK imports and patches
    botocore: 130-300 ms of cold start spent on traces nobody records.
    """

    def capture_lambda_handler(self, lambda_handler: Callable[..., Any] | None = None,
                               capture_response: bool | None = None, capture_error: bool | None = None) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda handler: handler)

    def capture_method(self, method: Callable[..., Any] | None = None, capture_response: bool | None = None,
                       capture_error: bool | None = None) -> Any:
        return method if method is not None else (lambda inner: inner)

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        pass


def _tracer() -> Any:
    if not tracing_enabled():
        return NoTracer()
    # lazy: the X-Ray SDK loads only when tracing is on (tests/structure/test_cold_start.py):
    # it patches as libraries load.
    from hookline.xray import tracer

    return tracer(SERVICE)


tracer = _tracer()


def count_event(name: str, **fields: Any) -> None:
    """A Count metric whose EMF line also carries the event's `fields` (Powertools metadata: searchable in
    CloudWatch Logs Insights, not dimensions). It is the happy path's one log line per event: a separate
    Logger line as well was the largest part of ingress's own CPU after its two AWS calls, and 326 more
    log bytes per event (benchmarks/bench_requests.py)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    for key, value in fields.items():
        metrics.add_metadata(key=key, value=value)


def count(name: str, reason: str | None = None, value: float = 1) -> None:
    """A Count metric; with `reason`, emitted on its own so the reason becomes a dimension an alarm can use."""
    if reason is None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                       default_dimensions={"service": SERVICE}) as metric:
        metric.add_dimension(name="reason", value=reason)
