"""One queueing per (event, route).

Ingress can queue an event twice: a copy that arrives after the first invocation's deadline, when no
delivery has begun, queues it again (docs/INTERNALS.md, "Event log items and request budget"). Each
message carries its queueing's `chain` (DeliveryTask.chain: the accepting invocation's token), and
the first delivery claim of a route binds the route to that chain until the idempotency window ends
(delivery/claims.py). A message of another chain then steps aside instead of starting a second retry
sequence. Nothing is lost: the owning message stays on the queue until it ends delivered or in the
DLQ (a DLQ replay keeps the task, and so its chain). And a pair is never delivered by one message
and dead-lettered by the other.
"""

from __future__ import annotations

from contextvars import ContextVar

# The chain of the message whose claim is being taken on this thread, set by the delivery engine around
# its idempotent call (Powertools hands the persistence layer only the key). None: no binding (tasks
# queued before chains existed, and syncs, which queue once per claimed run).
CURRENT_CHAIN: ContextVar[str | None] = ContextVar("hookline_delivery_chain", default=None)


class ChainSuperseded(Exception):
    """Another queueing of this event owns the route's delivery: this message has nothing to do."""

    def __init__(self, owner: str) -> None:
        super().__init__(f"delivered by another queueing of this event (chain {owner})")
        self.owner = owner
