"""Outcome figures over event log items, checked against a hand count."""

from __future__ import annotations

import pytest

from hookline.operations.report import DEFINITIONS, list_events, percentile, summarize


def event(eid: str, at: float, routes: list[str], duplicates: int = 0, source: str = "github") -> dict:
    return {"event_id": eid, "route": "#event", "source": source, "type": "issues", "received_at": at,
            "routes": routes, "duplicates": duplicates, "expires_at": 9_999_999_999}


def delivery(eid: str, route: str, at: float, status: str, attempts: int = 0, delivered_at: float | None = None,
             source: str = "github", **extra: object) -> dict:
    item = {"event_id": eid, "route": route, "source": source, "received_at": at, "status": status,
            "attempts": [{"at": at + i, "status_code": 500, "latency_ms": 10, "outcome": "retry"}
                         for i in range(attempts)], **extra}
    if delivered_at is not None:
        item["delivered_at"] = delivered_at
    return item


# The hand-counted log (see the expectations below).
ITEMS = [
    event("e1", 1000, ["A", "B"], duplicates=2),
    delivery("e1", "A", 1000, "delivered", 1, delivered_at=1001),
    delivery("e1", "B", 1000, "delivered", 3, delivered_at=1010),
    event("e2", 2000, ["A"]),
    delivery("e2", "A", 2000, "dead", 4, last_error="HTTP 503", reason="retries_exhausted"),
    event("e3", 3000, ["A"], duplicates=1),
    delivery("e3", "A", 3000, "retrying", 2),
    event("e4", 4000, [], source="stripe"),
    event("e5", 5000, ["B"]),
    delivery("e5", "B", 5000, "received", 0),
    event("e6", 6000, ["B"]),
    delivery("e6", "B", 6000, "delivered", 1, delivered_at=6002.5),
    event("e7", 7000, ["A"]),
    delivery("e7", "A", 7000, "skipped", 0),
]


def test_summary_matches_the_hand_count() -> None:
    report = summarize(ITEMS)
    a, b, total = report.routes["A"], report.routes["B"], report.total
    assert (a.received, a.delivered, a.retried, a.retries, a.dead, a.in_flight, a.skipped, a.duplicates) == \
        (4, 1, 2, 4, 1, 1, 1, 3)
    assert a.error_rate == 0.5
    assert (a.p50, a.p95) == (1, 1)
    assert (b.received, b.delivered, b.retried, b.retries, b.dead, b.in_flight, b.skipped, b.duplicates) == \
        (3, 2, 1, 2, 0, 1, 0, 2)
    assert b.error_rate == 0
    assert (b.p50, b.p95) == (2.5, 10)
    # Total: distinct events (7, one of them unrouted); deliveries summed over routes.
    assert (total.received, total.delivered, total.retried, total.retries, total.dead, total.in_flight,
            total.skipped, total.duplicates) == (7, 3, 3, 6, 1, 2, 1, 3)
    assert total.error_rate == 0.25
    assert (total.p50, total.p95) == (2.5, 10)
    assert report.unrouted == 1


def test_since_keeps_events_received_at_or_after_it() -> None:
    report = summarize(ITEMS, since=3000)
    a, b, total = report.routes["A"], report.routes["B"], report.total
    assert (a.received, a.delivered, a.retried, a.dead, a.in_flight, a.skipped, a.duplicates) == (2, 0, 1, 0, 1, 1, 1)
    assert a.error_rate is None and a.p50 is None
    assert (b.received, b.delivered, b.in_flight, b.p50) == (2, 1, 1, 2.5)
    assert (total.received, total.duplicates, report.unrouted) == (5, 1, 1)


def test_route_items_without_received_at_use_their_event_item() -> None:
    items = [event("x", 100, ["A"]), {**delivery("x", "A", 0, "delivered", 1, delivered_at=104), "received_at": None}]
    assert summarize(items).routes["A"].latencies == [4]
    assert summarize(items, since=101).routes == {}


def test_json_carries_figures_and_definitions() -> None:
    data = summarize(ITEMS).to_dict()
    assert data["routes"]["B"]["latency_p95_seconds"] == 10
    assert data["total"]["unrouted"] == 1
    assert data["total"]["received"] == 7
    assert data["definitions"] == DEFINITIONS
    assert {"received", "delivered", "retried", "dead", "duplicates", "error_rate", "latency"} <= set(DEFINITIONS)


@pytest.mark.parametrize(("values", "p", "expected"), [
    (list(range(1, 101)), 50, 50), (list(range(1, 101)), 95, 95), (list(range(1, 21)), 95, 19),
    ([3, 1, 2], 50, 2), ([5], 95, 5), ([], 50, None), ([1, 2], 50, 1),
])
def test_percentiles_use_the_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


def test_list_events_one_line_per_event_and_route_plus_unrouted_events() -> None:
    rows = list_events(ITEMS)
    assert [(r.event_id, r.route, r.status) for r in rows] == [
        ("e1", "A", "delivered"), ("e1", "B", "delivered"), ("e2", "A", "dead"), ("e3", "A", "retrying"),
        ("e4", None, "unrouted"), ("e5", "B", "received"), ("e6", "B", "delivered"), ("e7", "A", "skipped"),
    ]
    e2 = rows[2].to_dict()
    assert e2["attempts"] == 4 and e2["last_status_code"] == 500 and e2["last_error"] == "HTTP 503"
    assert e2["type"] == "issues" and e2["reason"] == "retries_exhausted"
    assert rows[1].latency == 10


def test_list_events_filters() -> None:
    def keys(**kw: object) -> list[tuple[str, str | None]]:
        return [(r.event_id, r.route) for r in list_events(ITEMS, **kw)]

    assert keys(status=["dead", "retrying"]) == [("e2", "A"), ("e3", "A")]
    assert keys(route=["B"]) == [("e1", "B"), ("e5", "B"), ("e6", "B")]
    assert keys(source=["stripe"]) == [("e4", None)]
    assert keys(since=5000) == [("e5", "B"), ("e6", "B"), ("e7", "A")]
    assert keys(event_id=["e1"], route=["A"]) == [("e1", "A")]
    assert keys(status=["delivered"], route=["A"], since=2000) == []


def test_sync_state_items_are_neither_events_nor_deliveries() -> None:
    items = [{"event_id": "#sync:orders", "route": "#state", "watermark": "5"},
             {"event_id": "orders:1@5", "route": "#event", "routes": ["r"], "received_at": 10.0},
             {"event_id": "orders:1@5", "route": "r", "status": "delivered", "received_at": 10.0}]
    report = summarize(items)
    assert set(report.routes) == {"r"} and report.total.received == 1
    assert [(r.event_id, r.route) for r in list_events(items)] == [("orders:1@5", "r")]
