"""Ingress: verify a webhook, record it exactly once, queue one task per matching route.

Order matters for "nothing is recorded on a 503": the Powertools idempotency record is
written first (INPROGRESS), then the event log, the S3 claim check and the queue
messages; any failure raises inside the idempotent function, Powertools deletes the
record, and the sender's retry is processed as new instead of being answered "duplicate".
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from botocore.exceptions import BotoCoreError, ClientError

from hookline.aws import MAX_BATCH_BYTES, EventLog, PayloadStore, QueuePublisher, QueueUnavailable
from hookline.budget import NominalContext
from hookline.config import HooklineConfig, RouteConfig
from hookline.delivery import ordering
from hookline.errors import SecretResolutionError
from hookline.ingress import signatures
from hookline.ingress.envelope import BodyParseError, build_envelope, parse_body
from hookline.messages import DeliveryTask
from hookline.observability import SENSITIVE_HEADERS, count, logger
from hookline.secrets import SecretResolver

MAX_BODY_BYTES = 6 * 1024 * 1024  # the Lambda invocation payload limit


@dataclass(frozen=True)
class IngressResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class IngressDeps:
    config: HooklineConfig
    secrets: SecretResolver
    publisher: QueuePublisher
    payloads: PayloadStore
    events: EventLog
    persistence: BasePersistenceLayer
    idempotency_window_seconds: int = 7 * 24 * 3600
    large_body_threshold: int = 200 * 1024
    max_body_bytes: int = MAX_BODY_BYTES
    clock: Callable[[], float] = time.time
    ordered_publisher: Any = None  # delivery.ordering.FifoPublisher: `ordered: true` routes


def _error(status: int, message: str, reason: str) -> IngressResponse:
    count("Rejected", reason=reason)
    return IngressResponse(status, {"error": message})


def filter_failed(route: RouteConfig, error: Exception) -> None:
    """`RouteIndex.matching`'s on_error: a runtime type error in a filter skips the route and is logged."""
    logger.warning("route filter failed; route skipped", extra={"route": route.name, "error": str(error)})


