"""How the event log reads: pure rules over its items, shared by the DynamoDB adapter and the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hookline.core.ports import EVENT_ITEM

__all__ = ["not_yet_attempted"]


def not_yet_attempted(items: list[dict[str, Any]],
                      seen: set[tuple[Any, Any]] | None = None) -> Iterator[dict[str, Any]]:
    """Ingress writes only the `#event` item (its `routes`); delivery creates each route's item when it
    first claims or records it. Until then the route's item reads as received."""
    if seen is None:
        seen = {(i.get("event_id"), i.get("route")) for i in items if i.get("route") != EVENT_ITEM}
    for event in items:
        if event.get("route") != EVENT_ITEM:
            continue
        for route in event.get("routes") or []:
            if (event["event_id"], route) not in seen:
                yield {"event_id": event["event_id"], "route": route, "status": "received",
                       "source": event.get("source"), "received_at": event.get("received_at"), "attempts": []}
