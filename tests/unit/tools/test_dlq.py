"""DLQ domain logic: entries, filters, redaction, the replay order of operations, the dry-run mapping diff."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from hookline import cli
from hookline.core.dlq import DlqEntry
from hookline.core.messages import DeliveryTask
from hookline.operations.dlq import (
    ALREADY_DELIVERED,
    FAILED,
    INTERRUPTED,
    NOT_ATTEMPTED,
    SENT,
    SENT_NOT_DELETED,
    SKIPPED,
    WOULD_SEND,
    DlqFilter,
    ReplayError,
    is_secret_key,
    parse_rate,
    preview_mapping,
    redact,
    redact_headers,
    replay,
    sort_entries,
)
from hookline.operations.dlq_queue import DeadLetterQueue
from hookline.operations.stack import StackInfo
from hookline.validation import parse_config


def task(event_id: str = "evt-1", route: str = "A", body: dict | None = None, **kw: Any) -> DeliveryTask:
    fields: dict[str, Any] = {"event_id": event_id, "source": "github", "route": route, "type": "issues",
                              "received_at": 1_700_000_000.0, "headers": {"content-type": "application/json"},
                              "content_type": "application/json", "prior_attempts": 4}
    fields.update(kw)
    if "s3_key" not in kw:
        fields["body"] = json.dumps(body if body is not None else {"issue": {"title": "Bug", "number": 7}})
    return DeliveryTask(**fields)


def message(t: DeliveryTask | str, n: int = 0, **attrs: Any) -> dict[str, Any]:
    """An SQS ReceiveMessage item shaped like the ones the delivery engine dead-letters."""
    def attr(v: Any) -> dict[str, str]:
        kind = "Number" if isinstance(v, int | float) else "String"
        return {"DataType": kind, "StringValue": str(v)}

    return {"MessageId": f"m-{n}", "ReceiptHandle": f"rh-{n}",
            "Body": t if isinstance(t, str) else t.model_dump_json(exclude_none=True),
            "Attributes": {"SentTimestamp": str(1_700_000_100_000 + n), "ApproximateReceiveCount": "1"},
            "MessageAttributes": {k: attr(v) for k, v in attrs.items()}}


def dead(n: int, route: str = "A", reason: str = "retries_exhausted", last: float | None = None) -> DlqEntry:
    t = task(f"evt-{n}", route)
    return DlqEntry.from_sqs(message(t, n, route=route, source="github", event_id=t.event_id, reason=reason,
                                     status_code=503, last_error="HTTP 503", attempts=4,
                                     first_attempt_at=1_700_000_001.5, last_attempt_at=last or 1_700_002_000 + n))


# ---------------------------------------------------------------- entries and filters


def test_entry_reads_the_attributes_the_delivery_engine_sets() -> None:
    e = DlqEntry.from_sqs(message(task(), 3, route="A", source="github", event_id="evt-1", reason="permanent_http",
                                  status_code=400, last_error="HTTP 400: bad field", attempts=1,
                                  first_attempt_at=1_700_000_001.5, last_attempt_at=1_700_000_001.5,
                                  mapped_body='{"title": "Bug"}'))
    assert (e.event_id, e.route, e.source, e.reason, e.status_code, e.attempts) == \
        ("evt-1", "A", "github", "permanent_http", 400, 1)
    assert (e.first_attempt_at, e.last_attempt_at, e.sent_at) == (1_700_000_001.5, 1_700_000_001.5, 1_700_000_100.003)
    assert e.last_error == "HTTP 400: bad field" and e.mapped_body == '{"title": "Bug"}'
    assert e.key == "evt-1:A" and e.replayable and e.receipt_handle == "rh-3"
    d = e.to_dict()
    assert d["id"] == "evt-1" and d["message_id"] == "m-3" and d["has_mapped_body"] is True


def test_entry_moved_by_sqs_itself_has_no_attributes() -> None:
    # maxReceiveCount redrive: the bare DeliveryTask; the reason says so, the task fills the rest.
    e = DlqEntry.from_sqs(message(task(prior_attempts=2), 1))
    assert (e.event_id, e.route, e.source, e.reason, e.attempts) == ("evt-1", "A", "github", "max_receives", 2)
    assert e.failed_at == e.sent_at


def test_entry_with_a_foreign_body_is_listed_but_not_replayable() -> None:
    e = DlqEntry.from_sqs(message("not json at all", 2))
    assert not e.replayable and e.reason == "invalid_task" and e.event_id is None
    assert e.last_error and "not a DeliveryTask" in e.last_error


def test_a_task_an_older_deliver_function_could_not_read_is_replayable_after_the_upgrade() -> None:
    # During a deploy, an older deliver function rejects a task carrying fields it does not know (chain,
    # parent) as invalid_task; this version reads it, so `dlq replay --reason invalid_task` sends it.
    newer = task(chain="c1", parent="c0")
    e = DlqEntry.from_sqs(message(newer, 3, reason="invalid_task", last_error="not a DeliveryTask: chain: "
                                  "Extra inputs are not permitted"))
    assert e.reason == "invalid_task" and e.replayable and e.task == newer
    target = FakeTarget()
    summary = replay([e], target)
    assert target.calls == [("send", "m-3"), ("delete", "m-3")] and summary.sent == 1


def test_filter_criteria_all_apply() -> None:
    a1, a2, b1 = dead(1, "A", "retries_exhausted"), dead(2, "A", "permanent_http"), dead(3, "B", "mapping")
    entries = [a1, a2, b1]

    def pick(**kw: Any) -> list[str]:
        return [e.message_id for e in entries if DlqFilter.of(**kw).matches(e)]

    assert pick() == ["m-1", "m-2", "m-3"]
    assert DlqFilter.of().empty and not DlqFilter.of(routes=["A"]).empty
    assert pick(routes=["A"]) == ["m-1", "m-2"]
    assert pick(routes=["A"], reasons=["permanent_http"]) == ["m-2"]
    assert pick(reasons=["mapping", "permanent_http"]) == ["m-2", "m-3"]
    # An id is the event id, the message id or EVENT_ID:ROUTE.
    assert pick(ids=["evt-1"]) == ["m-1"] and pick(ids=["m-3"]) == ["m-3"] and pick(ids=["evt-2:A"]) == ["m-2"]
    assert pick(ids=["evt-2:B"]) == []
    assert pick(since=1_700_002_002) == ["m-2", "m-3"]


def test_sort_is_oldest_failure_first() -> None:
    entries = [dead(1, last=30), dead(2, last=10), dead(3, last=20)]
    assert [e.message_id for e in sort_entries(entries)] == ["m-2", "m-3", "m-1"]


# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize("key", ["password", "api_key", "apiKey", "X-Auth-Token", "client_secret", "card_number",
                                 "cardNumber", "cvv", "Authorization", "access_token", "privateKey", "ssn"])
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["author", "title", "number", "amount", "description", "passenger"])
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_redact_payload_and_headers() -> None:
    payload = {"user": {"name": "Ann", "password": "hunter2", "api_key": "k-123"},
               "cards": [{"card_number": "4242424242424242"}, {"note": "4111 1111 1111 1111"}],
               "order": 12345678901234, "ref": "1234567890123", "token": None}
    out = redact(payload)
    assert out["user"] == {"name": "Ann", "password": "***", "api_key": "***"}
    assert out["cards"] == [{"card_number": "***"}, {"note": "***1111"}]  # a Luhn-valid number in a string
    assert out["order"] == 12345678901234 and out["ref"] == "1234567890123"  # not Luhn-valid
    assert out["token"] is None
    headers = redact_headers({"X-Hub-Signature-256": "sha256=abc", "content-type": "application/json",
                              "X-Api-Token": "t"})
    assert headers == {"X-Hub-Signature-256": "***", "content-type": "application/json", "X-Api-Token": "***"}


# ---------------------------------------------------------------- replay order of operations


class FakeTarget:
    def __init__(self, fail_send: dict[int, BaseException] | None = None,
                 fail_delete: dict[int, BaseException] | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_send = fail_send or {}
        self.fail_delete = fail_delete or {}
        self.sends = 0
        self.deletes = 0

    def send(self, entry: DlqEntry) -> None:
        self.sends += 1
        if self.sends in self.fail_send:
            raise self.fail_send[self.sends]
        self.calls.append(("send", entry.message_id))

    def delete(self, entry: DlqEntry) -> None:
        self.deletes += 1
        if self.deletes in self.fail_delete:
            raise self.fail_delete[self.deletes]
        self.calls.append(("delete", entry.message_id))


def test_each_entry_is_sent_then_deleted() -> None:
    entries = [dead(i) for i in range(3)]
    target = FakeTarget()
    seen: list[str] = []
    summary = replay(entries, target, progress=lambda r: seen.append(r.outcome))
    assert target.calls == [("send", "m-0"), ("delete", "m-0"), ("send", "m-1"), ("delete", "m-1"),
                            ("send", "m-2"), ("delete", "m-2")]
    assert (summary.sent, summary.skipped, summary.failed, summary.interrupted) == (3, 0, 0, None)
    assert seen == [SENT] * 3


def test_a_failed_send_never_deletes_and_the_replay_goes_on() -> None:
    entries = [dead(i) for i in range(3)]
    target = FakeTarget(fail_send={2: ReplayError("AWS.SimpleQueueService.NonExistentQueue")})
    summary = replay(entries, target)
    assert ("delete", "m-1") not in target.calls
    assert [r.outcome for r in summary.results] == [SENT, FAILED, SENT]
    assert (summary.sent, summary.failed) == (2, 1)
    assert "NonExistentQueue" in summary.results[1].detail


def test_a_failed_delete_is_reported_as_sent_but_still_in_the_dlq() -> None:
    summary = replay([dead(0), dead(1)], FakeTarget(fail_delete={1: ReplayError("receipt handle expired")}))
    assert [r.outcome for r in summary.results] == [SENT_NOT_DELETED, SENT]
    assert summary.sent == 2 and summary.failed == 0


@pytest.mark.parametrize("crash", [KeyboardInterrupt(), RuntimeError("boom")])
def test_a_crash_mid_send_stops_and_leaves_the_rest_in_the_dlq(crash: BaseException) -> None:
    entries = [dead(i) for i in range(5)]
    target = FakeTarget(fail_send={3: crash})
    summary = replay(entries, target)
    assert [r.outcome for r in summary.results] == [SENT, SENT, INTERRUPTED, NOT_ATTEMPTED, NOT_ATTEMPTED]
    assert target.calls == [("send", "m-0"), ("delete", "m-0"), ("send", "m-1"), ("delete", "m-1")]
    assert summary.interrupted and type(crash).__name__ in summary.interrupted


def test_a_crash_mid_delete_reports_the_entry_as_sent_not_deleted() -> None:
    summary = replay([dead(0), dead(1), dead(2)], FakeTarget(fail_delete={2: KeyboardInterrupt()}))
    assert [r.outcome for r in summary.results] == [SENT, SENT_NOT_DELETED, NOT_ATTEMPTED]
    assert summary.interrupted and summary.interrupted.startswith("KeyboardInterrupt while deleting evt-1:A")


def test_consecutive_failures_stop_the_replay() -> None:
    entries = [dead(i) for i in range(8)]
    target = FakeTarget(fail_send={i: ReplayError("queue down") for i in range(1, 9)})
    summary = replay(entries, target, max_consecutive_failures=3)
    assert [r.outcome for r in summary.results] == [FAILED] * 3 + [NOT_ATTEMPTED] * 5
    assert "3 failures in a row" in (summary.interrupted or "")


def test_already_delivered_entries_are_deleted_without_a_send() -> None:
    entries = [dead(0), dead(1)]
    target = FakeTarget()
    summary = replay(entries, target, is_delivered=lambda e: e.event_id == "evt-0")
    assert target.calls == [("delete", "m-0"), ("send", "m-1"), ("delete", "m-1")]
    assert [r.outcome for r in summary.results] == [ALREADY_DELIVERED, SENT]


def test_an_unreadable_event_log_means_send_anyway() -> None:
    def broken(entry: DlqEntry) -> bool:
        raise RuntimeError("table gone")

    target = FakeTarget()
    assert replay([dead(0)], target, is_delivered=broken).sent == 1
    assert target.calls == [("send", "m-0"), ("delete", "m-0")]


def test_unreplayable_entries_are_skipped_and_dry_run_touches_nothing() -> None:
    foreign = DlqEntry.from_sqs(message("garbage", 9))
    target = FakeTarget()
    summary = replay([dead(0), foreign], target, dry_run=True)
    assert target.calls == []
    assert [r.outcome for r in summary.results] == [WOULD_SEND, SKIPPED]
    assert summary.to_dict()["by_outcome"] == {WOULD_SEND: 1, SKIPPED: 1}


def test_rate_limit_spaces_the_sends() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(round(s, 6))
        now[0] += s

    replay([dead(i) for i in range(4)], FakeTarget(), rate=2.0, sleep=sleep, clock=lambda: now[0])
    assert sleeps == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(("text", "per_second"), [("10/s", 10), ("10", 10), ("600/m", 10), ("0.5/s", 0.5),
                                                  ("3 / sec", 3), ("120/min", 2)])
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


@pytest.mark.parametrize("text", ["0/s", "fast", "-1/s", "10/h", ""])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="N/s"):
        parse_rate(text)


# ---------------------------------------------------------------- dry run: the mapping now vs then

CONFIG = parse_config({
    "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:9/x"}},
    "routes": [
        {"name": "A", "source": "github", "destination": "crm",
         "transform": {"title": "body.issue.title", "number": {"path": "body.issue.number", "type": "string"}}},
        {"name": "plain", "source": "github", "destination": "crm"},
        {"name": "strict", "source": "github", "destination": "crm",
         "transform": {"title": {"path": "body.issue.name", "required": True}}},
        {"name": "picky", "source": "github", "destination": "crm", "when": "type == 'push'"},
    ],
})


def entry_with(route: str, mapped: Any = None, **kw: Any) -> DlqEntry:
    attrs = {"mapped_body": json.dumps(mapped)} if mapped is not None else {}
    return DlqEntry.from_sqs(message(task(route=route, **kw), 0, reason="mapping", **attrs))


def test_preview_shows_a_changed_mapping_beside_the_old_one() -> None:
    p = preview_mapping(entry_with("A", mapped={"title": None, "number": "7"}), CONFIG)
    assert p.status == "changed"
    assert p.old == {"title": None, "number": "7"} and p.new == {"title": "Bug", "number": "7"}


def test_preview_unchanged_and_not_recorded() -> None:
    assert preview_mapping(entry_with("A", mapped={"title": "Bug", "number": "7"}), CONFIG).status == "unchanged"
    p = preview_mapping(entry_with("plain"), CONFIG)
    assert p.status == "not_recorded" and p.new == {"issue": {"title": "Bug", "number": 7}}


def test_preview_explains_what_will_fail_again() -> None:
    assert preview_mapping(entry_with("gone"), CONFIG).status == "route_removed"
    p = preview_mapping(entry_with("strict"), CONFIG)
    assert p.status == "error" and "body.issue.name" in p.detail
    assert preview_mapping(entry_with("A"), None).status == "no_config"
    assert "no longer matches" in preview_mapping(entry_with("picky"), CONFIG).detail


def test_preview_reads_large_bodies_from_the_payload_store() -> None:
    e = entry_with("A", s3_key="payloads/abc")
    assert preview_mapping(e, CONFIG).status == "payload_missing"
    p = preview_mapping(e, CONFIG, lambda key: b'{"issue": {"title": "Big", "number": 1}}')
    assert p.new == {"title": "Big", "number": "1"}

    def gone(key: str) -> bytes:
        raise KeyError(key)

    assert preview_mapping(e, CONFIG, gone).status == "payload_missing"


def test_preview_redacts_in_its_json() -> None:
    e = entry_with("plain", body={"password": "pw", "n": 1}, mapped={"password": "old"})
    assert preview_mapping(e, CONFIG).to_dict()["new_mapped_body"] == {"password": "***", "n": 1}


# ---------------------------------------------------------------- whole-queue redrive (no moto support: Stubber)

DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:hl-DeadLetterQueue"
Q_ARN = "arn:aws:sqs:us-east-1:123456789012:hl-DeliveryQueue"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/hl-DeadLetterQueue"


def stubbed_sqs() -> tuple[Any, Stubber]:
    client = boto3.client("sqs", region_name="us-east-1")
    return client, Stubber(client)


def test_start_redrive_starts_a_message_move_task() -> None:
    client, stub = stubbed_sqs()
    stub.add_response("start_message_move_task", {"TaskHandle": "task-1"},
                      {"SourceArn": DLQ_ARN, "DestinationArn": Q_ARN, "MaxNumberOfMessagesPerSecond": 20})
    with stub:
        assert DeadLetterQueue(client, DLQ_URL, dlq_arn=DLQ_ARN, delivery_queue_arn=Q_ARN) \
            .start_redrive(max_per_second=20) == "task-1"
    stub.assert_no_pending_responses()


class StubbedStack(StackInfo):
    sqs: Any = None

    def client(self, service: str) -> Any:
        assert service == "sqs"
        return self.sqs


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> tuple[StubbedStack, Stubber]:
    client, stub = stubbed_sqs()
    outputs = {"DeadLetterQueueUrl": DLQ_URL, "DeadLetterQueueArn": DLQ_ARN, "DeliveryQueueArn": Q_ARN,
               "DeliveryQueueUrl": DLQ_URL.replace("DeadLetter", "Delivery")}
    stack = StubbedStack(outputs=outputs, endpoint_url=None, origin="stack hl")
    stack.sqs = client
    monkeypatch.setattr("hookline.commands._ops.resolve_stack", lambda name=None: stack)
    return stack, stub


def test_cli_replay_without_filter_on_aws_uses_a_move_task(aws_stack: tuple[StubbedStack, Stubber],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, stub = aws_stack
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "42"}},
                      {"QueueUrl": DLQ_URL, "AttributeNames": ["ApproximateNumberOfMessages"]})
    stub.add_response("start_message_move_task", {"TaskHandle": "task-xyz"},
                      {"SourceArn": DLQ_ARN, "DestinationArn": Q_ARN, "MaxNumberOfMessagesPerSecond": 5})
    with stub:
        assert cli.main(["dlq", "replay", "--rate", "5/s", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"move_task": "task-xyz", "source_arn": DLQ_ARN, "destination_arn": Q_ARN,
                   "approximate_messages": 42, "max_per_second": 5}
    stub.assert_no_pending_responses()


def test_cli_move_task_refusal_is_one_actionable_line(aws_stack: tuple[StubbedStack, Stubber],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, stub = aws_stack
    stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "1"}})
    stub.add_client_error("start_message_move_task", "AccessDenied", "not authorized to sqs:StartMessageMoveTask")
    with stub:
        assert cli.main(["dlq", "replay"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "AccessDenied" in captured.err and "StartMessageMoveTask" in captured.err


def test_cli_without_a_stack_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from hookline.operations.stack import StackNotFound

    def missing(name: str | None = None) -> StackInfo:
        raise StackNotFound("no running `hookline dev` and stack 'hookline' could not be read: ...")

    monkeypatch.setattr("hookline.commands._ops.resolve_stack", missing)
    for argv in (["dlq", "list"], ["events", "--json"], ["report"]):
        assert cli.main(argv) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and "hookline dev" in captured.err


# ---------------------------------------------------------------- reading the queue never consumes it


class PagedSqs:
    """SQS as it behaves: up to 10 per receive, sometimes fewer, sometimes none while messages remain."""

    def __init__(self, pages: list[list[dict[str, Any]]], count: int) -> None:
        self.pages, self.count = list(pages), count
        self.waits: list[int] = []
        self.released: list[str] = []

    def get_queue_attributes(self, **kw: Any) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.count)}}

    def receive_message(self, **kw: Any) -> dict[str, Any]:
        self.waits.append(kw["WaitTimeSeconds"])
        return {"Messages": self.pages.pop(0)} if self.pages else {}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        assert len(Entries) <= 10
        self.released += [e["ReceiptHandle"] for e in Entries if e["VisibilityTimeout"] == 0]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_listing_reads_past_short_and_empty_receives_and_releases_everything() -> None:
    msgs = [message(task(f"evt-{i}"), i) for i in range(5)]
    again = {**msgs[1], "ReceiptHandle": "rh-1-new"}  # its visibility lapsed: received a second time
    sqs = PagedSqs([msgs[:3], [], [msgs[3], again, msgs[4]], []], count=5)
    entries = DeadLetterQueue(sqs, DLQ_URL).peek()
    assert sorted(e.message_id for e in entries) == [f"m-{i}" for i in range(5)]
    assert sqs.waits == [0, 0, 1, 0]  # an empty receive below the approximate count is retried with a long poll
    assert sorted(sqs.released) == ["rh-0", "rh-1-new", "rh-2", "rh-3", "rh-4"]  # the newest receipt handle


def test_listing_stops_after_an_empty_long_poll() -> None:
    sqs = PagedSqs([[message(task(), 0)], [], []], count=3)  # the count was stale
    assert len(DeadLetterQueue(sqs, DLQ_URL).peek()) == 1
    assert sqs.waits == [0, 0, 1]
