"""One Logger / Metrics / Tracer per process, shared by handlers and domain code."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

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

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)



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
