"""The delivery engine: one SQS message = one event for one route, brought to its destination.

Ingress fans out (one DeliveryTask per matched route), so every route retries and
dead-letters on its own and one route's failure never re-sends another's success.

Per record (`Delivery.process`; steps 2-5 in prepare.py):

1. Read the DeliveryTask; a body that is not one goes to the DLQ (`invalid_task`).
2. Look up route, source and destination in the current configuration (gone: `config`).
3. Load the body (inline, or the S3 claim check: gone = `payload_missing`), parse it with
   the source's format (`payload_invalid`) and build the envelope.
4. Schema-drift quarantine: validate the body against the source's and then the route's JSON
   Schema (Draft 2020-12, formats checked). A mismatch is not mapped nor sent: DLQ `schema`,
   with the validation errors (JSON path + message) as last_error, and the SchemaDrift metric.
5. Map with the route's transform (`mapping`: the error names field, path and value type;
   counted as SchemaDrift too, since a mapping that stops fitting is drift) and write it in the
   destination's `format` (mapping/formats.py), or pass the original body through unchanged.
   A route with `enrich` steps (enrich.py) does its lookups, mapping and formatting inside
   step 6's once-per-key function instead, so an already delivered event makes no lookup; a
   lookup's HTTP failure is classified like a delivery attempt's.
6. Send once per `event_id:route`: the HTTP call runs inside a Powertools idempotent function
   keyed on the Idempotency-Key. It returns only on 2xx (record COMPLETED: any later copy of
   the message, or a retry after a crash past this point, gets the saved result and makes no
   request) and raises otherwise, so Powertools deletes the record and a retry sends again.
   A copy arriving while another is sending (IN_PROGRESS) is reported failed with a 5 s
   visibility and no other effect.
7. Outcome (core/outcomes.py's verdicts; outcomes/settle.py writes them): delivered; retryable ->
   ChangeMessageVisibility to the schedule's next delay (outcomes/retry.py) and report the item
   failed; permanent or retries exhausted -> send the task to the DLQ with its reason and
   acknowledge it.

Attempt numbers (outcomes/deferral.py): the retry schedule is indexed by the attempts of this schedule,
`schedule_attempts + ApproximateReceiveCount - deferrals` (deferrals: over a limit or held by the
breaker, guards/; they are re-enqueued, or counted apart on FIFO queues); a replayed message gets
the whole schedule again. The event log and the DLQ record the lifetime total (+ `prior_attempts`).

Records (guards/, when RECORDS_TABLE is set and the route or destination uses them): stale
guard, circuit breaker, concurrency lease and rate slot are checked between 5 and 6; what becomes
of a message they stop is outcomes/held_back.py. A FIFO batch (`ordered: true` routes) is
processed group by group (ordering.py).

The stages, one folder each: prepare.py and enrich.py (steps 2-5), guards/ (between 5 and 6),
send/ (step 6's HTTP call, warehouse line or AWS target call), outcomes/ (step 7); context.py is the message
they share.

Concurrency: `handle` runs a batch through Powertools' AsyncBatchProcessor; each record's
blocking work runs on a bounded thread pool, so a batch of ten to a slow destination takes
about one round trip. Metrics are emitted from the event loop's thread only; logs carry
event_id and route as per-call `extra` (Logger keys are process-global, threads share them).

DLQ message: core/dlq.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from pydantic import ValidationError

from hookline.budget import NominalContext
from hookline.core import outcomes, ports
from hookline.core.archive import ArchiveBatch
from hookline.core.archive import write as write_archive
from hookline.core.chains import CURRENT_CLAIMANT, NotThisMessage
from hookline.core.config import HooklineConfig, RouteConfig
from hookline.core.messages import DeliveryTask
from hookline.core.outcomes import HttpResult, truncate
from hookline.core.targets import AWS_TARGET_TYPES
from hookline.delivery import ordering
from hookline.delivery.context import Message, delivered_entry
from hookline.delivery.enrich import Enricher, EnrichFailed, sender_fetch
from hookline.delivery.guards import guards
from hookline.delivery.outcomes import deferral, retry
from hookline.delivery.outcomes.results import DELIVERED, IN_PROGRESS, RecordResult, observe
from hookline.delivery.outcomes.settle import Outcomes
from hookline.delivery.prepare import Job, Late, Permanent, Preparer, Retryable, request_for, serialize_mapped
from hookline.delivery.send.http import HttpSender
from hookline.delivery.send.targets import target_message
from hookline.mapping.errors import MappingError
from hookline.observability import count, logger
from hookline.secrets import SecretResolver

KEY_PREFIX = "hookline-delivery"


# ---------------------------------------------------------------- wiring


@dataclass
class DeliveryDeps:
    config: HooklineConfig
    secrets: SecretResolver
    payloads: ports.PayloadStore
    events: ports.EventLog
    queues: ports.DeliveryQueues  # dead letters, retry delays, deferred copies
    # A persistence layer of its own: Powertools keeps per-function state (key prefix, expiry) in it.
    persistence: BasePersistenceLayer
    sender: HttpSender | None = None
    warehouse: ports.WarehouseSink | None = None  # type firehose / s3 (wiring.Services.warehouse)
    targets: ports.TargetSender | None = None  # eventbridge / sqs / sns / lambda / stepfunctions (wiring.Services)
    signer: ports.RequestSigner | None = None  # auth: {aws_sigv4} destinations (wiring.Services.signer)
    archive: ports.ArchiveSink | None = None  # the event archive, one put per batch (core/archive.py)
    config_dir: Path = field(default_factory=Path.cwd)  # schema files are relative to the config file
    idempotency_window_seconds: int = 7 * 24 * 3600
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    rng: retry.Uniform = field(default_factory=random.Random)
    max_workers: int = 10  # the SQS event source's BatchSize
    in_progress_delay_seconds: int = 5
    time_reserve_seconds: float = 3.0  # of the invocation, kept for the bookkeeping after the HTTP calls
    # Records (guards/guards.py): stale guard, limits, breaker; None = none of them (no records table).
    guards: Any = None
    guard_store: Any = None  # adapters.aws.guard_store.GuardStore: deferral counters of ordered (FIFO) messages


class RetryLater(Exception):
    """Raised to Powertools' batch processor: report this record as a batch item failure."""


