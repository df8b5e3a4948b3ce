"""The ports: what the capabilities need of the outside world, as `typing.Protocol`s.

Each matches what an existing adapter already offers (named at each class), so the adapters need
no base class and in-memory fakes can stand in for them in tests. A request the outside world refuses or
never answers raises core/errors.py's error (StoreUnavailable, QueueUnavailable, ...), never the SDK's:
the capabilities import no botocore. `wiring.Services` returns these
types. Names here are the roles; the adapters keep theirs (`adapters.aws.stores.EventLog` implements
`ports.EventLog`, `adapters.aws.claims.RouteClaims` implements `ports.ClaimStore`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hookline.core.config import DestinationConfig
    from hookline.core.messages import DeliveryTask
    from hookline.core.outcomes import HttpResult
    from hookline.core.targets import TargetMessage


class TaskQueue(Protocol):
    """The delivery queue, as ingress and sync fill it (adapters.aws.stores.QueuePublisher); a refusal raises
    QueueUnavailable."""

    def publish(self, tasks: list[DeliveryTask]) -> None: ...


class OrderedTaskQueue(TaskQueue, Protocol):
    """The FIFO delivery queue of `ordered: true` routes (adapters.aws.stores.FifoPublisher)."""

    def publish_grouped(self, tasks: list[tuple[DeliveryTask, str]]) -> None: ...


class DeliveryQueues(Protocol):
    """The SQS requests delivery makes itself (adapters.aws.delivery_queues.SqsDeliveryQueues); a refusal raises
    QueueUnavailable. A record's queue is named by its ARN (the event source's), as SQS hands it over."""

    def dead_letter(self, body: str, attributes: dict[str, Any]) -> None: ...

    def change_visibility(self, queue_arn: str, receipt_handle: str, seconds: int) -> None: ...

    def requeue(self, queue_arn: str, body: str, delay_seconds: int) -> None: ...


class PayloadStore(Protocol):
    """Bodies too large for a queue message, stored once under a key (adapters.aws.stores.PayloadStore); a
    refusal raises StoreUnavailable, a key with no body PayloadMissing."""

    def put(self, key: str, body: bytes, content_type: str | None = None) -> str: ...

    def get(self, key: str) -> bytes: ...


class EventLog(Protocol):
    """The event log as delivery and the readers see it: attempts per (event, route) (adapters.aws.stores.EventLog);
    a refusal raises StoreUnavailable."""

    def record_attempt(self, *, event_id: str, route: str, status: str, attempt: dict[str, Any] | None = None,
                       **fields: Any) -> None: ...

    def get(self, event_id: str) -> list[dict[str, Any]]: ...

    def scan(self) -> Iterator[dict[str, Any]]: ...


# A key of EventLogEntries.claim's answer: the guard outlived its entry (TTL, or the id since reused for another
# event): the reception it guards is over, nothing is left to queue or count.
ENTRY_GONE = "entry_gone"


# In the delivery function's result that a ClaimStore completes with: {"status", "attempt", "fields"}, which
# the claim's completion writes to the event log too (one write, not two).
LOG_KEY = "log"

# The route of an event's own item in the event log (its entry); the routes' items are keyed by name.
EVENT_ITEM = "#event"


class EventLogEntries(Protocol):
    """The event log's `#event` entry as ingress writes it: the conditional write that makes an event
    "once", its release after a failed queueing, duplicates counted (adapters.aws.event_log_entries.EventLogEntries).
    A refusal raises StoreUnavailable; another copy being recorded right now, EventInFlight."""

    def claim(self, *, event_id: str, source: str, type: str | None, received_at: float, routes: list[str],
              queue_by: float, token: str, window_start: float, digest: str | None = None,
              body_sha256: str | None = None, guard_seconds: float | None = None,
              via: str | None = None, guard_on_record: bool = False) -> dict[str, Any] | None: ...

    def release(self, event_id: str, token: str, digest: str | None = None) -> bool: ...

    def count_duplicate(self, event_id: str, queued: bool = False) -> None: ...

    def delivery_started(self, event_id: str, received_at: float) -> bool: ...


class ClaimStore(Protocol):
    """Exactly-once claims of (event, route) beyond Powertools' idempotency record: handing a claim to a
    re-enqueued copy, and marking it before a dead letter (adapters.aws.claims.RouteClaims, which is also
    the Powertools persistence layer the engine passes to `idempotent_function`). A refusal other than the
    claim's terms (core/chains.py) raises StoreUnavailable."""

    def hand_over(self, idempotency_key: str, claimant: Any, until: float,
                  fields: dict[str, Any] | None = None) -> bool: ...

    def before_dead_letter(self, idempotency_key: str, claimant: Any, until: float,
                           fields: dict[str, Any]) -> None: ...


