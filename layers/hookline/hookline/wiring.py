"""Cold-start wiring: settings -> configuration -> adapters -> services, built once per process.

Handlers ask `services()` instead of building AWS clients at import time, so a handler
module imports without a region, and tests or `hookline dev` can `install()` their own.
Each property returns a port (core/ports.py) or a capability's service, so readers and tools keep
the types. Each function builds only what it uses: the adapters and services are imported inside
their properties (`# lazy:`), so the ingress function never loads delivery's engine, `requests` or
Powertools' idempotency, and the deliver function never loads ingress.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from hookline.core import ports
from hookline.core.config import HooklineConfig
from hookline.settings import Settings
from hookline.validation import load_config

if TYPE_CHECKING:
    from hookline.delivery.engine import Delivery
    from hookline.delivery.guards.guards import Guards
    from hookline.ingress.ingress import Ingress


class Services:
    def __init__(self, settings: Settings | None = None, **prebuilt: Any) -> None:
        self.settings = settings or Settings()
        # Prebuilt values shadow the cached properties below (same names).
        self.__dict__.update(prebuilt)

    @cached_property
    def config(self) -> HooklineConfig:
        return load_config(self.settings.hookline_config)

    @cached_property
    def secrets(self) -> ports.Secrets:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.secrets import SecretResolver

        return SecretResolver()

    @cached_property
    def publisher(self) -> ports.TaskQueue:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.stores import QueuePublisher

        return QueuePublisher(self.settings.delivery_queue_url)

    @cached_property
    def payloads(self) -> ports.PayloadStore:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.stores import PayloadStore

        return PayloadStore(self.settings.payload_bucket)

    @cached_property
    def events(self) -> ports.EventLog:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.stores import EventLog

        return EventLog(self.settings.events_table, ttl_seconds=self.settings.event_log_ttl_seconds)

    @cached_property
    def sync_state(self) -> ports.SyncStateStore:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.sync_state import SyncStore

        return SyncStore(self.events.table)

    @cached_property
    def event_log_entries(self) -> ports.EventLogEntries:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.event_log_entries import EventLogEntries

        return EventLogEntries(self.settings.events_table, ttl_seconds=self.settings.event_log_ttl_seconds)

    @cached_property
    def ordered_publisher(self) -> ports.OrderedTaskQueue:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.stores import FifoPublisher

        return FifoPublisher(self.settings.ordered_queue_url)

    @cached_property
    def guard_store(self) -> ports.GuardStore | None:
        if not self.settings.records_table:
            return None
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.guard_store import GuardStore

        return GuardStore(self.settings.records_table)

    @cached_property
    def guards(self) -> Guards | None:
        if self.guard_store is None:
            return None
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.delivery.guards.guards import Guards

        return Guards(self.guard_store)

    @cached_property
    def ingress(self) -> Ingress:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.hook_secrets import SsmHookSecrets
        from hookline.ingress.ingress import Ingress, IngressDeps

        s = self.settings
        return Ingress(IngressDeps(
            config=self.config, secrets=self.secrets, publisher=self.publisher, payloads=self.payloads,
            entries=self.event_log_entries, ordered_publisher=self.ordered_publisher,
            hook_secrets=SsmHookSecrets(),  # Asana's handshake secret; its SSM client is made at first use
            idempotency_window_seconds=s.idempotency_window_seconds,
            large_body_threshold=s.large_body_threshold_bytes, max_body_bytes=s.max_body_bytes,
        ))

    @cached_property
    def delivery_queues(self) -> ports.DeliveryQueues:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
        from hookline.adapters.aws.stores import sqs_client

        s = self.settings
        return SqsDeliveryQueues(sqs_client(), dlq_url=s.dlq_url, queue_url=s.delivery_queue_url,
                                 ordered_queue_url=s.ordered_queue_url)

    @cached_property
    def delivery_persistence(self) -> ports.ClaimStore:
        # Powertools keeps per-function state (key prefix, expiry) in its persistence layer object: one
        # per Services (a function's), never shared. Its records live in the event log's (event, route)
        # items: adapters/aws/claims.py.
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.claims import RouteClaims
        from hookline.adapters.aws.stores import dynamodb_client

        # A client of boto3's default session: without one, Powertools makes a session of its own, whose
        # loader reads botocore's data again (70-80 ms of the first invocation).
        return RouteClaims(self.settings.events_table, ttl_seconds=self.settings.event_log_ttl_seconds,
                           boto3_client=dynamodb_client())

    @cached_property
    def warehouse(self) -> ports.WarehouseSink:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.sinks import Warehouse

        return Warehouse()  # its Firehose and S3 clients are made at its first call

    @cached_property
    def targets(self) -> ports.TargetSender:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.targets import AwsTargets

        return AwsTargets()  # its clients are made at their first call

    @cached_property
    def archive(self) -> ports.ArchiveSink | None:
        if not self.settings.archive_stream or self.config.archive.retention_days == 0:
            return None
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.archive import FirehoseArchive

        return FirehoseArchive(self.settings.archive_stream)

    @cached_property
    def signer(self) -> ports.RequestSigner:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.adapters.aws.sigv4 import SigV4Signer

        return SigV4Signer()  # botocore finds the role's credentials at its first signature

    @cached_property
    def delivery(self) -> Delivery:
        # lazy: built on first use, by the functions that use it (see the module docstring).
        from hookline.delivery.engine import Delivery, DeliveryDeps

        s = self.settings
        return Delivery(DeliveryDeps(
            config=self.config, secrets=self.secrets, payloads=self.payloads, events=self.events,
            queues=self.delivery_queues, persistence=self.delivery_persistence,
            config_dir=s.hookline_config.parent, idempotency_window_seconds=s.idempotency_window_seconds,
            guards=self.guards, guard_store=self.guard_store, archive=self.archive,
            warehouse=self.warehouse, signer=self.signer, targets=self.targets,
        ))


_current: Services | None = None


def services() -> Services:
    global _current
    if _current is None:
        _current = Services()
    return _current


def install(value: Services | None) -> None:
    """Replace the process's services (tests, `hookline dev`); None rebuilds from the environment."""
    global _current
    _current = value
