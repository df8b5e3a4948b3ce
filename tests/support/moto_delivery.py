"""The delivery engine on the moto stack, as the integration tests drive it: a configuration with one route
to a local receiver, DeliveryTasks sent to the template's delivery queue, received with all attributes,
handled with the deliver role's clients, and the batch response applied as the event source mapping would
(successes deleted); the DLQ and the event log read back. tests/integration/test_delivery.py and the
delivery tests beside it share these."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.stores import EventLog, PayloadStore
from hookline.core.messages import DeliveryTask
from hookline.delivery.engine import Delivery, DeliveryDeps
from hookline.delivery.send.http import HttpSender
from hookline.local.sqs_events import RECEIVE_ATTRIBUTES, delete_processed, to_lambda_records
from hookline.secrets import SecretResolver
from hookline.validation import parse_config

CRM_TOKEN = "crm-token-0123456789"  # the routes' source secret and the CRM's header (env:CRM_TOKEN)


def config(url: str, *, dest: dict[str, Any] | None = None, route: dict[str, Any] | None = None,
           source: dict[str, Any] | None = None, extra_routes: list[dict[str, Any]] | None = None,
           extra_destinations: dict[str, Any] | None = None, retry: list[int] | None = None,
           base_dir: Path | None = None) -> Any:
    data: dict[str, Any] = {
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:CRM_TOKEN"], "header": "X-Sig"},
                             **(source or {})}},
        "destinations": {"crm": {"url": f"{url}/contacts", **(dest or {})}, **(extra_destinations or {})},
        "routes": [{"name": "orders-to-crm", "source": "shop", "destination": "crm", **(route or {})},
                   *(extra_routes or [])],
    }
    if retry is not None:
        data["retry"] = {"schedule_seconds": retry}
    return parse_config(data, base_dir)


MAPPED_ROUTE = {"transform": {"order": {"path": "body.id", "type": "string"},
                              "email": "body.customer.email",
                              "total_cents": {"path": "body.total", "type": "int"}}}
ORDER = {"id": 1001, "customer": {"email": "ada@example.com"}, "total": "4200"}


def task(event_id: str = "evt-1", route: str = "orders-to-crm", body: Any = ORDER, **kwargs: Any) -> DeliveryTask:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    fields: dict[str, Any] = {"event_id": event_id, "source": "shop", "route": route, "type": "order.created",
                              "received_at": time.time() - 1.5, "headers": {"content-type": "application/json"},
                              "content_type": "application/json"}
    if "s3_key" not in kwargs:
        text, encoding = DeliveryTask.encode_body(raw)
        fields.update(body=text, body_encoding=encoding)
    fields.update(kwargs)
    return DeliveryTask(**fields)


def make_delivery(stack: Any, cfg: Any, *, sqs: Any = None, events: Any = None, sender: HttpSender | None = None,
                  config_dir: Path | None = None, rng: Any = None, persistence: Any = None, **deps: Any) -> Delivery:
    fn = stack.function("DeliverFunction")  # only the deliver role's permissions
    return Delivery(DeliveryDeps(
        config=cfg,
        secrets=SecretResolver(),
        payloads=PayloadStore(fn.bucket, client=fn.s3),
        events=events or EventLog(fn.events_table, resource=fn.ddb),
        queues=SqsDeliveryQueues(sqs or fn.sqs, dlq_url=fn.dlq_url, queue_url=fn.queue_url),
        persistence=persistence or RouteClaims(fn.events_table, boto3_client=fn.ddb_client),  # as in wiring.py
        sender=sender,
        config_dir=config_dir or Path.cwd(),
        rng=rng or random.Random(1),
        **deps,
    ))


def enqueue(stack: Any, *tasks: DeliveryTask) -> None:
    for t in tasks:
        stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=t.model_dump_json(exclude_none=True))


def receive(stack: Any, n: int = 10) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while len(messages) < n:
        got = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=min(10, n - len(messages)),
                                        **RECEIVE_ATTRIBUTES).get("Messages", [])
        if not got:
            break
        messages += got
    return messages


def run(stack: Any, delivery: Delivery, messages: list[dict[str, Any]], context: Any) -> dict[str, Any]:
    """Handle a batch and apply its response like the Lambda event source mapping."""
    response = delivery.handle(to_lambda_records(messages, stack.queue_arn, stack.region), context)
    delete_processed(stack.sqs, stack.queue_url, messages, response)
    return response


def failed(response: dict[str, Any]) -> set[str]:
    return {f["itemIdentifier"] for f in response["batchItemFailures"]}


def make_visible(stack: Any, messages: list[dict[str, Any]]) -> None:
    """The retry delay has passed."""
    for m in messages:
        stack.sqs.change_message_visibility(QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                            VisibilityTimeout=0)


def dlq_messages(stack: Any) -> list[dict[str, Any]]:
    return stack.sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10, **RECEIVE_ATTRIBUTES,
                                     VisibilityTimeout=0).get("Messages", [])


def attrs(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}


def route_item(stack: Any, event_id: str, route: str = "orders-to-crm") -> dict[str, Any]:
    items = EventLog(stack.events_table, resource=stack.ddb).get(event_id)
    return next(i for i in items if i["route"] == route)


def deliver_batch(stack: Any, cfg: Any, context: Any = None, **deps: Any) -> dict[str, Any]:
    """One batch off the delivery queue through a Delivery built for it (`deps`: targets=, warehouse=...), closed
    after: the messages received and the batch response."""
    messages = receive(stack)
    delivery = make_delivery(stack, cfg, **deps)
    try:
        return {"messages": messages, "response": run(stack, delivery, messages, context)}
    finally:
        delivery.close()
