"""Ingress: verify a webhook, record it exactly once, queue one task per matching route.

Two requests per event: the `#event` item, written under a condition, is both the event log entry
and the idempotency record; then one queue request (SendMessage, or SendMessageBatch for several
routes). "Nothing is recorded on a 503": when the queueing fails, the item is deleted again (only
the item this invocation wrote), and the sender's retry is processed as new. A crash between the
two leaves a record nobody queued: its copies find that out (Ingress._copy) and queue it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from secrets import token_hex
from typing import Any, NamedTuple

from hookline.core import fanout, ports
from hookline.core.config import HooklineConfig
from hookline.core.envelope import BodyParseError, build_envelope, parse_body
from hookline.core.errors import EventInFlight, QueueUnavailable, SecretResolutionError, StoreUnavailable
from hookline.core.signing import body_digest
from hookline.ingress import providers, signatures
from hookline.ingress.providers.request import Request
from hookline.observability import SENSITIVE_HEADERS, count, count_event, logger

MAX_BODY_BYTES = 6 * 1024 * 1024  # the Lambda invocation payload limit


@dataclass(frozen=True)
class IngressResponse:
    status: int
    body: dict[str, Any] | str  # a str is sent as is (a handshake's text answer), with `content_type`
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"


@dataclass
class IngressDeps:
    config: HooklineConfig
    secrets: ports.Secrets
    publisher: ports.TaskQueue
    payloads: ports.PayloadStore
    entries: ports.EventLogEntries
    idempotency_window_seconds: int = 7 * 24 * 3600
    # How long the invocation that recorded an event may still be queueing it, when there is no Lambda
    # context to ask (its remaining time is used when there is): copies meanwhile get 409 (unless
    # delivery has begun); after it, a copy queues an event that no delivery has seen.
    in_flight_seconds: float = 30.0
    large_body_threshold: int = 200 * 1024
    max_body_bytes: int = MAX_BODY_BYTES
    clock: Callable[[], float] = time.time
    ordered_publisher: ports.OrderedTaskQueue | None = None  # `ordered: true` routes (FIFO queue)
    hook_secrets: ports.HookSecretStore | None = None  # handshakes that hand a secret over (Asana)
    sns: Any = None  # ingress.sns.SnsVerifier for `provider: sns` sources (made at the first SNS message)
    source_auth: Any = None  # ingress.source_auth.SourceAuth for `auth:` sources (made at the first request)


def _error(status: int, message: str, reason: str) -> IngressResponse:
    count("Rejected", reason=reason)
    return IngressResponse(status, {"error": message})


class Ingress:
    def __init__(self, deps: IngressDeps) -> None:
        self.deps = deps

    # -- the request

    def accept(self, source: str, headers: Mapping[str, str], body: bytes, context: Any = None, *,
               request: Request | None = None) -> IngressResponse:
        """`request`: the whole request (method, query, public URL, source IP) when the edge has it (the Lambda
        handler does); callers that have headers and body only get a POST without query or URL."""
        deps = self.deps
        src = deps.config.sources.get(source)
        if src is None:
            # The caller learns nothing of the configuration; the operator learns which name was asked for.
            name = source[:100]
            logger.warning(f"request for unknown source {name!r}: no sources.{name} in the configuration",
                           extra={"source": name, "configured": sorted(deps.config.sources)[:20]})
            return _error(404, "not found", "unknown_source")
        limit = min(src.max_body_bytes or deps.max_body_bytes, deps.max_body_bytes)
        if len(body) > limit:
            return _error(413, f"body of {len(body)} bytes exceeds the {limit}-byte limit", "too_large")
        provider = getattr(src, "provider", None)
        if provider is not None or (request is not None and request.method != "POST"):
            answered = self._handshake(source, src, provider, request or Request(headers=headers, body=body),
                                       context)
            if answered is not None:
                return answered
        headers = {k.lower(): v for k, v in headers.items()}
        if src.auth is not None:  # generic source auth (ingress/source_auth.py)
            return self._accept_auth(source, src, request or Request(headers=headers, body=body), context)
        try:
            secrets = deps.secrets.resolve_all(src.secret_refs)
        except SecretResolutionError as e:
            logger.error("signing secret unavailable", extra={"source": source, "error": str(e)})
            return _error(503, "signing secret unavailable; retry later", "secret_unavailable")
        # A catalog provider, or `verify: {scheme: X}`: the catalog entry X with the source's fields (ingress/providers)
        return self._accept_provider(source, src, secrets, request or Request(headers=headers, body=body), context)

    def _handshake(self, source: str, src: Any, provider: str | None, request: Request,
                   context: Any = None) -> IngressResponse | None:
        """A provider's handshake answered here (never an event, never queued), an SNS notification
        recorded, or None: the request goes on as an event. A method other than POST without a handshake
        of that method is 404, as before handshakes."""
        # lazy: only sources whose provider has a handshake (or a GET) load it
        from hookline.ingress import handshakes

        kind = handshakes.kind_of(provider)
        if kind is None:
            return _error(404, "not found", "method") if request.method != "POST" else None
        deps = self.deps
        if kind == "sns_subscription" and deps.sns is None:
            # lazy: like handshakes, only for the sources that need it
            from hookline.ingress.sns import SnsVerifier

            deps.sns = SnsVerifier(clock=deps.clock)
        hs = handshakes.for_source(source, src, provider, request, deps.secrets, now=deps.clock(),
                                   hook_secrets=deps.hook_secrets, sns=deps.sns)
        try:
            answer = handshakes.answer(kind, request, hs)
            if answer is None and kind == "sns_subscription" and request.method == "POST":
                message = handshakes.sns_notification(request, hs)
                raw, parsed = handshakes.sns_messages.event_payload(message)
                # SNS posts text/plain: the event is the JSON message, Message decoded (docs/handshakes.md).
                headers = {**_forwardable(request.headers, None), "content-type": "application/json"}
                return self.record(source, message.message_id, message.topic_arn, headers, raw, parsed,
                                   context=context)
        except handshakes.HandshakeRefused as e:
            # Which check failed is the operator's to read; a prober learns nothing.
            logger.warning("handshake refused", extra={"source": source, "kind": kind, "error": str(e)})
            return _error(401, "authentication failed", "handshake")
        except SecretResolutionError as e:
            logger.error("handshake secret unavailable", extra={"source": source, "error": str(e)})
            return _error(503, "signing secret unavailable; retry later", "secret_unavailable")
        if answer is None:
            return _error(404, "not found", "method") if request.method != "POST" else None
        count("Handshake")
        logger.info("handshake answered", extra={"source": source, "kind": kind, "status": answer.status})
        return IngressResponse(answer.status, answer.body, dict(answer.headers), answer.content_type)

    def _accept_provider(self, source: str, src: Any, secrets: list[str], request: Request,
                         context: Any) -> IngressResponse:
        """A `provider:` or `verify:` source: verified as its catalog entry says, then the dedupe rules: the id alone
        when the signature covers it and a timestamp, else the signed bytes too."""
        try:
            if src.verify is not None:
                entry = signatures.entry_for(src.verify)
                verified = signatures.check(src.verify, secrets, request, now=self.deps.clock(), describe=False)
            else:
                entry = providers.load(src.provider)
                if src.public_url and request.url is not None:  # the URL the sender signed, behind a custom domain
                    query = request.url.partition("?")[2]
                    request = replace(request, url=f"{src.public_url}?{query}" if query else src.public_url)
                verified = providers.verify(entry, secrets, request, now=self.deps.clock(),
                                            tolerance_seconds=src.tolerance_seconds, id_path=src.id_path,
                                            type_path=src.type_path)
        except (providers.ProviderError, signatures.SourceMisconfigured) as e:
            # The operator's problem, and a hint to a prober: the log says what, the caller learns nothing.
            logger.error("source cannot verify signatures", extra={"source": source, "error": str(e)})
            return _error(401, "signature verification failed", "signature")
        except signatures.SignatureError as e:
            logger.info("signature rejected", extra={"source": source, "error": str(e)})
            return _error(401, str(e), "signature")
        headers, body = dict(request.headers), request.body
        try:
            parsed = parse_body(body, headers.get("content-type"), src.format)
        except BodyParseError as e:
            return _error(400, str(e), "bad_body")
        cfg = src.verify
        if cfg is not None:  # its paths search the body as its `format` parsed it (XML, form ...), as always
            found = providers.identify(entry, request, id_header=cfg.id_header, id_path=cfg.id_path,
                                       type_header=cfg.type_header, type_path=cfg.type_path, parsed_body=parsed)
            verified = replace(verified, event_id=found.event_id, event_type=found.event_type,
                               id_signed=found.id_signed)
        # No id in the request: the body's digest, which the signature covers.
        event_id, id_signed = verified.event_id or body_digest(body), verified.id_signed or not verified.event_id
        answer = self.record(source, event_id, verified.event_type, _forwardable(headers, entry.header), body,
                             parsed, context=context, **_replay_guard(body, id_signed, verified.timestamped))
        return _as_sender_expects(entry, answer)

    def _accept_auth(self, source: str, src: Any, request: Request, context: Any) -> IngressResponse:
        """An `auth:` source: every refusal is the same 401 (its reason logged), then the `provider:` dedupe rules
        when a method signs the body (hmac, provider), else the id is the request's (id_path) or the body's."""
        # lazy: only configurations with an auth: source load it (and PyJWT only for jwt).
        from hookline.ingress import source_auth

        deps = self.deps
        if deps.source_auth is None:
            deps.source_auth = source_auth.SourceAuth(deps.secrets, deps.clock)
        if src.public_url and request.url is not None:  # the URL the sender signed, behind a custom domain
            query = request.url.partition("?")[2]
            request = replace(request, url=f"{src.public_url}?{query}" if query else src.public_url)
        try:
            done = deps.source_auth.check(src.auth, request, where=f"sources.{source}.auth", id_path=src.id_path,
                                          type_path=src.type_path)
        except source_auth.AuthFailed as e:
            log = logger.error if e.misconfigured else logger.info
            log("authentication failed", extra={"source": source, "error": str(e)})
            return _error(401, "authentication failed", "auth")
        except SecretResolutionError as e:
            logger.error("source auth secret unavailable", extra={"source": source, "error": str(e)})
            return _error(503, "signing secret unavailable; retry later", "secret_unavailable")
        except source_auth.KeysUnavailable as e:
            logger.error("JWT keys unavailable", extra={"source": source, "error": str(e)})
            return _error(503, "authentication keys unavailable; retry later", "keys_unavailable")
        headers, body = dict(request.headers), request.body
        try:
            parsed = parse_body(body, headers.get("content-type"), src.format)
        except BodyParseError as e:
            return _error(400, str(e), "bad_body")
        forwarded = {k: v for k, v in _forwardable(headers, None).items() if k not in done.credential_headers}
        signed = done.signed
        if signed is not None:  # as a provider: source (the body's digest when no id; guarded unless signed)
            event_id = signed.event_id or body_digest(body)
            return self.record(source, event_id, signed.event_type, forwarded, body, parsed, context=context,
                               **_replay_guard(body, signed.id_signed or not signed.event_id, signed.timestamped))
        # A credential, not a signature: whoever holds it may send any bytes, so a replay guard on them adds
        # nothing (and would drop a sender's identical heartbeats for months): the id alone is "once".
        event_id, event_type = source_auth.identify(src.id_path, src.type_path, parsed)
        return self.record(source, event_id or body_digest(body), event_type, forwarded, body, parsed, context=context)

    def record(self, source: str, event_id: str, event_type: str | None, headers: dict[str, str], body: bytes,
               parsed: Any, dedupe_key: str | None = None, context: Any = None,
               via: str | None = None, guard_on_record: bool = False) -> IngressResponse:
        """Record a verified event once and queue it for its matching routes: one conditional write, one
        queue batch (docs/INTERNALS.md, "Event log items and request budget").

        The event id is "once" within the idempotency window; with `dedupe_key` (the digest of the signed
        bytes, `body_digest(body)`, when the signature does not cover the id or carries no
        timestamp) those bytes are "once" too, for the source's `replay_guard_days` when its signature
        carries no timestamp; `guard_on_record` gets the same from the record alone when the id is derived
        from the signed bytes (_replay_guard). `via`: written on the record when the event came another way than as a
        webhook ("reconcile": listed from the provider's API, reconcile/runner.py).
        """
        deps = self.deps
        digest = dedupe_key or body_digest(body)
        src = deps.config.sources.get(source)
        guard_days = src.replay_guard_days if src is not None and not _timestamped(src) else 0
        logger.set_correlation_id(event_id)
        received_at = deps.clock()
        envelope = build_envelope(event_id=event_id, source=source, received_at=received_at, headers=headers,
                                  type=event_type, body=parsed)
        matched = fanout.match(deps.config, envelope)
        routes, groups = matched.routes, matched.groups  # groups: {route: MessageGroupId}, ordered routes
        token = token_hex(8)
        # Until this invocation's deadline it may still be queueing; after it, it is certainly over.
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        in_flight = remaining() / 1000 if remaining else deps.in_flight_seconds
        try:
            earlier = deps.entries.claim(
                event_id=event_id, source=source, type=event_type, received_at=received_at, routes=routes,
                queue_by=received_at + in_flight, token=token,
                window_start=received_at - deps.idempotency_window_seconds, digest=dedupe_key,
                body_sha256=digest, guard_seconds=guard_days * 86400, guard_on_record=guard_on_record,
                **({"via": via} if via else {}))
        except EventInFlight:
            return _in_progress(event_id)
        except StoreUnavailable as e:
            return _unavailable(e)
        queued = _Queued(event_id, source, event_type, received_at, headers, body, routes, groups, token)
        if earlier is not None:
            return self._copy(earlier, queued, received_at, digest)
        try:
            self._queue(queued)
        except (QueueUnavailable, StoreUnavailable) as e:  # the queue, or the payload store for a large body
            self._release(event_id, token, dedupe_key)
            return _unavailable(e)
        count_event("Accepted", event_id=event_id, source=source, routes=routes, bytes=len(body))
        return IngressResponse(202, {"status": "accepted", "id": event_id})

    # -- a copy of a recorded event

    def _copy(self, earlier: dict[str, Any], event: _Queued, now: float, digest: str) -> IngressResponse:
        """No completion is written after the queue batch: a copy finds out whether its event was queued.

        A copy is the event only if its bytes are: another body under a recorded id (a capture sent
        with a rewritten id header) is refused and never queued, so it cannot replace the stored body.

        Queued for sure: marked `queued` by an earlier copy, no route to queue, or delivery has begun
        (it creates a route's item with its first claim). Otherwise, while the first invocation may
        still be queueing (`queue_by`), the copy waits (409); after that the first one ended without
        queueing (a crash between the write and the queue), and the copy queues the event. Queueing
        twice is harmless: each (event, route) is delivered under its own claim. A copy never queues a
        reception whose idempotency window is over (a replay the guard caught), nor one recorded
        without a digest (by a version before digests: its bytes cannot be compared).
        """
        first_id = earlier.get("event_id") or event.event_id
        if earlier.get("body_sha256") not in (None, digest):
            return _conflicting(first_id)
        if earlier.get(ports.ENTRY_GONE):
            count("Duplicate")
            logger.info("replay of an event whose record has expired dropped", extra={"first_id": first_id})
            return IngressResponse(200, {"status": "duplicate", "id": first_id})
        recorded_routes = list(earlier.get("routes") or [])
        received = float(earlier.get("received_at") or 0)
        over = received < now - self.deps.idempotency_window_seconds or earlier.get("body_sha256") is None
        try:
            known = (over or bool(earlier.get("queued")) or not recorded_routes
                     or self.deps.entries.delivery_started(first_id, received))
            if not known:
                if now < float(earlier.get("queue_by") or 0):
                    return _in_progress(first_id)
                logger.warning("event recorded but never queued (its invocation ended first): queued now",
                               extra={"routes": recorded_routes})
                self._queue(event.as_recorded(first_id, earlier, recorded_routes))
        except (QueueUnavailable, StoreUnavailable) as e:
            return _unavailable(e, "event store or queue unavailable while checking a copy; retry later")
        count("Duplicate")
        logger.info("duplicate dropped")
        try:
            self.deps.entries.count_duplicate(first_id, queued=not earlier.get("queued"))
        except StoreUnavailable as e:  # a counter must not turn a duplicate into a 503
            logger.warning("duplicate not counted", extra={"error": str(e)})
        # The id first accepted: a replay under a new id is answered with the original's.
        return IngressResponse(200, {"status": "duplicate", "id": first_id})

    def _release(self, event_id: str, token: str, digest: str | None) -> None:
        try:
            self.deps.entries.release(event_id, token, digest)
        except StoreUnavailable as e:
            # The record stays: copies wait (409) until `queue_by`, then queue the event themselves.
            logger.warning("event record not released after a failed queueing", extra={"error": str(e)})

    # -- queueing

    def _queue(self, event: _Queued) -> None:
        deps = self.deps
        tasks = fanout.tasks(event_id=event.event_id, source=event.source, type=event.type,
                             received_at=event.received_at, headers=event.headers, body=event.body,
                             routes=event.routes, payloads=deps.payloads,
                             large_body_threshold=deps.large_body_threshold, chain=event.chain)
        fanout.publish(tasks, lambda t: event.groups.get(t.route), deps.publisher, deps.ordered_publisher)


class _Queued(NamedTuple):
    """What the tasks of one event are made of. A NamedTuple, not a frozen dataclass: ~0.2 ms to define
    where the dataclass was ~1.2 ms of ingress's cold import."""

    event_id: str
    source: str
    type: str | None
    received_at: float
    headers: dict[str, str]
    body: bytes
    routes: list[str]
    groups: dict[str, str]
    chain: str  # the invocation that queues it (core/chains.py)

    def as_recorded(self, event_id: str, item: dict[str, Any], routes: list[str]) -> _Queued:
        """This copy's bytes under the first copy's id, time and routes (a late queueing)."""
        return _Queued(event_id, self.source, item.get("type", self.type),
                       float(item.get("received_at") or self.received_at), self.headers, self.body, routes,
                       {r: g for r, g in self.groups.items() if r in routes}, self.chain)


def _replay_guard(body: bytes, id_signed: bool, timestamped: bool) -> dict[str, Any]:
    """How a signed event's bytes are kept "once" beside its id (docs/benchmarks.md, the cost rows).

    A signature with a timestamp over the id needs nothing more: a capture expires. An id the signature
    does not cover needs a guard keyed on the bytes' digest (a second item, in one transaction). An id
    derived from the signed bytes (an id path in the body, or the body's digest) without a timestamp
    meets equal bytes at one key: the record itself is the guard, kept for `replay_guard_days`.
    """
    if not id_signed:
        return {"dedupe_key": body_digest(body)}
    return {} if timestamped else {"guard_on_record": True}


def _timestamped(src: Any) -> bool:
    """Whether the source's signatures cover a timestamp checked against a tolerance (a capture expires)."""
    if src.verify is not None:
        return signatures.timestamped(src.verify)
    if src.provider is None:  # an auth: source (no catalog entry to load, and no exception per request for it)
        return False
    try:
        return providers.signs_timestamp(providers.load(src.provider))
    except providers.ProviderError:
        return False


def _as_sender_expects(entry: Any, answer: IngressResponse) -> IngressResponse:
    """An accepted event or a duplicate answered as the entry's [response] says: a sender that retries every
    status but 200 (Dropbox) would otherwise send each event again and again; a 409 or 503 stays as it is,
    since those do ask for a retry."""
    done = answer.status in (200, 202) and isinstance(answer.body, dict) and (
        answer.body.get("status") in ("accepted", "duplicate"))
    if not done or (entry.response_status is None and not entry.response_empty):
        return answer
    status = entry.response_status or answer.status
    if entry.response_empty:
        return IngressResponse(status, "", dict(answer.headers), None)
    return replace(answer, status=status)


def _conflicting(event_id: str) -> IngressResponse:
    count("ConflictingCopy")
    # The id only: the bodies are the sender's data, and either may be the forgery.
    logger.warning("copy with a different body under a recorded event id refused, not queued",
                   extra={"first_id": event_id})
    return IngressResponse(409, {"error": f"event {event_id!r} was already received with a different body; "
                                          "this copy was not queued. A new event needs a new id."})


def _in_progress(event_id: str) -> IngressResponse:
    count("InProgress")
    return IngressResponse(409, {"status": "in_progress", "id": event_id}, {"Retry-After": "1"})


_NOT_RECORDED = "event store or queue unavailable; nothing was recorded, retry later"


def _unavailable(e: Exception, message: str = _NOT_RECORDED) -> IngressResponse:
    # The adapters' text: AWS's code, operation and message (an AccessDenied names the permission to grant).
    logger.error("event not recorded; sender should retry", extra={"error": str(e)})
    return _error(503, message, "unavailable")


# Signatures prove nothing downstream, and credentials must not rest in queue and DLQ messages.
_DROPPED_HEADERS = SENSITIVE_HEADERS | {"x-amzn-trace-id", "content-length"}
# Names that carry credentials by convention (x-auth-token, api-key, x-amz-security-token, x-client-secret...).
_CREDENTIAL_NAME = re.compile(r"auth|token|secret|passw|api[-_]?key|session|cookie|signature|credential")


def _forwardable(headers: dict[str, str], signature_header: str | None) -> dict[str, str]:
    dropped = _DROPPED_HEADERS | ({signature_header.lower()} if signature_header else set())
    return {k: v for k, v in headers.items() if k not in dropped and not _CREDENTIAL_NAME.search(k)}