class GuardStore(Protocol):
    """The records table: per-record versions (stale guard), deferral counts, rate and concurrency
    slots, circuit breakers, each a conditional write (adapters.aws.guard_store.GuardStore)."""

    def get(self, pk: str, consistent: bool = True) -> dict[str, Any]: ...

    def claim_version(self, route: str, key: str, version: float, event_id: str, until: float,
                      now: float) -> tuple[bool, dict[str, Any]]: ...

    def commit_version(self, route: str, key: str, version: float, event_id: str, now: float) -> None: ...

    def release_version(self, route: str, key: str, event_id: str) -> None: ...

    def deferrals(self, route: str, event_id: str) -> tuple[int, float | None]: ...

    def add_deferral(self, route: str, event_id: str, held_since: float | None) -> None: ...

    def reserve_rate(self, destination: str, shard: int, known_tat: float | None, new_tat: float,
                     now: float) -> tuple[bool, float | None]: ...

    def acquire_slot(self, destination: str, slot: int, holder: str, until: float, now: float) -> bool: ...

    def release_slot(self, destination: str, slot: int, holder: str) -> None: ...

    def breaker(self, destination: str) -> dict[str, Any]: ...

    def breakers(self) -> dict[str, dict[str, Any]]: ...

    def record_failure(self, destination: str, now: float) -> dict[str, Any]: ...

    def open_breaker(self, destination: str, now: float, probe_at: float) -> bool: ...

    def claim_probe(self, destination: str, now: float, probe_deadline: float) -> bool: ...

    def probe_failed(self, destination: str, now: float, probe_at: float, probe_event: str | None = None,
                     probe_tries: int = 0, probe_limit: int = 0) -> None: ...

    def close_breaker(self, destination: str, now: float) -> None: ...

    def reset_failures(self, destination: str) -> None: ...


class SyncStateStore(Protocol):
    """A sync's state (lease, checkpoint, watermark) and the event log entries of pulled records
    (adapters.aws.sync_state.SyncStore)."""

    def get_state(self, name: str) -> dict[str, Any]: ...

    def all_states(self, names: list[str]) -> dict[str, dict[str, Any]]: ...

    def acquire(self, name: str, run_id: str, until: float) -> bool: ...

    def save(self, name: str, run_id: str, *, release: bool = False, remove: tuple[str, ...] = (),
             **fields: Any) -> None: ...

    def lookup(self, event_ids: list[str]) -> dict[str, dict[str, Any]]: ...

    def claim(self, item: dict[str, Any], run_id: str, until: float) -> bool: ...

    def write(self, items: list[dict[str, Any]]) -> None: ...


class Sender(Protocol):
    """One delivery attempt to an HTTP destination (delivery.send.http.HttpSender); `url` / `method`: this event's,
    for a destination whose url or method is templated (else the destination's own)."""

    def send(self, dest: DestinationConfig, *, event_id: str, route: str, body: bytes,
             content_type: str = "application/json", deadline: float | None = None, url: str | None = None,
             method: str | None = None) -> HttpResult: ...


class RequestSigner(Protocol):
    """AWS SigV4 for `auth: {aws_sigv4: ...}` destinations (adapters.aws.sigv4.SigV4Signer: botocore's signer
    with the function's role credentials): the headers to add to exactly this request."""

    def sign(self, *, method: str, url: str, headers: dict[str, str], body: bytes, service: str,
             region: str) -> dict[str, str]: ...


class WarehouseSink(Protocol):
    """`type: firehose` / `type: s3` destinations (adapters.aws.sinks.Warehouse): one NDJSON line, batched with
    the delivery batch's others; it answers as the HTTP sender does, so the engine's outcome rules apply."""

    def send(self, dest: DestinationConfig, *, body: bytes, name: str | None = None) -> HttpResult: ...


class TargetSender(Protocol):
    """`type: eventbridge | sqs | sns | lambda | stepfunctions` destinations (adapters.aws.targets.AwsTargets): one
    message (core/targets.py), batched where the API allows; it answers as the HTTP sender does."""

    def send(self, dest: DestinationConfig, message: TargetMessage, *, name: str) -> HttpResult: ...


class ArchiveSink(Protocol):
    """The event archive's Firehose stream (adapters.aws.archive.FirehoseArchive): one PutRecordBatch of
    NDJSON lines (core/archive.py); answers how many Firehose refused, raises when the call failed whole."""

    def put(self, lines: list[bytes]) -> int: ...


class Secrets(Protocol):
    """Secret references (env:, ssm:, secretsmanager:) resolved to values (secrets.SecretResolver)."""

    def resolve(self, ref: str) -> str: ...

    def resolve_all(self, refs: list[str]) -> list[str]: ...

    def interpolate(self, template: str) -> str: ...


class HttpsFetcher(Protocol):
    """GET of a URL already checked by the caller (ingress.sns: SNS certificates and confirmations);
    the body, or OSError. ingress.sns.HttpsGetter; tests pass one aimed at a local HTTPS server."""

    def get(self, url: str) -> bytes: ...


class HookSecretStore(Protocol):
    """Secrets a provider hands over in its handshake (Asana's X-Hook-Secret), kept where the source's
    `secrets` reference reads them (adapters.aws.hook_secrets.SsmHookSecrets: an SSM parameter)."""

    def put_new(self, name: str, value: str) -> str | None:
        """Store `value` under `name` unless something is there: None when stored, else the stored value."""
        ...
