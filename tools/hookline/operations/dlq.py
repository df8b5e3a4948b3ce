"""The dead letter queue, for operators: list, explain, replay.

Domain part (no boto3): `DlqFilter` over `core.dlq.DlqEntry` (one DLQ message parsed; core owns the message),
`preview_mapping(...)` (what the current configuration would send now) and the stored payload
(`entry_payload`, redacted by operations/redaction.py). Adapter part: `DeadLetterQueue` over an injected SQS client.

Safety rules of a replay:

- Reading never consumes: listing receives with a short visibility timeout and makes every
  message visible again afterwards (also when interrupted).
- A message is deleted from the DLQ only after its copy was accepted by the delivery queue.
  An interruption can therefore never lose an event; the one window (sent, not yet deleted)
  leaves a copy in both queues, and delivery is idempotent per `event_id:route`, so the
  destination still sees it once. Before re-sending, `replay` can ask the event log whether
  the route was delivered meanwhile: such a leftover copy is deleted without a new send.
- The body is sent back verbatim: the DeliveryTask keeps `prior_attempts`, so the attempt
  history carries on from where it stopped.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import jmespath

from hookline.core.dlq import DlqEntry
from hookline.operations.redaction import (  # noqa: F401 (their home before operations/redaction.py)
    REDACTED,
    is_secret_key,
    pretty_json,
    redact,
    redact_headers,
    redact_text,
)
from hookline.operations.timeparse import format_epoch

SQS_MAX_VISIBILITY = 12 * 60 * 60


@dataclass(frozen=True)
class DlqFilter:
    """Which entries a command acts on; each given criterion must match (values within one: any)."""

    routes: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    since: float | None = None

    @classmethod
    def of(cls, routes: Iterable[str] | None = None, ids: Iterable[str] | None = None,
           reasons: Iterable[str] | None = None, since: float | None = None) -> DlqFilter:
        return cls(frozenset(routes or ()), frozenset(ids or ()), frozenset(reasons or ()), since)

    @property
    def empty(self) -> bool:
        return not (self.routes or self.ids or self.reasons) and self.since is None

    def matches(self, entry: DlqEntry) -> bool:
        if self.routes and entry.route not in self.routes:
            return False
        # An id is the event id, the DLQ message id, or `event_id:route`.
        if self.ids and not ({entry.event_id, entry.message_id, entry.key} & self.ids):
            return False
        if self.reasons and entry.reason not in self.reasons:
            return False
        if self.since is not None:
            at = entry.failed_at
            if at is None or at < self.since:
                return False
        return True

    def describe(self) -> str:
        parts = [f"route {', '.join(sorted(self.routes))}" if self.routes else "",
                 f"id {', '.join(sorted(self.ids))}" if self.ids else "",
                 f"reason {', '.join(sorted(self.reasons))}" if self.reasons else "",
                 f"since {format_epoch(self.since)}" if self.since is not None else ""]
        return "; ".join(p for p in parts if p) or "all"


def sort_entries(entries: Iterable[DlqEntry]) -> list[DlqEntry]:
    """Oldest failure first (stable for equal times)."""
    return sorted(entries, key=lambda e: (e.failed_at or 0.0, e.event_id or "", e.route or ""))


# ---------------------------------------------------------------- redaction: operations/redaction.py


# ---------------------------------------------------------------- replay (domain)


class ReplayError(Exception):
    """A send or delete the adapter could not do (the queue refused it); the replay goes on."""


class ReplayTarget(Protocol):
    def send(self, entry: DlqEntry) -> None: ...

    def delete(self, entry: DlqEntry) -> None: ...


# Outcomes of one entry.
SENT = "sent"  # on the delivery queue, deleted from the DLQ
SENT_NOT_DELETED = "sent_not_deleted"  # on the delivery queue, and still in the DLQ (delete failed)
ALREADY_DELIVERED = "already_delivered"  # the event log says delivered: DLQ copy deleted, nothing sent
SKIPPED = "skipped"  # not replayable (unreadable body)
FAILED = "failed"  # the send failed: still in the DLQ only
INTERRUPTED = "interrupted"  # the replay stopped while this one was in hand
NOT_ATTEMPTED = "not_attempted"  # the replay stopped before this one
WOULD_SEND = "would_send"  # dry run


@dataclass
class ReplayResult:
    entry: DlqEntry
    outcome: str
    detail: str = ""


@dataclass
class ReplaySummary:
    matched: int = 0
    results: list[ReplayResult] = field(default_factory=list)
    interrupted: str | None = None
    dry_run: bool = False

    def count(self, *outcomes: str) -> int:
        return sum(1 for r in self.results if r.outcome in outcomes)

    @property
    def sent(self) -> int:
        return self.count(SENT, SENT_NOT_DELETED)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED, ALREADY_DELIVERED, NOT_ATTEMPTED)

    @property
    def failed(self) -> int:
        return self.count(FAILED, INTERRUPTED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "matched": self.matched, "sent": self.sent, "skipped": self.skipped,
            "failed": self.failed, "interrupted": self.interrupted,
            "by_outcome": {o: self.count(o) for o in (SENT, SENT_NOT_DELETED, ALREADY_DELIVERED, SKIPPED, FAILED,
                                                      INTERRUPTED, NOT_ATTEMPTED, WOULD_SEND) if self.count(o)},
            "results": [{"id": r.entry.event_id, "route": r.entry.route, "message_id": r.entry.message_id,
                         "outcome": r.outcome, "detail": r.detail} for r in self.results],
        }


def parse_rate(text: str) -> float:
    """'10/s', '10', '600/m', '0.5/s' -> messages per second (> 0)."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$", str(text), re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"cannot read rate {text!r}: write N/s (e.g. 10/s) or N/m (e.g. 600/m), N > 0")
    per = (match.group(2) or "s").lower()
    return float(match.group(1)) / (60.0 if per.startswith("m") else 1.0)


