"""operations/resend.py: the archived event read back through DuckDB, the re-send's number and routes, and a
bulk re-send's rate on an injected clock (the DLQ replay's loop)."""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest

from hookline.core.archive import event_record, line
from hookline.core.messages import DeliveryTask
from hookline.operations.archive_search import DuckDbArchive
from hookline.operations.resend import (
    ResendError,
    archived_events,
    build_task,
    fanout_publisher,
    next_resend,
    resend,
    routes_for,
)
from hookline.validation import parse_config


def task(event_id: str, route: str = "orders", body: bytes = b'{"id":1,"password":"hunter2"}',
         headers: dict[str, str] | None = None, **fields: Any) -> DeliveryTask:
    text, encoding = DeliveryTask.encode_body(body)
    return DeliveryTask(event_id=event_id, source="shop", route=route, type="order.created",
                        received_at=1_700_000_000.5,
                        headers={"content-type": "application/json", "x-api-token": "sekrit"} if headers is None
                        else headers, body=text, body_encoding=encoding, **fields)


def engine_over(*tasks: DeliveryTask) -> DuckDbArchive:
    data = b"".join(line(event_record(t, 1_700_000_001.0)) for t in tasks)
    return DuckDbArchive(lambda since: iter([data]))


CONFIG = {
    "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:X"], "header": "X-Sig"}}},
    "destinations": {"crm": {"url": "http://crm.invalid/c"}, "erp": {"url": "http://erp.invalid/e"}},
    "routes": [{"name": "orders", "source": "shop", "destination": "crm"},
               {"name": "ledger", "source": "shop", "destination": "erp"},
               {"name": "ordered", "source": "shop", "destination": "erp", "key": "body.id", "ordered": True}],
}


def test_the_archived_event_comes_back_as_archived_with_its_routes_and_the_resends_left_out() -> None:
    binary = bytes(range(256))
    found = archived_events(engine_over(task("e1"), task("e1", route="ledger"),
                                        task("e1", resend="resend-1"),  # a re-send's own line: not a route
                                        task("e2", body=binary, headers={}), task("e3")),
                            ["e1", "e2", "missing"])
    assert set(found) == {"e1", "e2"}
    e1 = found["e1"]
    assert e1.routes == ["ledger", "orders"] and e1.source == "shop" and e1.type == "order.created"
    assert e1.received_at == 1_700_000_000.5
    # The archive redacted the secret header and field: a re-send sends them as archived
    assert json.loads(e1.raw_body(None)) == {"id": 1, "password": "***"}
    assert e1.headers["x-api-token"] == "***"
    assert found["e2"].raw_body(None) == binary


def test_an_id_is_a_parameter_never_sql() -> None:
    evil = "x') OR 1=1 --"
    assert archived_events(engine_over(task("e1")), [evil]) == {}


def test_resend_numbers_count_on_per_route_and_a_resend_of_a_resend_is_the_next() -> None:
    log = [{"route": "orders"}, {"route": "orders#resend-1"}, {"route": "orders#resend-7"},
           {"route": "ledger#resend-3"}, {"route": "orders-eu#resend-9"}]
    assert next_resend(log, "orders") == "resend-8"
    assert next_resend(log, "ledger") == "resend-4"
    assert next_resend([], "orders") == "resend-1"
    t = task("e1", resend="resend-2")
    assert t.log_route == "orders#resend-2"
    with pytest.raises(ValueError):
        task("e1", resend="orders")  # only resend-<n>: never a name the original could have


def test_routes_of_a_resend_and_what_each_mistake_says() -> None:
    cfg = parse_config(CONFIG)
    [event] = archived_events(engine_over(task("e1"), task("e1", route="gone")), ["e1"]).values()
    assert routes_for(event, cfg) == ["orders"]  # 'gone' is no longer configured
    assert routes_for(event, cfg, route="ledger") == ["ledger"]
    assert routes_for(event, cfg, to="erp") == ["ledger", "ordered"]
    with pytest.raises(ResendError, match="--route nope: no such route"):
        routes_for(event, cfg, route="nope")
    with pytest.raises(ResendError, match="--to billing: no such destination"):
        routes_for(event, cfg, to="billing")


