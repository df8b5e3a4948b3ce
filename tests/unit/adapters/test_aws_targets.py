"""AWS-native destinations (adapters/aws/targets.py): each failure AWS can answer is classified into the
engine's outcomes (throttling / 5xx / no answer -> retry, access denied / not found / invalid -> `config`,
over the size limit -> `permanent_http` as a 413, a sync Lambda's function error -> retry with its type),
batches are one call for a delivery batch's records, and a retry lands once where AWS deduplicates.
Real botocore clients answered by botocore's Stubber (which checks each request against the API's model)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from hookline.adapters.aws.targets import AwsTargets
from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.core.targets import TargetMessage

SESSION = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")
ACCOUNT = "123456789012"
SM = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:orders"
QUEUE = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/orders.fifo"


def dest(**kw: Any) -> DestinationConfig:
    return DestinationConfig.model_validate(kw)


def message(body: str = '{"id": 1}', key: str = "evt-1:orders-route", group: str = "orders-route") -> TargetMessage:
    return TargetMessage(body=body, delivery_key=key, group_id=group, detail_type="order.created")


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = SESSION.client(service)
    return client, Stubber(client)


def error(stub: Stubber, method: str, code: str, status: int, **expected: Any) -> None:
    stub.add_client_error(method, service_error_code=code, service_message=f"{code} said AWS", http_status_code=status,
                          expected_params=expected or None)


@pytest.mark.parametrize(("code", "status", "verdict", "reason"), [
    ("ThrottlingException", 400, outcomes.Verdict.RETRY, "stepfunctions_error"),
    ("ServiceUnavailable", 503, outcomes.Verdict.RETRY, "stepfunctions_error"),
    ("InternalError", 500, outcomes.Verdict.RETRY, "stepfunctions_error"),
    ("AccessDeniedException", 400, outcomes.Verdict.PERMANENT, outcomes.CONFIG),
    ("StateMachineDoesNotExist", 400, outcomes.Verdict.PERMANENT, outcomes.CONFIG),
    ("InvalidExecutionInput", 400, outcomes.Verdict.PERMANENT, outcomes.CONFIG),
])
def test_each_refusal_is_classified(code: str, status: int, verdict: outcomes.Verdict, reason: str) -> None:
    client, stub = stubbed("stepfunctions")
    error(stub, "start_execution", code, status)
    with stub:
        result = AwsTargets({"stepfunctions": client}).send(dest(type="stepfunctions", state_machine=SM), message(),
                                                            name="sfn")
    assert result.outcome == outcomes.Outcome(verdict, reason)
    assert code in (result.error or "") and SM in (result.error or "")  # what failed, and where


def test_no_answer_is_retried() -> None:
    client, _ = stubbed("lambda")

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    client.meta.events.register("before-send.lambda.Invoke", unreachable)
    result = AwsTargets({"lambda": client}).send(dest(type="lambda", function="orders"), message(), name="fn")
    assert result.outcome.retryable and "EndpointConnectionError" in (result.error or "")


def test_a_message_over_the_limit_is_permanent_without_a_call() -> None:
    client, stub = stubbed("sqs")  # no response queued: any call would fail the test
    with stub:
        result = AwsTargets({"sqs": client}).send(dest(type="sqs", queue=QUEUE), message('"' + "x" * 262_144 + '"'),
                                                  name="q")
    assert result.status_code == 413 and result.outcome == outcomes.Outcome(outcomes.Verdict.PERMANENT,
                                                                             outcomes.PERMANENT_HTTP)
    assert "over the 256 KB" in (result.error or "")
    stub.assert_no_pending_responses()


def test_a_sync_function_error_is_a_failure_with_its_error_type() -> None:
    client, stub = stubbed("lambda")
    payload = b'{"errorMessage": "no such customer", "errorType": "KeyError", "stackTrace": []}'
    stub.add_response("invoke", {"StatusCode": 200, "FunctionError": "Unhandled",
                                 "Payload": StreamingBody(_bytes(payload), len(payload))},
                      {"FunctionName": "orders", "InvocationType": "RequestResponse", "Payload": b'{"id": 1}'})
    with stub:
        result = AwsTargets({"lambda": client}).send(dest(type="lambda", function="orders", invocation="sync"),
                                                     message(), name="fn")
    assert result.outcome.retryable and result.outcome.reason == "lambda_error"
    assert "KeyError: no such customer" in (result.error or "") and "Unhandled" in (result.error or "")


def test_async_invocation_is_an_event_invocation() -> None:
    client, stub = stubbed("lambda")
    stub.add_response("invoke", {"StatusCode": 202},
                      {"FunctionName": "orders", "InvocationType": "Event", "Payload": b'{"id": 1}'})
    with stub:
        result = AwsTargets({"lambda": client}).send(dest(type="lambda", function="orders"), message(), name="fn")
    assert result.outcome.delivered
    stub.assert_no_pending_responses()


def test_step_functions_execution_already_started_with_this_input_is_delivered() -> None:
    client, stub = stubbed("stepfunctions")
    m = message()
    error(stub, "start_execution", "ExecutionAlreadyExists", 400, stateMachineArn=SM, name=m.execution_name,
          input=m.body)
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:orders:{m.execution_name}"
    stub.add_response("describe_execution", _execution(execution, m.body), {"executionArn": execution})
    with stub:
        result = AwsTargets({"stepfunctions": client}).send(dest(type="stepfunctions", state_machine=SM), m,
                                                            name="sfn")
    assert result.outcome.delivered


def test_step_functions_name_taken_by_another_input_is_a_config_problem() -> None:
    client, stub = stubbed("stepfunctions")
    m = message()
    error(stub, "start_execution", "ExecutionAlreadyExists", 400)
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:orders:{m.execution_name}"
    stub.add_response("describe_execution", _execution(execution, '{"id": 2}'), {"executionArn": execution})
    with stub:
        result = AwsTargets({"stepfunctions": client}).send(dest(type="stepfunctions", state_machine=SM), m,
                                                            name="sfn")
    assert result.outcome.reason == outcomes.CONFIG and "another input" in (result.error or "")


def test_sqs_fifo_one_batch_for_concurrent_records_each_with_its_ids_and_a_failed_entry_retried_alone() -> None:
    client, stub = stubbed("sqs")
    messages = [message(f'{{"id": {i}}}', key=f"evt-{i}:r", group=f"r#{i % 2}") for i in range(3)]
    seen: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        seen.extend(params["Entries"])

    client.meta.events.register("provide-client-params.sqs.SendMessageBatch", capture)
    stub.add_response("send_message_batch", {
        "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"},
                       {"Id": "2", "MessageId": "m2", "MD5OfMessageBody": "x"}],
        "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"}]},
        {"QueueUrl": QUEUE, "Entries": ANY})
    targets = AwsTargets({"sqs": client}, sleep=lambda _w: _until(lambda: targets.pending() == 3))
    d = dest(type="sqs", queue=QUEUE)
    with stub, ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda m: targets.send(d, m, name="q"), messages))
    stub.assert_no_pending_responses()  # one call for the three
    by_body = {e["MessageBody"]: e for e in seen}
    for m in messages:
        entry = by_body[m.body]
        assert entry["MessageGroupId"] == m.group_id and entry["MessageDeduplicationId"] == m.deduplication_id
    outcome = {m.body: r.outcome for m, r in zip(messages, results, strict=True)}
    failed_body = seen[1]["MessageBody"]
    assert outcome.pop(failed_body).retryable
    assert all(o.delivered for o in outcome.values())


def test_sqs_standard_queue_by_name_sends_no_fifo_ids_and_a_sender_fault_is_config() -> None:
    client, stub = stubbed("sqs")
    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/inbox"
    stub.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": "inbox"})
    stub.add_response("send_message_batch", {"Successful": [], "Failed": [
        {"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad characters"}]},
        {"QueueUrl": url, "Entries": [{"Id": "0", "MessageBody": '{"id": 1}'}]})
    with stub:
        result = AwsTargets({"sqs": client}, sleep=lambda _w: None).send(dest(type="sqs", queue="inbox"), message(),
                                                                         name="q")
    assert result.outcome.reason == outcomes.CONFIG and "InvalidMessageContents" in (result.error or "")


def test_a_queue_name_is_looked_up_once_by_threads_that_miss_it_together() -> None:
    client, stub = stubbed("sqs")
    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/inbox"
    looked_up: list[str] = []
    client.meta.events.register("provide-client-params.sqs.GetQueueUrl",
                                lambda params, **_: looked_up.append(params["QueueName"]))
    stub.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": "inbox"})  # one answer: a second ask fails
    for _ in range(2):  # two destinations on one queue: two batches, made at the same time
        stub.add_response("send_message_batch", {"Successful": [
            {"Id": str(i), "MessageId": "m", "MD5OfMessageBody": "x"} for i in range(3)], "Failed": []},
            {"QueueUrl": url, "Entries": ANY})
    joined = threading.Event()

    def window(_seconds: float) -> None:
        # Both batches' windows last until all six records have joined, then both are sent at once.
        _until(lambda: joined.is_set() or targets.pending() == 6)
        joined.set()

    targets = AwsTargets({"sqs": client}, sleep=window)
    d = dest(type="sqs", queue="inbox")
    start = threading.Barrier(6)

    def send(i: int) -> Any:
        start.wait()
        return targets.send(d, message(f'{{"id": {i}}}'), name=f"q{i % 2}")

    with stub, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(send, range(6)))
    assert all(r.outcome.delivered for r in results), results
    assert looked_up == ["inbox"]


def test_sns_fifo_topic_publish_batch_carries_group_and_dedup_ids() -> None:
    client, stub = stubbed("sns")
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders.fifo"
    m = message()
    stub.add_response("publish_batch", {"Successful": [{"Id": "0", "MessageId": "x"}], "Failed": []},
                      {"TopicArn": topic, "PublishBatchRequestEntries": [
                          {"Id": "0", "Message": m.body, "MessageGroupId": m.group_id,
                           "MessageDeduplicationId": m.deduplication_id}]})
    with stub:
        result = AwsTargets({"sns": client}, sleep=lambda _w: None).send(dest(type="sns", topic=topic), m, name="t")
    assert result.outcome.delivered


def test_sns_access_denied_for_the_whole_batch_is_config() -> None:
    client, stub = stubbed("sns")
    error(stub, "publish_batch", "AuthorizationError", 403)
    with stub:
        result = AwsTargets({"sns": client}, sleep=lambda _w: None).send(
            dest(type="sns", topic=f"arn:aws:sns:us-east-1:{ACCOUNT}:orders"), message(), name="t")
    assert result.outcome.reason == outcomes.CONFIG and "AuthorizationError" in (result.error or "")


def test_eventbridge_entry_throttled_is_retried_and_a_malformed_one_is_config() -> None:
    client, stub = stubbed("events")
    stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
        {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}]},
        {"Entries": [{"Source": "shop", "DetailType": "order.created", "Detail": '{"id": 1}', "EventBusName": "b"}]})
    stub.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed"}]})
    targets = AwsTargets({"events": client}, sleep=lambda _w: None)
    d = dest(type="eventbridge", bus="b", source="shop")
    with stub:
        first = targets.send(d, message(), name="b")
        second = targets.send(d, message('[1, 2]'), name="b")
    assert first.outcome.retryable and "slow down" in (first.error or "")
    assert second.outcome.reason == outcomes.CONFIG and "MalformedDetail" in (second.error or "")


def _execution(arn: str, body: str) -> dict[str, Any]:
    import datetime

    return {"executionArn": arn, "stateMachineArn": SM, "status": "SUCCEEDED", "input": body,
            "startDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def _until(condition: Any, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if condition():
            return
        done.wait(0.005)
    raise AssertionError("the other records never joined the batch")