MAX_CONSECUTIVE_FAILURES = 5


def replay(entries: list[DlqEntry], target: ReplayTarget, *, dry_run: bool = False, rate: float | None = None,
           is_delivered: Callable[[DlqEntry], bool] | None = None,
           progress: Callable[[ReplayResult], None] | None = None,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
           max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES) -> ReplaySummary:
    """Send each entry back for delivery, then delete it from the DLQ: never the other way round.

    A ReplayError from the target fails that entry only (it stays in the DLQ); after
    `max_consecutive_failures` in a row the replay stops (the queue is down). Any other
    exception, or Ctrl-C, stops the replay: the summary says where (`interrupted`), and the
    entries not yet handled stay in the DLQ.
    """
    summary = ReplaySummary(matched=len(entries), dry_run=dry_run)
    interval = 1.0 / rate if rate else 0.0
    start = clock()
    consecutive = 0

    def done(result: ReplayResult) -> None:
        summary.results.append(result)
        if progress is not None:
            progress(result)

    for index, entry in enumerate(entries):
        if consecutive >= max_consecutive_failures:
            summary.interrupted = f"stopped after {consecutive} failures in a row (last: {summary.results[-1].detail})"
            break
        if not entry.replayable:
            done(ReplayResult(entry, SKIPPED, entry.problem or "not a DeliveryTask"))
            continue
        if dry_run:
            done(ReplayResult(entry, WOULD_SEND))
            continue
        if interval:
            wait = start + index * interval - clock()
            if wait > 0:
                sleep(wait)
        stage = "checking the event log"
        try:
            if is_delivered is not None and _safe_is_delivered(is_delivered, entry):
                stage = "deleting"
                target.delete(entry)
                done(ReplayResult(entry, ALREADY_DELIVERED, "delivered meanwhile; DLQ copy removed"))
                consecutive = 0
                continue
            stage = "sending"
            target.send(entry)
        except ReplayError as e:
            consecutive += 1
            done(ReplayResult(entry, FAILED, f"{stage}: {e}"))
            continue
        except (KeyboardInterrupt, Exception) as e:
            summary.interrupted = f"{type(e).__name__} while {stage} {entry.key}: {e}".rstrip(": ")
            done(ReplayResult(entry, INTERRUPTED, f"while {stage}; it is still in the DLQ"))
            break
        consecutive = 0
        try:
            target.delete(entry)
        except ReplayError as e:
            done(ReplayResult(entry, SENT_NOT_DELETED, f"sent, but not deleted from the DLQ: {e}"))
            continue
        except (KeyboardInterrupt, Exception) as e:
            summary.interrupted = f"{type(e).__name__} while deleting {entry.key}: {e}".rstrip(": ")
            done(ReplayResult(entry, SENT_NOT_DELETED, "sent; interrupted while deleting it from the DLQ"))
            break
        done(ReplayResult(entry, SENT))
    handled = {id(r.entry) for r in summary.results}
    for entry in entries:
        if id(entry) not in handled:
            summary.results.append(ReplayResult(entry, NOT_ATTEMPTED, "replay stopped; still in the DLQ"))
    return summary


