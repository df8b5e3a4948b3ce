"""Destination health for `hookline destinations`: pure functions over the config, breaker items and the event log.

Also how each destination is reached: its target type, its auth type (the scheme's name, never a
secret) and its egress path (direct, a forward proxy's host and port, or the VPC's NAT gateway).

Per destination: the circuit breaker's state (closed / open / half-open), since when, how many
events it holds (event log status `held` on routes to it), its rate limit and concurrency cap,
and the current error rate: failed attempts / attempts over the last ERROR_WINDOW_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hookline.core.auth import PROXY_ENV, egress_of
from hookline.core.ports import EVENT_ITEM

ERROR_WINDOW_SECONDS = 300


@dataclass
class DestinationRow:
    name: str
    breaker: str  # closed | open | half-open | off
    since: float | None
    held: int
    consecutive_failures: int
    rate_limit: str | None
    max_concurrency: int | None
    attempts: int  # in the error window
    failed: int
    breaker_config: dict[str, Any] | None
    next_probe_at: float | None = None
    target: str = "http"
    auth: str = "none"
    egress: str = "direct"

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.attempts if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "breaker": self.breaker, "since": self.since, "held": self.held,
                "consecutive_failures": self.consecutive_failures, "next_probe_at": self.next_probe_at,
                "rate_limit": self.rate_limit, "max_concurrency": self.max_concurrency,
                "error_rate": self.error_rate, "attempts_last_5m": self.attempts, "failed_last_5m": self.failed,
                "circuit_breaker": self.breaker_config, "target": self.target, "auth": self.auth,
                "egress": self.egress}


def destination_rows(config: Any, breakers: dict[str, dict[str, Any]], items: Iterable[dict[str, Any]],
                     now: float, *, stack_proxy: str | None = None, vpc: bool = False) -> list[DestinationRow]:
    """`stack_proxy` / `vpc`: the stack's EgressProxy and whether its functions run in a VPC (outputs)."""
    route_dest = {r.name: r.destination for r in config.routes}
    held: dict[str, int] = {}
    attempts: dict[str, int] = {}
    failed: dict[str, int] = {}
    for item in items:
        # A re-send's line (`<route>#resend-<n>`) made its requests to the route's destination too.
        route = str(item.get("route") or "").split("#resend-")[0]
        if route == EVENT_ITEM or route not in route_dest:
            continue
        dest = route_dest[route]
        if item.get("status") == "held":
            held[dest] = held.get(dest, 0) + 1
        for attempt in item.get("attempts") or []:
            at = attempt.get("at")
            if isinstance(at, int | float) and now - at <= ERROR_WINDOW_SECONDS:
                attempts[dest] = attempts.get(dest, 0) + 1
                if attempt.get("outcome") != "delivered":
                    failed[dest] = failed.get(dest, 0) + 1
    rows = []
    for name, dest in sorted(config.destinations.items()):
        cfg = dest.breaker
        item = breakers.get(name) or {}
        state = "off" if cfg is None else str(item.get("state") or "closed")
        probe = item.get("probe_at") if state in ("open", "half-open") else None
        rows.append(DestinationRow(
            name=name, breaker=state, since=_float(item.get("since")) if cfg is not None else None,
            held=held.get(name, 0), consecutive_failures=int(item.get("failures") or 0),
            rate_limit=dest.rate_limit, max_concurrency=dest.max_concurrency,
            attempts=attempts.get(name, 0), failed=failed.get(name, 0),
            breaker_config=cfg.model_dump() if cfg is not None else None, next_probe_at=_float(probe),
            target=_target(dest), auth=dest.auth_type,
            egress=_egress(dest, stack_proxy, vpc)))
    return rows


def _target(dest: Any) -> str:
    """The type, and for an AWS target the resource it names (`sqs orders.fifo`, `lambda orders-fn (sync)`)."""
    resource = {"eventbridge": dest.bus, "sqs": dest.queue, "sns": dest.topic, "lambda": dest.function,
                "stepfunctions": dest.state_machine}.get(dest.type)
    if resource is None:
        return str(dest.type)
    name = str(resource).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return f"{dest.type} {name}" + (f" ({dest.invocation})" if dest.type == "lambda" else "")


def _egress(dest: Any, stack_proxy: str | None, vpc: bool) -> str:
    if dest.type != "http":
        return "aws"  # an AWS API call from the function's role, not an HTTP request to a host
    return egress_of(dest, {PROXY_ENV: stack_proxy} if stack_proxy else {}, vpc=vpc)


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
