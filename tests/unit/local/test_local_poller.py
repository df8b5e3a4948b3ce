"""The local SQS event source mapping: batches, partial batch responses, what gets deleted."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from hookline.local.poller import SqsPoller, failed_item_ids, validate_sqs_event

ARN = "arn:aws:sqs:us-east-1:123456789012:hookline-dev-DeliveryQueue"


def message(body: str = '{"v": 1}') -> dict[str, Any]:
    return {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex, "Body": body,
            "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - what SQS uses
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795770000000",
                           "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1795770000000"}}


@dataclass
class FakeSqs:
    waiting: list[dict[str, Any]]
    deleted: list[str] = field(default_factory=list)
    receives: list[dict[str, Any]] = field(default_factory=list)

    def receive_message(self, **kw: Any) -> dict[str, Any]:
        self.receives.append(kw)
        n = kw["MaxNumberOfMessages"]
        out, self.waiting = self.waiting[:n], self.waiting[n:]
        return {"Messages": out} if out else {}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def change_message_visibility(self, **kw: Any) -> None:
        pass


@dataclass
class FakeInvocation:
    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    error_trace: str = ""
    duration_ms: float = 1.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def describe_error(self) -> str:
        return "Task timed out" if self.timed_out else f"{type(self.error).__name__}: {self.error}"


class FakeFunction:
    logical_id = "DeliverFunction"
    timeout = 30

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], *, wait_seconds: float | None = None) -> FakeInvocation:
        self.events.append(event)
        return self.answer(event) if callable(self.answer) else self.answer


def poller(sqs: FakeSqs, fn: FakeFunction, **kw: Any) -> SqsPoller:
    return SqsPoller(sqs, queue_url="http://q", queue_arn=ARN, region="us-east-1", function=fn,
                     report_batch_item_failures=True, **kw)


def test_a_batch_is_a_powertools_valid_sqs_event_and_succeeded_records_are_deleted() -> None:
    msgs = [message() for _ in range(3)]
    sqs = FakeSqs(list(msgs))

    def fail_second(event: dict[str, Any]) -> FakeInvocation:
        return FakeInvocation({"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]})

    fn = FakeFunction(fail_second)
    result = poller(sqs, fn, batch_size=10).poll_once()
    assert result is not None
    [event] = fn.events
    assert validate_sqs_event(event) == ""
    assert [r["messageId"] for r in event["Records"]] == [m["MessageId"] for m in msgs]
    assert event["Records"][0]["eventSourceARN"] == ARN and event["Records"][0]["eventSource"] == "aws:sqs"
    assert result.failed_ids == {msgs[1]["MessageId"]}
    assert sqs.deleted == [msgs[0]["ReceiptHandle"], msgs[2]["ReceiptHandle"]]
    assert sqs.receives[0]["WaitTimeSeconds"] == 1


def test_a_handler_error_or_timeout_deletes_nothing() -> None:
    for answer in (FakeInvocation(error=RuntimeError("boom")), FakeInvocation(timed_out=True)):
        sqs = FakeSqs([message(), message()])
        result = poller(sqs, FakeFunction(answer)).poll_once()
        assert result is not None and sqs.deleted == [] and len(result.failed_ids) == 2


def test_batch_size_is_respected() -> None:
    sqs = FakeSqs([message() for _ in range(5)])
    fn = FakeFunction(FakeInvocation(None))
    p = poller(sqs, fn, batch_size=2)
    p.poll_once()
    assert len(fn.events[0]["Records"]) == 2 and len(sqs.deleted) == 2


def test_the_batching_window_gathers_messages_arriving_after_the_first() -> None:
    first, later = message(), message()
    sqs = FakeSqs([first])
    original = sqs.receive_message

    def arrive_late(**kw: Any) -> dict[str, Any]:
        if len(sqs.receives) == 1:
            sqs.waiting.append(later)
        return original(**kw)

    sqs.receive_message = arrive_late  # type: ignore[method-assign]
    fn = FakeFunction(FakeInvocation({}))
    poller(sqs, fn, window_seconds=0.3).poll_once()
    assert [r["messageId"] for r in fn.events[0]["Records"]] == [first["MessageId"], later["MessageId"]]


def test_without_report_batch_item_failures_a_returned_list_is_ignored() -> None:
    msgs = [message(), message()]
    sqs = FakeSqs(list(msgs))
    answer = FakeInvocation({"batchItemFailures": [{"itemIdentifier": msgs[0]["MessageId"]}]})
    SqsPoller(sqs, queue_url="q", queue_arn=ARN, region="us-east-1", function=FakeFunction(answer)).poll_once()
    assert len(sqs.deleted) == 2


@pytest.mark.parametrize(("response", "failed", "problem"), [
    (None, set(), False),
    ({}, set(), False),
    ({"batchItemFailures": []}, set(), False),
    ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}, False),
    ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}, True),
    ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}, True),
    ({"batchItemFailures": "a"}, {"a", "b"}, True),
    ("nonsense", {"a", "b"}, True),
])
def test_partial_batch_response_semantics(response: Any, failed: set[str], problem: bool) -> None:
    got, why = failed_item_ids(response, {"a", "b"})
    assert got == failed and bool(why) == problem
