"""What the console reads and does, through the same code as the CLI's operations commands.

Pages never talk to AWS themselves: they ask a `Backend`, which reaches the stack the way
`hookline events / report / dlq` do (operations/stack.py's StackInfo, aws.EventLog,
operations/dlq.DeadLetterQueue) and returns the same domain objects those commands print.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from hookline.adapters.aws.guard_store import GuardStore
from hookline.adapters.aws.stores import EventLog, PayloadStore
from hookline.commands.dlq import _delivered_check, open_dlq
from hookline.commands.events import read_items
from hookline.core.dlq import DlqEntry
from hookline.core.errors import ConfigError
from hookline.delivery import enrich as enrichment
from hookline.delivery.send.http import HttpSender
from hookline.operations.destinations import destination_rows
from hookline.operations.dlq import (
    REPLAY_VISIBILITY_SECONDS,
    DlqFilter,
    MappingPreview,
    ReplayResult,
    ReplaySummary,
    entry_payload,
    pretty_json,
    preview_mapping,
    redact_headers,
    redact_text,
    replay,
    replay_held,
    sort_entries,
)
from hookline.operations.dlq_queue import DeadLetterQueues
from hookline.operations.stack import StackInfo
from hookline.secrets import SecretResolver
from hookline.validation import load_config

# Error codes that mean "these credentials may not do that" (SQS answers with either spelling).
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation",
                     "InvalidClientTokenId", "KMS.AccessDeniedException"})
# A receipt handle no queue ever issued: deleting it can only fail, and how it fails says whether
# the credentials may delete (ReceiptHandleIsInvalid) or not (AccessDenied).
_PROBE_HANDLE = "hookline-console-permission-probe"


_CLIENTS = threading.Lock()


@dataclass
class _SerialStack(StackInfo):
    """A StackInfo whose clients are created one at a time: boto3's default session is not
    thread-safe for that, and pages (one thread per request) and a replay thread create them."""

    def client(self, service: str) -> Any:
        with _CLIENTS:
            return super().client(service)

    def resource(self, service: str) -> Any:
        with _CLIENTS:
            return super().resource(service)


@dataclass
class Access:
    """Whether replay is allowed, and why not when it is not (said on every page)."""

    writable: bool
    why: str = ""


def probe_write_access(sqs: Any, dlq_url: str, delivery_queue_url: str | None) -> Access:
    """Ask SQS, without changing anything, whether these credentials may replay.

    Replay deletes each message from the DLQ once sent: sqs:DeleteMessage is probed with a receipt
    handle no queue ever issued, which can delete nothing. AWS checks authorization first, so
    AccessDenied means the action is not allowed; ReceiptHandleIsInvalid means it is. SendMessage
    is not probed: no request to it is certain to enqueue nothing (moto, for one, accepts an empty
    body). Credentials that may delete but not send fail each send, and `replay` deletes only
    after a send succeeded, so such a replay loses nothing and says why on the progress page.
    """
    if not delivery_queue_url:
        return Access(False, "the stack has no DeliveryQueueUrl output, so events cannot be sent back")
    try:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=_PROBE_HANDLE)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _DENIED or "AccessDenied" in code or status == 403:
            return Access(False, "these AWS credentials lack sqs:DeleteMessage on the DLQ")
    except Exception:  # noqa: S110 # nosec B110 - unreachable or odd answers are not proof of a missing permission
        pass
    return Access(True)


@dataclass
class ReplayJob:
    """One replay started from the DLQ page; its progress is polled by the browser."""

    id: str
    ids: list[str]
    rate: float | None
    started_at: float = field(default_factory=time.time)
    total: int | None = None
    results: list[ReplayResult] = field(default_factory=list)
    summary: ReplaySummary | None = None
    error: str | None = None
    done: bool = False
    kind: str = "replay"  # or "resend" (the Events page's re-send: the same loop, operations/resend.py)
    problems: dict[str, str] = field(default_factory=dict)  # a re-send's events it could not queue, and why

    def to_dict(self) -> dict[str, Any]:
        results = [{"id": r.entry.event_id, "route": r.entry.route, "outcome": r.outcome, "detail": r.detail,
                    "key": r.entry.message_id if self.kind == "resend" else None} for r in list(self.results)]
        return {"id": self.id, "total": self.total, "handled": len(results), "done": self.done,
                "error": self.error, "rate": self.rate, "results": results, "kind": self.kind,
                "problems": self.problems, "summary": self.summary.to_dict() if self.summary else None}


class Backend:
    """The stack as the console sees it; built once per `hookline console`."""

    def __init__(self, stack: StackInfo, config_path: Path | None = None, *, read_only: bool = False,
                 probe: Callable[[Any, str, str | None], Access] = probe_write_access) -> None:
        self.stack = _SerialStack(**{f.name: getattr(stack, f.name) for f in fields(stack)})
        self.config_path = config_path
        self._forced_read_only = read_only
        self._probe = probe
        self._access: Access | None = None
        self._jobs: dict[str, ReplayJob] = {}
        self._lock = threading.Lock()

    # -- where and who

    @property
    def origin(self) -> str:
        return self.stack.origin

    @property
    def access(self) -> Access:
        if self._access is None:
            if self._forced_read_only:
                self._access = Access(False, "started with --read-only")
            else:
                self._access = self._probe(self.stack.client("sqs"), self.stack.output("DeadLetterQueueUrl"),
                                           self.stack.outputs.get("DeliveryQueueUrl"))
        return self._access

    def config(self) -> Any | None:
        """The configuration (for route -> destination and the mapping diff), or None when absent/invalid."""

        path = self.config_file()
        if path is None or not path.exists():
            return None
        try:
            return load_config(path)
        except ConfigError:
            return None

    def config_file(self) -> Path:
        return self.stack.config_file(self.config_path)  # the same file as `hookline dlq replay --dry-run`

    # -- the event log

    def event_log(self) -> Any:
        return EventLog(self.stack.output("EventsTableName"), resource=self.stack.resource("dynamodb"))

    def items(self) -> list[dict[str, Any]]:
        """Every event log item, as `hookline events` and `hookline report` read them."""
        return read_items(self.stack)

    def event_items(self, event_id: str) -> list[dict[str, Any]]:
        return self.event_log().get(event_id)

    def archive_search(self, search: Any) -> list[Any]:
        """`hookline events search`'s answer (operations/archive_search.py): Athena, or DuckDB locally."""
        # lazy: DuckDB and the query engines load only when the Events page's search box is used.
        from hookline.operations.archive_search import engine_for

        return engine_for(self.stack).search(search)

    # -- destinations

    def destination_rows(self, config: Any) -> list[Any]:
        """What `hookline destinations --json` prints (commands/destinations.py): the breaker items of
        the records table (stack output RecordsTableName) and the event log, through `destination_rows`."""

        store = GuardStore(self.stack.output("RecordsTableName"), resource=self.stack.resource("dynamodb"))
        return destination_rows(config, store.breakers(), self.items(), time.time())

    # -- the DLQ

    def dlq(self) -> DeadLetterQueues:
        return open_dlq(self.stack)

    def dlq_depth(self) -> int:
        return self.dlq().approximate_count()

    def dlq_entries(self, flt: DlqFilter | None = None) -> list[DlqEntry]:
        entries = self.dlq().peek()
        return sort_entries(e for e in entries if flt is None or flt.matches(e))

    def load_s3(self) -> Callable[[str], bytes] | None:
        bucket = self.stack.outputs.get("PayloadBucketName")
        if not bucket:
            return None

        return PayloadStore(bucket, client=self.stack.client("s3")).get

    def shown_entry(self, entry: DlqEntry) -> dict[str, Any]:
        """What `hookline dlq show` shows of one entry: headers, payload and mapped body, redacted alike."""
        payload, problem = entry_payload(entry, self.load_s3())
        mapped = redact_text(entry.mapped_body) if entry.mapped_body is not None else None
        # Printed here, depth-safe: Jinja's tojson recurses, and a DLQ body may predate ingress's depth cap.
        return {"entry": entry, "headers": redact_headers(entry.task.headers) if entry.task else {},
                "payload": payload, "payload_problem": problem, "mapped": mapped,
                "payload_text": _shown(payload), "mapped_text": _shown(mapped)}

    def dry_run(self, ids: list[str], *, live_enrichment: bool = False
                ) -> tuple[list[DlqEntry], ReplaySummary, list[MappingPreview], bool]:
        """What `hookline dlq replay --id ... --dry-run [--live]` computes: outcome and mapping now, per entry.
        Enrichment steps run only with `live_enrichment` (the page has no --mock files to answer them)."""
        entries = self.dlq_entries(DlqFilter.of(ids=ids))
        config = self.config()
        load = self.load_s3()
        enrich = None
        if live_enrichment:
            enrich = ("live", enrichment.sender_fetch(HttpSender(SecretResolver())))
        base_dir = self.config_file().parent
        previews = [preview_mapping(e, config, load, base_dir, enrich) for e in entries]
        return entries, replay(entries, self.dlq(), dry_run=True), previews, config is not None

    def start_replay(self, ids: list[str], rate: float | None) -> ReplayJob:
        """Replay in a background thread through `replay_held`, the code `hookline dlq replay` runs."""
        if not self.access.writable:
            raise PermissionError(self.access.why)
        job = ReplayJob(id=uuid.uuid4().hex, ids=list(ids), rate=rate)
        with self._lock:
            self._jobs[job.id] = job

        def on_start(entries: list[DlqEntry]) -> None:
            job.total = len(entries)

        def run() -> None:
            try:
                job.summary = replay_held(
                    self.dlq(), DlqFilter.of(ids=ids), visibility_timeout=REPLAY_VISIBILITY_SECONDS,
                    on_start=on_start, rate=rate, is_delivered=_delivered_check(self.stack),
                    progress=job.results.append)
            except Exception as e:
                job.error = f"{type(e).__name__}: {e}"
            finally:
                job.done = True

        threading.Thread(target=run, name=f"replay-{job.id[:8]}", daemon=True).start()
        return job

    # -- re-send (operations/resend.py: the code behind `hookline events resend`)

    def resend_plan(self, ids: list[str], *, route: str | None = None, force: bool = False,
                    dry_run: bool = True) -> tuple[Any, Any | None]:
        """(operations.resend.Plan, the configuration): what `hookline events resend ID... [--route R]` queues."""
        # lazy: DuckDB and the query engines load only when an event is re-sent.
        from hookline.operations import resend as ops
        from hookline.operations.archive_search import engine_for

        config = self.config()
        if config is None:
            return ops.Plan(problems={i: f"no valid configuration at {self.config_file()}: a re-send goes through "
                                         "the configured routes (start the console with --config FILE)"
                                      for i in ids}), None
        events = ops.archived_events(engine_for(self.stack), ids)
        bucket = self.stack.outputs.get("PayloadBucketName")
        put = ops.payload_putter(PayloadStore(bucket, client=self.stack.client("s3"))) if bucket and not dry_run \
            else None
        return ops.plan(ids, events, config, log_items=self.event_log().get, route=route, force=force,
                        load_payload=self.load_s3(), put_payload=put), config

    def resend_dry_run(self, ids: list[str], *, route: str | None = None, force: bool = False,
                       live_enrichment: bool = False) -> tuple[Any, list[MappingPreview]]:
        """What `hookline events resend ... --dry-run [--live]` computes: each re-send's request and body."""
        # lazy: DuckDB, the query engines and boto3's queues load only when an event is re-sent.
        from hookline.operations.resend import entry_of

        plan, config = self.resend_plan(ids, route=route, force=force)
        enrich = ("live", enrichment.sender_fetch(HttpSender(SecretResolver()))) if live_enrichment else None
        base_dir = self.config_file().parent
        return plan, [preview_mapping(entry_of(t), config, self.load_s3(), base_dir, enrich) for t in plan.tasks]

    def start_resend(self, ids: list[str], rate: float | None, *, route: str | None = None,
                     force: bool = False) -> ReplayJob:
        """Re-send in a background thread through operations.resend, the code `hookline events resend` runs."""
        # lazy: DuckDB, the query engines and boto3's queues load only when an event is re-sent.
        from hookline.operations import resend as ops

        if not self.access.writable:
            raise PermissionError(self.access.why)
        job = ReplayJob(id=uuid.uuid4().hex, ids=list(ids), rate=rate, kind="resend")
        with self._lock:
            self._jobs[job.id] = job

        def run() -> None:
            try:
                plan, config = self.resend_plan(ids, route=route, force=force, dry_run=False)
                job.problems, job.total = plan.problems, len(plan.tasks)
                publish = ops.stack_publisher(self.stack, config, self.load_s3(), time.time)
                job.summary = ops.resend(plan.tasks, publish, rate=rate, progress=job.results.append)
            except Exception as e:
                job.error = f"{type(e).__name__}: {e}"
            finally:
                job.done = True

        threading.Thread(target=run, name=f"resend-{job.id[:8]}", daemon=True).start()
        return job

    def job(self, job_id: str) -> ReplayJob | None:
        with self._lock:
            return self._jobs.get(job_id)


def _shown(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else pretty_json(value)