# How long a replay (`hookline dlq replay`, the console's) keeps the matching messages hidden from other
# readers while it works; a long replay extends the hold before it lapses.
REPLAY_VISIBILITY_SECONDS = 300


def replay_held(dlq: Any, flt: DlqFilter, *, visibility_timeout: int,
                on_start: Callable[[list[DlqEntry]], None] | None = None, **options: Any) -> ReplaySummary:
    """`hookline dlq replay` and the console's replay: hold the matching messages of `dlq`
    (operations.dlq_queue), then `replay` them.

    `on_start` sees the held entries (oldest failure first) before the first send; `options`
    go to `replay` (rate, is_delivered, progress).
    """
    with dlq.held(visibility_timeout=visibility_timeout, keep=flt.matches) as held:
        entries = sort_entries(held)
        if on_start is not None:
            on_start(entries)
        return replay(entries, dlq, **options)


def _safe_is_delivered(check: Callable[[DlqEntry], bool], entry: DlqEntry) -> bool:
    # The event log is an optimisation (delivery is idempotent anyway): when it cannot be read, send.
    try:
        return bool(check(entry))
    except Exception:
        return False


# ---------------------------------------------------------------- dry run: the mapping now


@dataclass
class MappingPreview:
    """What the current configuration would send for an entry, beside what was tried."""

    status: str  # unchanged | changed | not_recorded | error | route_removed | no_config | payload_missing
    # | unreadable | enrichment_failed | enrichment_not_run
    old: Any = None
    new: Any = None
    detail: str = ""
    enriched: dict[str, Any] | None = None  # what the enrichment steps answered in this dry run (or before failing)
    enrichment: str = ""  # where those answers came from: the fetch's name ("mock", "live"); "" = not run
    method: str | None = None  # the request line a replay would send now (a templated url/method filled in)
    url: str | None = None  # shown redacted (an api_key query parameter as ***)
    templated: bool = False  # the destination's url or method depends on the event

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "old_mapped_body": redact(self.old), "new_mapped_body": redact(self.new),
                "detail": self.detail, "enriched": redact(self.enriched), "enrichment": self.enrichment,
                "method": self.method, "url": self.url}


