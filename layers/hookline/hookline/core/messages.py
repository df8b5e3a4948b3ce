"""The queue message: small, versioned, validated at both ends (never an untyped dict)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

# SendMessageBatch: at most 10 entries, and the bodies together within 256 KiB (also one message's limit).
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
T = TypeVar("T")


def batches(bodies: list[T], body: Callable[[T], str] = str) -> list[list[T]]:
    """Message bodies (or items carrying one) in order, grouped within SendMessageBatch's entry count
    and payload size."""
    out: list[list[T]] = []
    size = 0
    for item in bodies:
        n = len(body(item).encode())
        if not out or len(out[-1]) >= MAX_BATCH_ENTRIES or size + n > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += n
    return out


class DeliveryTask(BaseModel):
    """One event for one route. Either `body` (inline) or `s3_key` (claim check) is set.

    Validated where it is read (delivery, the DLQ tools: `model_validate_json`). Ingress and sync write
    it without pydantic's validator and serializer (`DeliveryTask.new`, `task_json`): their build, with
    pydantic's one-time warm-up, was ~20 ms of ingress's first request; hence `defer_build`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    v: Literal[1] = 1
    event_id: str = Field(min_length=1)
    source: str
    route: str
    type: str | None = None
    received_at: float
    headers: dict[str, str] = Field(default_factory=dict)
    content_type: str | None = None
    body: str | None = None
    body_encoding: Literal["utf-8", "base64"] = "utf-8"
    s3_key: str | None = None
    # Attempts made before this message existed (a replay keeps its history and counts on from it).
    prior_attempts: int = Field(default=0, ge=0)
    # In the DLQ only: what the route's enrichment steps returned on the failed attempt, shown by
    # `hookline dlq replay --dry-run`. Delivery ignores it: a replay enriches afresh.
    enriched: dict[str, Any] | None = None
    # Attempts of the current retry schedule made by earlier copies of this message: a deferral
    # (rate limit, breaker hold) re-enqueues the task instead of spending a receive, and carries
    # the count on (delivery/outcomes/deferral.py). A DLQ replay starts a fresh schedule (0).
    schedule_attempts: int = Field(default=0, ge=0)
    # When the circuit breaker first held this event (epoch seconds); max_hold_seconds counts from it.
    held_since: float | None = None
    # Which queueing of the event this message belongs to (ingress: the accepting invocation's token);
    # the first to claim a route owns its delivery, others step aside (core/chains.py).
    chain: str | None = None
    # On a copy a deferral re-enqueued: the deferring message's chain. The route passes from that chain
    # to this copy's own (a fresh one) at the copy's first claim or deferral (core/chains.py).
    parent: str | None = None
    # A re-send (`hookline events resend`): a new delivery of the event, `resend-<n>`. Its claim,
    # Idempotency-Key and event log entry are the route's `<route>#resend-<n>` (`log_route`), so the
    # original's stay as they were and a re-send of a re-send is another number, never the original.
    resend: str | None = Field(default=None, pattern=r"^resend-[0-9]+$")
    # A re-send with `--force`: an ordered route's stale guard lets an older version through. None, not
    # False, when unset: exclude_none keeps every other message as it was (no bytes added).
    force: bool | None = None

    @property
    def log_route(self) -> str:
        """The route as the claim, the Idempotency-Key and the event log name this delivery."""
        return f"{self.route}#{self.resend}" if self.resend else self.route

    @model_validator(mode="after")
    def _one_body(self) -> DeliveryTask:
        if (self.body is None) == (self.s3_key is None):
            raise ValueError("exactly one of body and s3_key must be set")
        return self

    @classmethod
    def new(cls, *, event_id: str, source: str, route: str, type: str | None, received_at: float,
            headers: dict[str, str], content_type: str | None = None, chain: str | None = None,
            body: str | None = None, body_encoding: Literal["utf-8", "base64"] = "utf-8",
            s3_key: str | None = None) -> DeliveryTask:
        """A fresh task (fanout's fields), refused as validation would refuse it, without building pydantic's
        validator: model_construct after the checks that these fields' types and constraints make."""
        strings = {"event_id": event_id, "source": source, "route": route}
        optional = {"type": type, "content_type": content_type, "chain": chain, "body": body, "s3_key": s3_key}
        wrong = ([k for k, v in strings.items() if not isinstance(v, str)]
                 + [k for k, v in optional.items() if v is not None and not isinstance(v, str)])
        if not isinstance(received_at, int | float):
            wrong.append("received_at")
        if not (isinstance(headers, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in headers.items())):
            wrong.append("headers")
        if body_encoding not in ("utf-8", "base64"):
            wrong.append("body_encoding")
        if wrong or not event_id:
            raise ValueError(f"not a valid DeliveryTask: {', '.join(wrong) or 'event_id is empty'}")
        if (body is None) == (s3_key is None):
            raise ValueError("exactly one of body and s3_key must be set")
        fields: dict[str, Any] = {"event_id": event_id, "source": source, "route": route, "type": type,
                                  "received_at": float(received_at), "headers": headers,
                                  "content_type": content_type, "chain": chain}
        fields.update({"body": body, "body_encoding": body_encoding} if body is not None else {"s3_key": s3_key})
        return cls.model_construct(**fields)

    @staticmethod
    def encode_body(raw: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii"), "base64"

    def inline_body(self) -> bytes:
        if self.body is None:  # an assert would vanish under python -O
            raise ValueError("this task's body is in S3 (s3_key): read it from the payload store")
        return base64.b64decode(self.body) if self.body_encoding == "base64" else self.body.encode("utf-8")


_FIELDS = tuple(DeliveryTask.model_fields)
_FLOATS = frozenset(("received_at", "held_since"))
_INTS = frozenset(("v", "prior_attempts", "schedule_attempts"))


def task_json(task: DeliveryTask) -> str:
    """`task.model_dump_json(exclude_none=True)`, the same text, without pydantic's serializer (see
    DeliveryTask). Values whose JSON pydantic writes otherwise than `json.dumps` (non-finite or tiny floats,
    `enriched`'s Any, a wrong type set by model_construct/model_copy, lone surrogates) are left to pydantic."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(task, name)
        if value is None:
            continue
        kind = type(value)
        if name in _FLOATS:
            if kind is int:
                value = float(value)  # pydantic writes a float field's int as a float
            elif kind is not float or not (value == 0 or 1e-4 <= abs(value) < 1e16):
                return task.model_dump_json(exclude_none=True)
        elif name in _INTS:
            if kind is not int:
                return task.model_dump_json(exclude_none=True)
        elif name == "headers":
            if kind is not dict or not all(type(k) is str and type(v) is str for k, v in value.items()):
                return task.model_dump_json(exclude_none=True)
        elif kind is not (bool if name == "force" else str):
            return task.model_dump_json(exclude_none=True)  # enriched, or a wrong type
        out[name] = value
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: pydantic refuses it, in its own words
            return task.model_dump_json(exclude_none=True)
    return text