class _NotDelivered(Exception):
    """Raised inside the idempotent function on any non-2xx: Powertools deletes the record."""

    def __init__(self, result: HttpResult) -> None:
        super().__init__(result.error or f"HTTP {result.status_code}")
        self.result = result


# ---------------------------------------------------------------- the engine


class Delivery:
    def __init__(self, deps: DeliveryDeps) -> None:
        self.deps = deps
        self.sender = deps.sender or HttpSender(deps.secrets, pool_size=deps.max_workers, signer=deps.signer)
        self.idempotency = IdempotencyConfig(expires_after_seconds=deps.idempotency_window_seconds,
                                             response_hook=_mark_replayed)
        self._send_once = idempotent_function(
            data_keyword_argument="key",
            persistence_store=deps.persistence,
            config=self.idempotency,
            key_prefix=KEY_PREFIX,
        )(self._send)
        self._pool = ThreadPoolExecutor(max_workers=deps.max_workers, thread_name_prefix="hookline-deliver")
        self.outcomes = Outcomes(config=deps.config, events=deps.events, queues=deps.queues,
                                 claims=deps.persistence, guard_store=deps.guard_store, clock=deps.clock,
                                 rng=deps.rng, binding_seconds=deps.idempotency_window_seconds)
        self._prep = Preparer(deps.config, deps.payloads, deps.config_dir)
        self._transforms = self._prep.transforms  # compiled per route (tests put their own in)
        self.enricher = Enricher(deps.config, sender_fetch(self.sender), clock=deps.monotonic,
                                 base_dir=deps.config_dir)
        # boto3's default session creates clients thread-unsafely: build the lazy ones before any
        # worker thread runs (the event log now; the S3 client on first use, under a lock: prepare.py).
        _ = deps.events.table
        if deps.guard_store is not None:
            _ = deps.guard_store.table

    # -- the Lambda entry point

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """An SQS batch -> `{"batchItemFailures": [...]}` (ReportBatchItemFailures)."""
        if not event.get("Records"):
            return {"batchItemFailures": []}
        deadline = None
        if context is not None:
            deadline = (self.deps.monotonic() + context.get_remaining_time_in_millis() / 1000
                        - self.deps.time_reserve_seconds)
        # In-progress idempotency records expire with the invocation, so a copy of a message whose
        # invocation died mid-request is sent again. Without a Lambda context (`hookline dev`, scripts)
        # a nominal 15-minute budget stands in: never a record stuck IN_PROGRESS for the whole window.
        budget = context if context is not None else NominalContext(self.deps.monotonic)
        self.idempotency.register_lambda_context(budget)
        # The batch's archive lines, noted as each record finishes and written once all have.
        batch = ArchiveBatch(self.deps.clock) if self.deps.archive is not None else None
        if ordering.is_fifo_batch(event):
            return self._archived(batch, self._handle_ordered(event, deadline, batch))

        async def record_handler(record: SQSRecord) -> str:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self._pool, self.process, record, deadline)
            _note(batch, record, result)
            observe(result)
            if result.report_failure:
                raise RetryLater(f"{result.status}: {result.error or ''}")
            return result.status

        # Not raising when every record failed: a destination being down is not a function error.
        processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return self._archived(batch, async_process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context))

    def _archived(self, batch: ArchiveBatch | None, response: dict[str, Any]) -> dict[str, Any]:
        # After the batch's deliveries, and never failing them: write_archive logs and counts its failures.
        if batch is not None:
            write_archive(self.deps.archive, batch)
        return response

    def _handle_ordered(self, event: dict[str, Any], deadline: float | None,
                        batch: ArchiveBatch | None = None) -> dict[str, Any]:
        """A FIFO batch: each message group in order, groups concurrently (ordering.py)."""
        records = [SQSRecord(r) for r in event["Records"]]

        def one(record: SQSRecord) -> RecordResult:
            try:
                result = self.process(record, deadline)
            except Exception as e:  # logged by process(); the record returns after its visibility timeout
                return RecordResult(record.message_id, "error", error=type(e).__name__, left_on_queue=True)
            _note(batch, record, result)
            return result

        results, skipped = ordering.process_fifo_batch(records, one, lambda r: r.report_failure, self._pool)
        for result in results:
            observe(result)
        for record in skipped:  # behind an unfinished message of their group: SQS keeps them in order
            self.outcomes.change_visibility(record, 0)
        failed = [r.message_id for r in results if r.report_failure] + [r.message_id for r in skipped]
        return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- one record

    def process(self, record: SQSRecord, deadline: float | None = None) -> RecordResult:
        """Deliver one SQS record (blocking). Unexpected errors propagate: the record is retried."""
        receive_count = max(int(record.attributes.approximate_receive_count or 1), 1)
        try:
            task = DeliveryTask.model_validate_json(record.body)
        except ValidationError as e:
            return self.outcomes.unreadable(record, receive_count, e)
        schedule = list(self.deps.config.retry.schedule_seconds)
        deferrals, held_since = 0, task.held_since
        if receive_count > 1 and self.deps.guard_store is not None and ordering.is_fifo_record(record):
            deferrals, held_since = self.deps.guard_store.deferrals(task.route, task.event_id)
        counted = deferral.attempts(task, receive_count, deferrals)
        msg = Message(record, task, receive_count, counted.lifetime, schedule, self.deps.clock(),
                      schedule_attempt=counted.schedule_attempt, held_since=held_since)
        try:
            return self._process(msg, deadline)
        except Exception:
            logger.exception("delivery failed unexpectedly; the message returns after its visibility timeout",
                             extra={"event_id": task.event_id, "route": task.route, "message_id": record.message_id,
                                    "attempt": msg.attempt})
            raise

    def _process(self, msg: Message, deadline: float | None) -> RecordResult:
        try:
            job = self._prep.prepare(msg)
        except Permanent as p:
            return self.outcomes.dead(msg, p.reason, p.error, status_code=p.status_code)
        except Retryable as r:
            return self.outcomes.retry_or_dead(msg, error=r.error, category="payload_unavailable")
        if self.deps.guards is None or not guards.applies(job.route, job.destination):
            return self._attempt(msg, job, deadline)
        gate = self.deps.guards.before(
            event_id=msg.task.event_id, route=job.route, destination=job.destination, probe_limit=len(msg.schedule) + 1,
            envelope=self._record_envelope(msg, job.route), held_since=msg.held_since,
            deadline_epoch=None if deadline is None else self.deps.clock() + (deadline - self.deps.monotonic()))
        if not gate.proceed:
            return self.outcomes.not_sent(msg, gate)
        msg.probe, msg.gate = gate.admission is not None and gate.admission.kind == "probe", gate
        result = None
        try:
            result = self._attempt(msg, job, deadline)
        finally:
            requested = result is not None and result.latency_ms is not None
            opened = self.deps.guards.after(
                gate, delivered=result is not None and result.status == DELIVERED, requested=requested,
                answered=requested and result is not None and result.reason == outcomes.PERMANENT_HTTP)
            if opened:
                count("BreakerOpened")
                logger.warning("circuit breaker opened", extra={"destination": job.route.destination})
        return result

    def _attempt(self, msg: Message, job: Job, deadline: float | None) -> RecordResult:
        bound = CURRENT_CLAIMANT.set(msg.claimant)
        msg.claimed = True
        try:
            saved = self._send_once(key=msg.key, job=job, deadline=deadline, fields=msg.item_fields,
                                    message_id=msg.record.message_id, gate=msg.gate, envelope=msg.envelope)
        except IdempotencyPersistenceLayerError as e:
            refused = e.__cause__
            if not isinstance(refused, NotThisMessage):
                raise
            return self.outcomes.refused(msg, refused)
        except guards.NotOnTime as late:
            return self.outcomes.not_sent(msg, late.gate)
        except Permanent as p:  # enrichment or mapping inside the send (routes with `enrich`)
            msg.enriched = job.late.enriched if job.late else None
            return self.outcomes.dead(msg, p.reason, p.error, status_code=p.status_code)
        except IdempotencyAlreadyInProgressError:
            # Another copy of this message is sending right now: look again shortly, change nothing.
            self.outcomes.change_visibility(msg.record, self.deps.in_progress_delay_seconds)
            return RecordResult(msg.record.message_id, IN_PROGRESS, msg.task.event_id, msg.task.route, msg.attempt,
                                delay=self.deps.in_progress_delay_seconds,
                                error="another copy of this delivery is in progress")
        except _NotDelivered as nd:
            http = nd.result
            outcome = http.outcome
            if job.late is not None:
                msg.enriched = job.late.enriched
                job = replace(job, mapped_text=job.late.mapped_text)
            if outcome.permanent:
                return self.outcomes.dead(msg, outcome.reason or outcomes.PERMANENT_HTTP, http.error or "",
                                          http=http, status_code=http.status_code, mapped_text=job.mapped_text)
            if msg.probe:  # the breaker's probe failed: the event is held again, its schedule untouched
                return self.outcomes.probe_failed(msg, http)
            return self.outcomes.retry_or_dead(msg, http=http, error=http.error or "", category=outcome.reason,
                                               status_code=http.status_code, retry_after=http.retry_after,
                                               mapped_text=job.mapped_text)
        finally:
            CURRENT_CLAIMANT.reset(bound)
        return self.outcomes.delivered(msg, saved)

    # -- the HTTP call, once per event and route

    def _enrich_and_map(self, job: Job, late: Late, deadline: float | None) -> Job:
        try:
            late.enriched, _ = self.enricher.run(job.route, late.envelope, job.event_id, deadline)
        except EnrichFailed as e:
            late.enriched = e.enriched
            if e.http is not None:
                raise _NotDelivered(e.http) from None
            raise Permanent(e.reason, truncate(e.error)) from None
        transform = self._prep.transform(job.route)
        try:
            mapped = transform.apply({**late.envelope, "enriched": late.enriched})
        except MappingError as e:
            raise Permanent(outcomes.MAPPING, truncate(str(e))) from None
        except RecursionError:
            raise Permanent(outcomes.MAPPING, f"route {job.route.name!r}: the body is nested too deeply to map") \
                from None
        body, content_type, late.mapped_text = serialize_mapped(mapped, job.destination, transform)
        method, url = request_for(job.destination, {**late.envelope, "enriched": late.enriched}, mapped)
        return replace(job, body=body, content_type=content_type, mapped_text=late.mapped_text, url=url,
                       method=method)

    def _send(self, key: str, job: Job, deadline: float | None, fields: dict[str, Any] | None = None,
              message_id: str | None = None, gate: guards.Gate | None = None,
              envelope: dict[str, Any] | None = None) -> dict[str, Any]:
        if job.late is not None:
            job = self._enrich_and_map(job, job.late, deadline)
        if self.deps.guards is not None:  # after the claim's write, enrichment and mapping: the slot at the send
            self.deps.guards.on_time(gate)
        if job.destination.type in AWS_TARGET_TYPES:
            message = target_message(job.route, job.destination, body=job.body, delivery_key=key,
                                     event_id=job.event_id, envelope=envelope)
            result = self._targets().send(job.destination, message, name=job.route.destination)
        elif job.destination.type != "http":
            result = self._warehouse().send(job.destination, body=job.body, name=job.route.destination)
        else:
            # `key`'s route part is the task's log_route: a re-send's Idempotency-Key is its own.
            result = self.sender.send(job.destination, event_id=job.event_id,
                                      route=key.removeprefix(f"{job.event_id}:"), body=job.body,
                                      content_type=job.content_type, deadline=deadline, url=job.url,
                                      method=job.method)
        if not result.outcome.delivered:
            raise _NotDelivered(result)
        # Saved in the idempotency record: what a later copy of the message reports.
        saved = {"status_code": result.status_code, "at": result.started_at,
                 "latency_ms": round(result.latency_ms, 1), "delivered_at": self.deps.clock()}
        if getattr(self.deps.persistence, "logs_delivery", False):
            # adapters/aws/claims.py: the claim's completion writes the attempt too (one write, not two).
            saved[ports.LOG_KEY] = {"status": DELIVERED, "attempt": delivered_entry(saved, message_id),
                                    "fields": {"delivered_at": saved["delivered_at"], **(fields or {})}}
        return saved

    def _targets(self) -> ports.TargetSender:
        if self.deps.targets is None:  # a wiring mistake, not the destination's: say what to pass
            raise RuntimeError("an AWS target destination needs DeliveryDeps.targets "
                               "(adapters.aws.targets.AwsTargets; wiring.Services passes one)")
        return self.deps.targets

    def _warehouse(self) -> ports.WarehouseSink:
        if self.deps.warehouse is None:  # a wiring mistake, not the destination's: say what to pass
            raise RuntimeError("a firehose/s3 destination needs DeliveryDeps.warehouse "
                               "(adapters.aws.sinks.Warehouse; wiring.Services passes one)")
        return self.deps.warehouse

    def _record_envelope(self, msg: Message, route: RouteConfig) -> dict[str, Any] | None:
        # A forced re-send (`hookline events resend --force`) skips the version guard: an older version goes.
        return msg.envelope if route.key and route.version and not msg.task.force else None


# ---------------------------------------------------------------- helpers


def _note(batch: ArchiveBatch | None, record: SQSRecord, result: RecordResult) -> None:
    if batch is not None:
        batch.note(record.body, max(int(record.attributes.approximate_receive_count or 1), 1), status=result.status,
                   attempt=result.attempt, status_code=result.status_code, latency_ms=result.latency_ms,
                   reason=result.reason, replayed=result.replayed)


def _mark_replayed(response: Any, data_record: Any) -> dict[str, Any]:
    return {**(response or {}), "replayed": True}