class Ingress:
    def __init__(self, deps: IngressDeps) -> None:
        self.deps = deps
        self.idempotency = IdempotencyConfig(
            expires_after_seconds=deps.idempotency_window_seconds,
            response_hook=self._mark_duplicate,
        )
        self._queued = threading.local()  # the event id this thread last queued (see record())
        self._record_once = idempotent_function(
            data_keyword_argument="event",
            persistence_store=deps.persistence,
            config=self.idempotency,
            key_prefix="hookline-ingress",
        )(self._record_and_queue)

    # -- the request

    def accept(self, source: str, headers: Mapping[str, str], body: bytes, context: Any = None) -> IngressResponse:
        deps = self.deps
        src = deps.config.sources.get(source)
        if src is None:
            return _error(404, f"unknown source {source!r}: no sources.{source} in the configuration", "unknown_source")
        limit = min(src.max_body_bytes or deps.max_body_bytes, deps.max_body_bytes)
        if len(body) > limit:
            return _error(413, f"body of {len(body)} bytes exceeds the {limit}-byte limit", "too_large")
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            secrets = deps.secrets.resolve_all(src.verify.secrets)
        except SecretResolutionError as e:
            logger.error("signing secret unavailable", extra={"source": source, "error": str(e)})
            return _error(503, "signing secret unavailable; retry later", "secret_unavailable")
        try:
            signatures.verify(src.verify, secrets, headers, body, now=deps.clock())
        except signatures.SourceMisconfigured as e:
            # The operator's problem, and a hint to a prober: the log says what, the caller learns nothing.
            logger.error("source cannot verify signatures", extra={"source": source, "error": str(e)})
            return _error(401, "signature verification failed", "signature")
        except signatures.SignatureError as e:
            logger.info("signature rejected", extra={"source": source, "error": str(e)})
            return _error(401, str(e), "signature")
        try:
            parsed = parse_body(body, headers.get("content-type"), src.format)
        except BodyParseError as e:
            return _error(400, str(e), "bad_body")

        event_id, id_signed = signatures.identify(src.verify, headers, body, parsed)
        event_type = signatures.event_type(src.verify, headers, parsed)
        # An id the signature does not cover (a header) could be rewritten on a captured request:
        # such events are remembered by their signed bytes, which a replay cannot change. The sender's
        # own redeliveries carry the same bytes, so they stay duplicates.
        dedupe_key = None if id_signed else signatures.body_digest(body)
        return self.record(source, event_id, event_type, _forwardable(headers, src.verify.header), body, parsed,
                           context=context, dedupe_key=dedupe_key)

    def record(self, source: str, event_id: str, event_type: str | None, headers: dict[str, str], body: bytes,
               parsed: Any, context: Any = None, dedupe_key: str | None = None) -> IngressResponse:
        """Record a verified (or pulled) event once and queue it for its matching routes.

        `dedupe_key` (default: the event id) is what "once" is decided on, within the idempotency window.
        """
        deps = self.deps
        logger.set_correlation_id(event_id)
        received_at = deps.clock()
        envelope = build_envelope(event_id=event_id, source=source, received_at=received_at, headers=headers,
                                  type=event_type, body=parsed)
        matched = deps.config.route_index.matching(source, envelope, on_error=filter_failed)
        routes = [r.name for r in matched]
        groups = ordering.groups_for(matched, envelope, event_id)  # {route: MessageGroupId}, ordered routes
        self.idempotency.register_lambda_context(context if context is not None else NominalContext())
        self._queued.event_id = None
        try:
            result = self._record_once(event={"source": source, "id": dedupe_key or event_id}, event_id=event_id,
                                       type=event_type, received_at=received_at, raw=body, headers=headers,
                                       routes=routes, groups=groups)
        except _SameIdOtherBytes:
            self._mark_duplicate({"id": event_id}, None)
            return IngressResponse(200, {"status": "duplicate", "id": event_id})
        except IdempotencyAlreadyInProgressError:
            count("InProgress")
            return IngressResponse(409, {"status": "in_progress", "id": event_id}, {"Retry-After": "1"})
        except IdempotencyPersistenceLayerError as e:
            if self._queued.event_id != event_id:
                logger.error("event not recorded; sender should retry", extra={"error": _describe(e)})
                return _error(503, "event store or queue unavailable; nothing was recorded, retry later",
                              "unavailable")
            # Only the record's final "completed" write failed: the event is queued, so it is accepted.
            # Copies meet the in-progress record (409) until it expires; delivery keys keep one effect.
            logger.warning("event queued; its idempotency record could not be completed",
                           extra={"error": _describe(e)})
            result = {"status": "accepted", "id": event_id}
        except (QueueUnavailable, ClientError, BotoCoreError) as e:
            logger.error("event not recorded; sender should retry", extra={"error": _describe(e)})
            return _error(503, "event store or queue unavailable; nothing was recorded, retry later", "unavailable")
        if result.get("status") == "duplicate":
            # The id first accepted: a replay under a new id is answered with the original's.
            return IngressResponse(200, {"status": "duplicate", "id": result.get("id") or event_id})
        count("Accepted")
        logger.info("event accepted", extra={"source": source, "routes": routes, "bytes": len(body)})
        return IngressResponse(202, {"status": "accepted", "id": event_id})

    # -- inside the idempotency record

    def _record_and_queue(self, event: dict[str, str], event_id: str, type: str | None, received_at: float,
                          raw: bytes, headers: dict[str, str], routes: list[str],
                          groups: dict[str, str] | None = None) -> dict[str, str]:
        deps = self.deps
        digest = event["id"] if event["id"] != event_id else None  # keyed on the signed bytes, not the id
        before = deps.events.record_event(event_id=event_id, source=event["source"], type=type,
                                          received_at=received_at, routes=routes, body_sha256=digest) or {}
        if digest and self._accepted_with_other_bytes(event["source"], digest, before, received_at):
            raise _SameIdOtherBytes(event_id)
        # No item per route here: the `#event` item lists them, and delivery creates each one (EventLog reads
        # a missing one as received). One request per event instead of one per route.

        def tasks_with(**body: Any) -> list[DeliveryTask]:
            return [DeliveryTask(event_id=event_id, source=event["source"], route=route, type=type,
                                 received_at=received_at, headers=headers,
                                 content_type=headers.get("content-type"), **body)
                    for route in routes]

        inline = len(raw) <= deps.large_body_threshold
        if inline:
            text, encoding = DeliveryTask.encode_body(raw)
            tasks = tasks_with(body=text, body_encoding=encoding)
        # One copy per route must fit one SendMessageBatch; if not, S3 holds the body once (claim check).
        if not inline or sum(len(t.model_dump_json(exclude_none=True).encode()) for t in tasks) > MAX_BATCH_BYTES:
            key = f"payloads/{event['source']}/{hashlib.sha256(event_id.encode()).hexdigest()}"
            deps.payloads.put(key, raw, headers.get("content-type"))
            tasks = tasks_with(s3_key=key)
        groups = groups or {}  # ordered routes: their tasks go to the FIFO queue, in their record's group
        deps.publisher.publish([t for t in tasks if t.route not in groups])
        if groups:
            if deps.ordered_publisher is None:
                raise QueueUnavailable("ordered routes need the ordered delivery queue (ORDERED_QUEUE_URL)")
            deps.ordered_publisher.publish_grouped([(t, groups[t.route]) for t in tasks if t.route in groups])
        self._queued.event_id = event_id
        return {"status": "accepted", "id": event_id}

    def _accepted_with_other_bytes(self, source: str, digest: str, before: dict[str, Any], now: float) -> bool:
        """This id was received before with other signed bytes, which were accepted (still remembered).

        Only then is it a duplicate: bytes whose recording failed (a 503) left no idempotency record,
        so the sender's retry is the event. One read, only on this rare path.
        """
        earlier = before.get("body_sha256")
        if not earlier or earlier == digest:
            return False
        if float(before.get("received_at") or 0) < now - self.deps.idempotency_window_seconds:
            return False
        try:
            record = self.deps.persistence.get_record({"source": source, "id": earlier})
        except IdempotencyItemNotFoundError:
            return False
        return record is not None and not record.is_expired

    def _mark_duplicate(self, response: Any, data_record: Any) -> dict[str, str]:
        event_id = (response or {}).get("id", "")
        count("Duplicate")
        logger.info("duplicate dropped")
        try:
            self.deps.events.record_duplicate(event_id)
        except (ClientError, BotoCoreError) as e:  # a counter must not turn a duplicate into a 503
            logger.warning("duplicate not counted", extra={"error": _describe(e)})
        return {"status": "duplicate", "id": event_id}


class _SameIdOtherBytes(Exception):
    """A known event id with other signed bytes: a duplicate (raised inside the record, which is removed)."""


# Signatures prove nothing downstream, and credentials must not rest in queue and DLQ messages.
_DROPPED_HEADERS = SENSITIVE_HEADERS | {"x-amzn-trace-id", "content-length"}
# Names that carry credentials by convention (x-auth-token, api-key, x-amz-security-token, x-client-secret...).
_CREDENTIAL_NAME = re.compile(r"auth|token|secret|passw|api[-_]?key|session|cookie|signature|credential")


def _forwardable(headers: dict[str, str], signature_header: str | None) -> dict[str, str]:
    dropped = _DROPPED_HEADERS | ({signature_header.lower()} if signature_header else set())
    return {k: v for k, v in headers.items() if k not in dropped and not _CREDENTIAL_NAME.search(k)}


def _describe(e: Exception) -> str:
    if isinstance(e, ClientError):
        return f"{e.response.get('Error', {}).get('Code')}: {e.operation_name}"
    cause = e.__cause__ or (e.args[1] if len(e.args) > 1 and isinstance(e.args[1], Exception) else None)
    return f"{type(e).__name__}: {cause or e}"

