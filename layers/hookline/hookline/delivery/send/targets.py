"""AWS-native destinations, delivery's side: what each type needs in the configuration, and the message one
delivery hands the target adapter (ports.TargetSender; adapters/aws/targets.py makes the calls).

The engine sends one record per thread; the adapter batches the records of a delivery batch that reach
one eventbridge / sqs / sns destination together into one PutEvents / SendMessageBatch / PublishBatch call
(send/warehouse.py's Coalescer), and gives each record its own outcome.
"""

from __future__ import annotations

import json
from typing import Any

from hookline.core.config import DestinationConfig, RouteConfig, check_jmespath
from hookline.core.errors import Problem
from hookline.core.expressions import search
from hookline.core.fanout import group_id, record_key
from hookline.core.targets import AWS_TARGET_TYPES, TargetMessage, json_text

# What each type needs, with an example of it; every other type-specific key is refused as unused.
NEEDS = {
    "eventbridge": {"bus": "bus: orders", "source": "source: com.example.shop"},
    "sqs": {"queue": "queue: orders-inbox (or its URL)"},
    "sns": {"topic": "topic: arn:aws:sns:eu-west-1:123456789012:orders"},
    "lambda": {"function": "function: orders-handler"},
    "stepfunctions": {"state_machine": "state_machine: arn:aws:states:eu-west-1:123456789012:stateMachine:orders"},
}
TARGET_KEYS = ("bus", "source", "detail_type", "detail_type_path", "queue", "topic", "function", "state_machine")
_OWN = {"eventbridge": ("bus", "source", "detail_type", "detail_type_path"), "sqs": ("queue",), "sns": ("topic",),
        "lambda": ("function",), "stepfunctions": ("state_machine",)}
DEFAULT_DETAIL_TYPE = "hookline.event"


def target_problems(name: str, dest: DestinationConfig) -> list[Problem]:
    """An AWS target's own keys are there, and no key of another kind of destination is."""
    p = f"destinations.{name}"
    problems: list[Problem] = []
    if dest.type not in AWS_TARGET_TYPES:
        problems += [Problem(f"{p}.{k}", f"not used by a destination of type {dest.type}",
                             "remove it, or change `type`") for k in TARGET_KEYS if getattr(dest, k) is not None]
        return problems
    for key, example in NEEDS[dest.type].items():
        if getattr(dest, key) in (None, ""):
            problems.append(Problem(f"{p}.{key}", f"a destination of type {dest.type} needs `{key}`",
                                    f"add e.g. {example}"))
    unused = [k for k in TARGET_KEYS if k not in _OWN[dest.type] and getattr(dest, k) is not None]
    unused += [k for k in ("url", "stream", "bucket", "signing", "oauth2", "auth", "proxy")
               if getattr(dest, k) not in (None, "")]
    unused += ["headers"] if dest.headers else []
    unused += ["prefix"] if dest.prefix else []
    unused += ["invocation"] if dest.type != "lambda" and dest.invocation != "async" else []
    problems += [Problem(f"{p}.{k}", f"not used by a destination of type {dest.type}", "remove it, or change `type`")
                 for k in unused]
    if dest.format != "json":
        problems.append(Problem(f"{p}.format", f"a destination of type {dest.type} takes JSON",
                                "remove format (the mapped body is sent as JSON)"))
    if dest.detail_type_path:
        check_jmespath(dest.detail_type_path, f"{p}.detail_type_path", problems)
    if dest.type == "sqs" and dest.queue and not _queue_ok(dest.queue):
        problems.append(Problem(f"{p}.queue", f"not a queue name or URL: {dest.queue!r}",
                                "give its name (orders-inbox) or URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"))
    return problems


def _queue_ok(queue: str) -> bool:
    name = queue.rstrip("/").rsplit("/", 1)[-1]
    return bool(name) and len(name) <= 80 and all(c.isalnum() or c in "-_." for c in name) \
        and (queue == name or queue.startswith(("https://", "http://")))


def target_message(route: RouteConfig, dest: DestinationConfig, *, body: bytes, delivery_key: str, event_id: str,
                   envelope: dict[str, Any] | None) -> TargetMessage:
    """The message for one delivery: the FIFO group from the route's record key (else the route), the DetailType
    from `detail_type_path` over the mapped body (else `detail_type`, else hookline.event)."""
    text = json_text(body)
    key = record_key(route.key, envelope) if route.key and envelope is not None else None
    # Without a record key the route is one group (a route's name is a valid group id as it stands).
    group = group_id(route.name, key, event_id) if key is not None else route.name
    detail_type = dest.detail_type or DEFAULT_DETAIL_TYPE
    if dest.detail_type_path:
        try:
            found = search(dest.detail_type_path, json.loads(text))
        except Exception:  # a runtime type error in the expression: the constant, as for a missing field
            found = None
        if isinstance(found, str | int | float) and not isinstance(found, bool) and str(found):
            detail_type = str(found)[:128]
    return TargetMessage(body=text, delivery_key=delivery_key, group_id=group,
                         detail_type=detail_type)

