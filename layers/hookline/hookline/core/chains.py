"""Which message may deliver an (event, route): one queueing, and no second run of a dead-lettered message.

Three cases made a pair both delivered and in the DLQ; the delivery claim (adapters/aws/claims.py) now
refuses the message in each, with no extra request (its conditional write checks, and the item it
returns on a failed condition says why):

- **Queued twice.** A copy that arrives at ingress after the first invocation's deadline, when no
  delivery has begun, queues the event again (docs/INTERNALS.md, "Event log items and request
  budget"). Each message carries its queueing's `chain` (DeliveryTask.chain: the accepting
  invocation's token), and the first claim binds the route to that chain until the idempotency
  window ends. A message of another chain steps aside (`ChainSuperseded`) instead of starting a
  second retry sequence. Nothing is lost: the owning message stays on the queue until it ends
  delivered or in the DLQ, and a DLQ replay keeps the task, so its chain.
- **Deferred, then handed back.** A deferral on the standard queue (rate limit, breaker hold)
  re-enqueues the task as a new message and acknowledges the old one. If the invocation dies in
  between, SQS hands the old message back and a second copy would be queued: two retry sequences
  again. So before it re-enqueues, the deferring message binds the route to its own chain (if it has
  one) and writes its id as `handed_over_by` (one conditional write, `RouteClaims.hand_over`), and the copy gets a
  fresh chain, with the deferring one as its `parent`. The route passes to the copy at the copy's
  first claim or deferral (the binding accepts the parent). The old message, handed back, cannot
  claim (`HandedOver`): not knowing whether its copy was sent, it defers again; of the copies, the
  first to claim or defer owns the route, and the others step aside.
- **Dead-lettered, then handed back.** When an invocation dies after sending a message to the DLQ
  but before SQS deletes it, the message comes back. Its pair is already in the DLQ (the route's item
  names the message, `dead_message_id`, written after the DLQ accepted it), so the message is
  acknowledged without another attempt (`AlreadyDeadLettered`). A replay is a new message.
  A dead letter sent without a claim (a mapping error, a destination down past max_hold) checks the
  same terms first, in one conditional write (`RouteClaims.before_dead_letter`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Claimant:
    message_id: str
    chain: str | None  # None: binds nothing (tasks queued by an older version, and syncs' tasks)
    parent: str | None = None  # a deferral's copy: the deferring message's chain, whose binding it takes over
    received_before: bool = False  # ApproximateReceiveCount > 1: it may have handed the route over already


# The message whose claim is being taken on this thread, set by the delivery engine around its
# idempotent call (Powertools hands the persistence layer only the key). None: no checks (scripts).
CURRENT_CLAIMANT: ContextVar[Claimant | None] = ContextVar("hookline_delivery_claimant", default=None)


class NotThisMessage(Exception):
    """The claim refused this message: it has nothing to do, and is acknowledged."""


class ChainSuperseded(NotThisMessage):
    """Another queueing of this event owns the route's delivery."""

    def __init__(self, owner: str) -> None:
        super().__init__(f"delivered by another queueing of this event (chain {owner})")
        self.owner = owner


class HandedOver(NotThisMessage):
    """This message deferred its route to a copy before (its acknowledgement was lost): defer again."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} re-enqueued its event before; deferring again")
        self.message_id = message_id


class AlreadyDeadLettered(NotThisMessage):
    """This message was sent to the DLQ before; its acknowledgement was lost."""

    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} was already sent to the DLQ; not attempted again")
        self.message_id = message_id