class Clock:
    """Monotonic time that moves only when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class Queue:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, DeliveryTask]] = []
        self.lock = threading.Lock()

    def publish(self, tasks: list[DeliveryTask]) -> None:
        with self.lock:
            self.sent += [(self.clock.now, t) for t in tasks]


def test_a_bulk_resend_of_200_at_20_per_second_never_sends_more_than_20_in_any_second() -> None:
    clock = Clock()
    queue = Queue(clock)
    tasks = [build_task(ev, "orders", "resend-1", ev.raw_body(None))
             for ev in archived_events(engine_over(*(task(f"e{i}") for i in range(200))),
                                       [f"e{i}" for i in range(200)]).values()]
    progress: list[str] = []
    summary = resend(tasks, queue.publish, rate=20.0, clock=clock, sleep=clock.sleep,
                     progress=lambda r: progress.append(r.outcome))
    assert summary.sent == 200 and len(queue.sent) == 200 and progress == ["sent"] * 200
    times = [at for at, _ in queue.sent]
    # Sends 1/20 s apart: every window of one second holds at most 20, and 200 take 9.95 s of (injected) waiting
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05 - 1e-9
    assert max(sum(1 for t in times if start <= t < start + 1.0 - 1e-9) for start in times) == 20
    assert clock.slept == pytest.approx(199 / 20)
    assert len({t.event_id for _, t in queue.sent}) == 200


def test_a_dry_run_queues_nothing() -> None:
    clock = Clock()
    queue = Queue(clock)
    [ev] = archived_events(engine_over(task("e1")), ["e1"]).values()
    summary = resend([build_task(ev, "orders", "resend-1", ev.raw_body(None))], queue.publish, dry_run=True)
    assert queue.sent == [] and summary.count("would_send") == 1


def test_a_queue_that_refuses_fails_that_event_and_the_loop_stops_after_five_in_a_row() -> None:
    def refuse(tasks: list[DeliveryTask]) -> None:
        raise RuntimeError("AccessDenied: sqs:SendMessage")

    [ev] = archived_events(engine_over(task("e1")), ["e1"]).values()
    tasks = [build_task(ev, "orders", f"resend-{n}", ev.raw_body(None)) for n in range(1, 9)]
    summary = resend(tasks, refuse)
    assert summary.count("failed") == 5 and summary.count("not_attempted") == 3
    assert "AccessDenied" in summary.results[0].detail


class Publisher:
    def __init__(self) -> None:
        self.plain: list[DeliveryTask] = []
        self.grouped: list[tuple[DeliveryTask, str]] = []

    def publish(self, tasks: list[DeliveryTask]) -> None:
        self.plain += tasks

    def publish_grouped(self, tasks: list[tuple[DeliveryTask, str]]) -> None:
        self.grouped += tasks


def test_an_ordered_routes_resend_goes_to_the_fifo_queue_in_its_records_group() -> None:
    cfg = parse_config(CONFIG)
    [ev] = archived_events(engine_over(task("e1", body=b'{"id": "cus_9"}')), ["e1"]).values()
    plain, ordered = Publisher(), Publisher()
    publish = fanout_publisher(cfg, plain, ordered)
    publish([build_task(ev, "ordered", "resend-1", ev.raw_body(None)),
             build_task(ev, "orders", "resend-1", ev.raw_body(None))])
    assert [t.route for t in plain.plain] == ["orders"]
    assert [(t.route, g) for t, g in ordered.grouped] == [("ordered", "ordered#cus_9")]


def test_a_large_body_goes_to_the_payload_store_as_fan_out_puts_it() -> None:
    [ev] = archived_events(engine_over(task("e1", body=json.dumps({"pad": "z" * 500}).encode())), ["e1"]).values()
    stored: dict[str, bytes] = {}

    def put(raw: bytes, content_type: str | None) -> str:
        stored["k"] = raw
        return "k"

    t = build_task(ev, "orders", "resend-1", ev.raw_body(None), large_body_threshold=100, put_payload=put)
    assert t.s3_key == "k" and t.body is None and json.loads(stored["k"]) == {"pad": "z" * 500}


def test_a_resends_fifo_deduplication_id_is_its_own() -> None:
    """SQS FIFO drops a message whose deduplication id it saw in the last 5 minutes: a re-send must not
    share the original's (nor another re-send's)."""
    from hookline.adapters.aws.stores import FifoPublisher

    class Sqs:
        def __init__(self) -> None:
            self.ids: list[str] = []

        def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
            self.ids += [e["MessageDeduplicationId"] for e in kwargs["Entries"]]
            return {}

    sqs = Sqs()
    original = task("e1", route="ordered")
    [ev] = archived_events(engine_over(original), ["e1"]).values()
    FifoPublisher("fifo", client=sqs).publish_grouped(
        [(original, "g"), (build_task(ev, "ordered", "resend-1", ev.raw_body(None)), "g"),
         (build_task(ev, "ordered", "resend-2", ev.raw_body(None)), "g")])
    assert len(set(sqs.ids)) == 3


def test_a_resends_attempts_count_towards_its_destinations_error_rate() -> None:
    from hookline.operations.destinations import destination_rows

    now = 1_900_000_000.0
    items = [{"event_id": "e1", "route": "orders", "status": "delivered",
              "attempts": [{"at": now - 60, "outcome": "delivered"}]},
             {"event_id": "e1", "route": "orders#resend-1", "status": "retrying",
              "attempts": [{"at": now - 30, "outcome": "retry"}]}]
    [crm] = [r for r in destination_rows(parse_config(CONFIG), {}, items, now) if r.name == "crm"]
    assert (crm.attempts, crm.failed) == (2, 1)


def test_on_athena_the_event_lines_are_one_parameterised_query_limited_to_the_days_from_since() -> None:
    class Athena:  # AthenaArchive.query's signature; the SQL and values it would send
        def __init__(self) -> None:
            self.asked: list[tuple[str, list[Any]]] = []

        def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
            self.asked.append((sql, params))
            return []

    athena = Athena()
    assert archived_events(athena, ["e1", "x' OR 1=1"], since=1_700_000_000.0) == {}
    [(sql, params)] = athena.asked
    assert sql.endswith("WHERE kind = 'event' AND id IN (?, ?) AND dt >= ?")
    assert params == ["e1", "x' OR 1=1", "2023-11-14"] and "OR 1=1" not in sql
