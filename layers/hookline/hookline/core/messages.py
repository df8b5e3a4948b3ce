"""The queue message: small, versioned, validated at both ends (never an untyped dict)."""

from __future__ import annotations

import base64
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
    """One event for one route. Either `body` (inline) or `s3_key` (claim check) is set."""

    model_config = ConfigDict(extra="forbid")

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
