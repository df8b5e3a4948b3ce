"""The event archive's lines (core/archive.py): what they keep, what they never keep, and that a failed write
changes nothing but a log line and the ArchiveFailed metric."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime

import pytest

from hookline.core import archive
from hookline.core.archive import ArchiveBatch, attempt_record, event_record, line, write
from hookline.core.messages import DeliveryTask
from hookline.observability import metrics
from tests.support.fakes import FakeArchive

SECRET = "sk_live_planted_4242"
RECEIVED = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC).timestamp()  # a day's last second: dt is UTC's day


def task(**kw) -> DeliveryTask:
    values = {"event_id": "evt_1", "source": "stripe", "route": "crm", "type": "customer.created",
              "received_at": RECEIVED, "headers": {"user-agent": "Stripe/1.0", "x-api-token": SECRET},
              "body": json.dumps({"data": {"customer": "cus_1", "password": SECRET,
                                           "card_number": "4242 4242 4242 4242"}, "note": "Zoë"})}
    return DeliveryTask(**{**values, **kw})


def test_an_event_line_keeps_what_a_resend_needs_and_no_secret() -> None:
    data = line(event_record(task(), now=RECEIVED + 1))
    assert SECRET.encode() not in data and b"4242 4242 4242 4242" not in data
    record = json.loads(data)
    assert {k: record[k] for k in ("kind", "id", "source", "type", "route", "received_at", "dt")} == {
        "kind": "event", "id": "evt_1", "source": "stripe", "type": "customer.created", "route": "crm",
        "received_at": RECEIVED, "dt": "2026-12-06"}
    assert json.loads(record["headers"]) == {"user-agent": "Stripe/1.0", "x-api-token": "***"}
    body = json.loads(record["body"])
    assert body["data"] == {"customer": "cus_1", "password": "***", "card_number": "***"}
    assert body["note"] == "Zoë" and record["body_encoding"] == "json"


def test_a_body_that_is_not_json_is_kept_as_one_json_string() -> None:
    text = json.loads(event_record(task(body="a=1&b=2"), 0)["body"])
    assert text == "a=1&b=2"
    raw = base64.b64encode(b"\xff\x00").decode()
    record = event_record(task(body=raw, body_encoding="base64"), 0)
    assert json.loads(record["body"]) == raw and record["body_encoding"] == "base64"


def test_a_claim_checked_body_is_kept_by_its_key() -> None:
    record = event_record(task(body=None, s3_key="payloads/evt_1"), 0)
    assert record["body"] is None and record["s3_key"] == "payloads/evt_1"


def test_an_attempt_line_has_the_outcome_and_no_body() -> None:
    record = attempt_record(task(), status="dead", attempt=3, status_code=410, latency_ms=12.345,
                            reason="permanent_http", at=5.0)
    assert record["status"] == "dead" and record["status_code"] == 410 and record["latency_ms"] == 12.3
    assert "body" not in record and "headers" not in record and record["dt"] == "2026-12-06"


def test_a_line_over_firehose_s_record_limit_drops_the_body_not_the_event(monkeypatch) -> None:
    monkeypatch.setattr(archive, "MAX_RECORD_BYTES", 400)
    record = json.loads(line(event_record(task(body=json.dumps({"x": "y" * 1000})), 0)))
    assert record["body"] is None and record["body_truncated"] is True and record["id"] == "evt_1"


def note(batch: ArchiveBatch, t: DeliveryTask, receive_count: int = 1, status: str = "delivered", **kw) -> None:
    batch.note(t.model_dump_json(), receive_count, status=status, attempt=kw.pop("attempt", 1),
               status_code=kw.pop("status_code", 200), latency_ms=5.0, reason=None, **kw)


def kinds(batch: ArchiveBatch) -> list[tuple[str, str]]:
    return [(r["kind"], r["id"]) for r in map(json.loads, batch.lines())]


def test_the_event_line_is_written_on_the_first_receive_only() -> None:
    batch = ArchiveBatch(clock=lambda: 10.0)
    note(batch, task(event_id="a"))  # first receive: event + attempt
    note(batch, task(event_id="b"), receive_count=2, status="retrying")  # a retry: attempt only
    note(batch, task(event_id="c", prior_attempts=4))  # a DLQ replay: attempt only
    note(batch, task(event_id="d", schedule_attempts=1, parent="x"))  # a deferral's copy: attempt only
    note(batch, task(event_id="e"), status="deferred")  # nothing sent: event only
    note(batch, task(event_id="f"), replayed=True)  # delivered earlier, no request now: event only
    assert kinds(batch) == [("event", "a"), ("attempt", "a"), ("attempt", "b"), ("attempt", "c"), ("attempt", "d"),
                            ("event", "e"), ("event", "f")]


def test_an_unreadable_message_adds_nothing() -> None:
    batch = ArchiveBatch()
    batch.note("not a task", 1, status="dead", attempt=1, status_code=None, latency_ms=None, reason="invalid_task")
    assert batch.lines() == []


def test_worker_threads_note_at_once_and_no_line_is_lost() -> None:
    batch = ArchiveBatch(clock=lambda: 10.0)
    start = threading.Barrier(10)

    def worker(n: int) -> None:
        start.wait()
        for i in range(50):
            note(batch, task(event_id=f"t{n}-{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(kinds(batch)) == sorted((k, f"t{n}-{i}") for n in range(10) for i in range(50)
                                          for k in ("event", "attempt"))


def test_a_batch_is_one_put_per_500_lines() -> None:
    batch = ArchiveBatch()
    for i in range(300):
        note(batch, task(event_id=f"e{i}"))
    sink = FakeArchive()
    assert write(sink, batch) == 0
    assert [len(c) for c in sink.calls] == [500, 100]


@pytest.fixture
def emitted():
    metrics.clear_metrics()
    yield lambda: dict(metrics.metric_set)
    metrics.clear_metrics()


def test_a_failed_write_raises_nothing_and_is_logged_and_counted(emitted, caplog) -> None:
    batch = ArchiveBatch()
    note(batch, task())
    sink = FakeArchive()
    sink.raise_error = ConnectionError("endpoint unreachable")
    assert write(sink, batch) == 2
    assert emitted()["ArchiveFailed"]["Value"] == [2.0]
    assert SECRET not in caplog.text and "cus_1" not in caplog.text


def test_lines_firehose_refuses_are_counted_as_failed(emitted) -> None:
    batch = ArchiveBatch()
    note(batch, task())
    sink = FakeArchive()
    sink.refuse = 1
    assert write(sink, batch) == 1
    assert emitted()["ArchiveFailed"]["Value"] == [1.0]


def test_nothing_to_write_makes_no_call(emitted) -> None:
    sink = FakeArchive()
    assert write(sink, ArchiveBatch()) == 0
    assert sink.calls == [] and "ArchiveFailed" not in emitted()


def test_the_archive_s_own_client_gives_up_in_seconds_not_at_the_function_s_timeout(monkeypatch) -> None:
    from hookline.adapters.aws import archive as adapter

    made: list[tuple[str, object]] = []

    class Client:
        def put_record_batch(self, **kwargs: object) -> dict:
            return {"FailedPutCount": 0, "RequestResponses": [{}]}

    monkeypatch.setattr(adapter, "client", lambda service, config=None: made.append((service, config)) or Client())
    sink = adapter.FirehoseArchive("archive")
    assert sink.put([b"{}\n"]) == 0 and sink.put([b"{}\n"]) == 0
    [(service, config)] = made  # one client, made at the first put
    assert service == "firehose"
    assert (config.connect_timeout, config.read_timeout, config.retries["max_attempts"]) == (2, 5, 2)


@pytest.mark.parametrize(("stream", "retention", "archived"), [("archive", 30, True), ("archive", 0, False),
                                                                ("", 30, False)])
def test_the_deliver_function_archives_only_with_a_stream_and_retention_above_0(stream: str, retention: int,
                                                                                 archived: bool) -> None:
    from hookline.adapters.aws.archive import FirehoseArchive
    from hookline.settings import Settings
    from hookline.validation import parse_config
    from hookline.wiring import Services

    config = parse_config({"archive": {"retention_days": retention}})
    sink = Services(Settings(archive_stream=stream), config=config).archive
    assert isinstance(sink, FirehoseArchive) if archived else sink is None
