"""One Logger / Metrics / Tracer per process, shared by handlers and domain code."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "hookline"
NAMESPACE = "Hookline"

# Headers that carry credentials or signatures: never logged, never echoed.
SENSITIVE_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
    "x-hub-signature", "x-hub-signature-256", "stripe-signature", "x-shopify-hmac-sha256",
    "webhook-signature",
})

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def redact_headers(headers: dict[str, str], extra: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    hidden = SENSITIVE_HEADERS | {h.lower() for h in extra}
    return {k: ("***" if k.lower() in hidden else v) for k, v in headers.items()}


def count(name: str, reason: str | None = None, value: float = 1) -> None:
    """A Count metric; with `reason`, emitted on its own so the reason becomes a dimension an alarm can use."""
    from aws_lambda_powertools.metrics import MetricUnit

    if reason is None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        return
    from aws_lambda_powertools import single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                       default_dimensions={"service": SERVICE}) as metric:
        metric.add_dimension(name="reason", value=reason)