def _decode_old(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def preview_mapping(entry: DlqEntry, config: Any | None,
                    load_payload: Callable[[str], bytes] | None = None, base_dir: Any = None,
                    enrich: tuple[str, Any] | None = None) -> MappingPreview:
    """Rebuild the envelope from the stored task and apply the route's current transform.

    A route with enrichment steps runs them first, as the replay will, through `enrich` = (its name,
    an enrich.Fetch): canned answers (`--mock`, as in `hookline map try`) or the real calls. Without
    one no body is shown: the answers recorded with the failed attempt may be partial (a step that
    failed left its result out), and a body built from them looked clean while the replay failed again.
    """
    # lazy: every `hookline` run imports this module (commands/dlq.py); only previews need these.
    from hookline.core.envelope import BodyParseError, build_envelope, parse_body
    from hookline.mapping.compiler import MappingError, render

    old = _decode_old(entry.mapped_body)
    if config is None:
        return MappingPreview("no_config", old=old, detail="no configuration given: mapping not compared")
    task = entry.task
    if task is None:
        return MappingPreview("unreadable", old=old, detail=entry.problem or "")
    try:
        route = config.route(task.route)
    except KeyError:
        return MappingPreview("route_removed", old=old,
                              detail=f"route {task.route!r} is no longer configured; delivery will fail again")
    source = config.sources.get(task.source)
    fmt = source.format if source is not None else "auto"
    try:
        if task.s3_key is not None:
            if load_payload is None:
                return MappingPreview("payload_missing", old=old, detail=f"body in S3 ({task.s3_key}) not read")
            raw = load_payload(task.s3_key)
        else:
            raw = task.inline_body()
    except Exception as e:
        return MappingPreview("payload_missing", old=old, detail=f"cannot read the body: {e}")
    try:
        body = parse_body(raw, task.content_type, fmt)
        envelope = build_envelope(event_id=task.event_id, source=task.source, type=task.type,
                                  received_at=task.received_at, headers=task.headers, body=body)
    except (BodyParseError, MappingError) as e:
        return MappingPreview("error", old=old, detail=f"the current mapping fails: {e}")
    enriched, how = None, ""
    if route.enrich:
        ran = _enrich(config, route, envelope, task.event_id, enrich, base_dir)
        if isinstance(ran, MappingPreview):
            ran.old = old
            return ran
        enriched, how = ran, enrich[0] if enrich else ""
        envelope["enriched"] = enriched
    try:
        new = render(route.transform, envelope, base_dir)
    except MappingError as e:
        return MappingPreview("error", old=old, detail=f"the current mapping fails: {e}", enriched=enriched,
                              enrichment=how)
    line = _request_line(config, route, envelope, new)
    if isinstance(line, str):
        return MappingPreview("error", old=old, new=new, detail=line, enriched=enriched, enrichment=how)
    method, url, templated = line
    detail = ""
    if route.when:
        try:
            if not jmespath.search(route.when, envelope):
                detail = "the route's `when` filter no longer matches this event"
        except Exception as e:
            detail = f"the route's `when` filter fails on this event: {e}"
    if old is None:
        return MappingPreview("not_recorded", new=new, detail=detail or "the failed attempt's body was not recorded",
                              enriched=enriched, enrichment=how, method=method, url=url, templated=templated)
    return MappingPreview("unchanged" if old == new else "changed", old=old, new=new, detail=detail,
                          enriched=enriched, enrichment=how, method=method, url=url, templated=templated)


def _request_line(config: Any, route: Any, envelope: dict[str, Any], mapped: Any
                  ) -> tuple[str | None, str | None, bool] | str:
    """(method, url, templated) a replay would send now, or why it would make no request (a `mapping` failure)."""
    # lazy: every `hookline` run imports this module (commands/dlq.py); only previews need these.
    from hookline.core.auth import redact_url
    from hookline.mapping.errors import MappingError
    from hookline.mapping.urls import request_line, resolve_request

    dest = config.destinations.get(route.destination)
    if dest is None or dest.type != "http" or not dest.url:
        return None, None, False
    try:
        method, url = resolve_request(dest, envelope, mapped)
    except MappingError as e:
        return f"the destination's url/method fails: {e}; a replay would be dead-lettered again (mapping)"
    return method, redact_url(url, dest), request_line(dest).dynamic


def _enrich(config: Any, route: Any, envelope: dict[str, Any], event_id: str, enrich: tuple[str, Any] | None,
            base_dir: Any) -> dict[str, Any] | MappingPreview:
    """The route's enrichment answers, or the preview that says why there are none."""
    # lazy: every `hookline` run imports this module (commands/dlq.py); only previews need these.
    from hookline.delivery.enrich import Enricher, EnrichFailed

    steps = ", ".join(step.name for step in route.enrich)
    if enrich is None:
        return MappingPreview("enrichment_not_run", detail=(
            f"the route enriches the event first (steps: {steps}), and a replay calls them again; they were not "
            "run in this dry run, so it shows no body"))
    name, fetch = enrich
    try:
        enriched, _ = Enricher(config, fetch, base_dir=base_dir).run(route, envelope, event_id)
    except EnrichFailed as e:
        again = ("be retried on the route's schedule" if e.http is not None and not e.http.outcome.permanent
                 else "be dead-lettered again")
        return MappingPreview("enrichment_failed", detail=f"enrichment fails ({name}): {e.error}; a replay would "
                                                          f"{again}", enriched=e.enriched, enrichment=name)
    except Exception as e:  # a step with no mock answer, a secret that cannot be resolved here: say which
        return MappingPreview("enrichment_failed", detail=f"enrichment not completed ({name}): {e}",
                              enrichment=name)
    return enriched


def entry_payload(entry: DlqEntry, load_s3: Callable[[str], bytes] | None) -> tuple[Any, str | None]:
    """The stored body, parsed like ingress would (auto) and redacted; or (None, why not).

    What `hookline dlq show` and the console's event page show: one redaction for both.
    """
    # lazy: every `hookline` run imports this module (commands/dlq.py); only previews need these.
    from hookline.core.envelope import BodyParseError, parse_body

    task = entry.task
    if task is None:
        return redact_text(entry.body), None
    try:
        if task.s3_key is not None:
            if load_s3 is None:
                return None, f"the body is in S3 ({task.s3_key}) and the stack has no payload bucket output"
            raw = load_s3(task.s3_key)
        else:
            raw = task.inline_body()
    except Exception as e:
        return None, f"cannot read the body{f' (s3 key {task.s3_key})' if task.s3_key else ''}: {e}"
    if task.body_encoding == "base64" and task.s3_key is None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"{len(raw)} bytes of binary data"
    try:
        # No depth cap: a body stored before ingress had one is still shown redacted (redact is iterative).
        return redact(parse_body(raw, task.content_type, "auto", max_json_depth=None)), None
    except BodyParseError:
        return raw.decode("utf-8", errors="replace"), None


# ---------------------------------------------------------------- adapter
