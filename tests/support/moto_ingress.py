"""Ingress on the moto stack as the integration tests drive it: the engine with one function's role's clients
(the ingress role's unless told), so each test's AWS calls are held to what the template grants that role."""

from __future__ import annotations

from typing import Any

from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.stores import PayloadStore, QueuePublisher
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.secrets import SecretResolver


def make_ingress(stack: Any, cfg: Any, *, role: str = "IngressFunction", sqs: Any = None, publisher: Any = None,
                 payloads: Any = None, **deps: Any) -> Ingress:
    """`sqs`: a client to publish with instead of the role's (a spy around it); `deps`: IngressDeps' others."""
    fn = stack.function(role)
    return Ingress(IngressDeps(
        config=cfg, secrets=SecretResolver(),
        publisher=publisher or QueuePublisher(fn.queue_url, client=sqs or fn.sqs),
        payloads=payloads or PayloadStore(fn.bucket, client=fn.s3),
        entries=EventLogEntries(fn.events_table, client=fn.ddb_client), **deps))
