"""The AWS adapters raise core's errors, with AWS's code, operation and message, so the capabilities catch
core/errors.py's and import no botocore (issue 23). Real botocore clients, answered by botocore's Stubber:
no network, no moto. tests/integration/test_iam.py shows the same text for a real IAM refusal on moto."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from hookline.adapters.aws.event_log_entries import IngressRecords
from hookline.adapters.aws.stores import FifoPublisher, PayloadStore, QueuePublisher
from hookline.core.errors import QueueUnavailable, StoreUnavailable
from hookline.core.messages import DeliveryTask
from hookline.observability import logger
from tests.unit.ingress.test_accept import Hub

DENIED = ("User: arn:aws:sts::123456789012:assumed-role/ingress/fn is not authorized to perform: "
          "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/events")


def client(service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s",
                                 region_name="us-east-1").client(service)


def claim(entries: IngressRecords, digest: str | None = None) -> Any:
    now = time.time()
    return entries.claim(event_id="e1", source="app", type="t", received_at=now, routes=["r1"], queue_by=now + 30,
                         token="tok", window_start=now - 3600, digest=digest, body_sha256="b1")


def test_a_refused_event_log_write_is_store_unavailable_naming_code_operation_and_message() -> None:
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", "AccessDeniedException", DENIED, 400)
        with pytest.raises(StoreUnavailable) as raised:
            claim(IngressRecords("events", client=ddb))
    assert str(raised.value) == f"AccessDeniedException: PutItem: {DENIED}"


def test_every_entry_request_translates_and_the_condition_failures_stay_answers() -> None:
    ddb = client("dynamodb")
    entries = IngressRecords("events", client=ddb)
    with Stubber(ddb) as stub:
        # a transaction cancelled for a reason that is no condition (throttling) is no answer about the event
        stub.add_client_error("transact_write_items", "TransactionCanceledException", "cancelled", 400,
                              response_meta={}, modeled_fields={"CancellationReasons": [
                                  {"Code": "ThrottlingError"}, {"Code": "None"}]})
        stub.add_client_error("delete_item", "ProvisionedThroughputExceededException", "slow down", 400)
        stub.add_client_error("delete_item", "ConditionalCheckFailedException", "not yours", 400)
        stub.add_client_error("update_item", "InternalServerError", "try again", 500)
        stub.add_client_error("query", "ResourceNotFoundException", "Requested resource not found", 400)
        with pytest.raises(StoreUnavailable, match=r"^TransactionCanceledException: TransactWriteItems: cancelled$"):
            claim(entries, digest="g1")
        with pytest.raises(StoreUnavailable, match=r"^ProvisionedThroughputExceededException: DeleteItem: slow down$"):
            entries.release("e1", "tok")
        assert entries.release("e1", "tok") is False  # a failed condition is the answer "not mine"
        with pytest.raises(StoreUnavailable, match=r"^InternalServerError: UpdateItem: try again$"):
            entries.count_duplicate("e1")
        with pytest.raises(StoreUnavailable, match=r"^ResourceNotFoundException: Query: Requested resource"):
            entries.delivery_started("e1", time.time())


def test_no_answer_at_all_is_translated_too() -> None:
    ddb = client("dynamodb")
    entries = IngressRecords("events", client=ddb)

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    ddb.meta.events.register("before-send.dynamodb.PutItem", unreachable)
    with pytest.raises(StoreUnavailable, match=r"^EndpointConnectionError: Could not connect to the endpoint URL"):
        claim(entries)


def task(route: str) -> DeliveryTask:
    return DeliveryTask(event_id="e1", route=route, source="app", received_at=1.0, headers={}, body="{}")


def test_a_refused_queue_request_is_queue_unavailable_and_a_refused_payload_write_store_unavailable() -> None:
    sqs, s3 = client("sqs"), client("s3")
    with Stubber(sqs) as q, Stubber(s3) as b:
        q.add_client_error("send_message", "AccessDenied", "not authorized to perform: sqs:SendMessage", 403)
        q.add_client_error("send_message_batch", "RequestThrottled", "slow down", 400)
        q.add_client_error("send_message_batch", "AWS.SimpleQueueService.NonExistentQueue", "no queue", 400)
        b.add_client_error("put_object", "NoSuchBucket", "The specified bucket does not exist", 404)
        with pytest.raises(QueueUnavailable, match=r"^AccessDenied: SendMessage: not authorized to perform: sqs:Send"):
            QueuePublisher("https://sqs/q", client=sqs).publish([task("r1")])
        with pytest.raises(QueueUnavailable, match=r"^RequestThrottled: SendMessageBatch: slow down$"):
            QueuePublisher("https://sqs/q", client=sqs).publish([task("r1"), task("r2")])
        with pytest.raises(QueueUnavailable, match=r"NonExistentQueue: SendMessageBatch: no queue$"):
            FifoPublisher("https://sqs/q.fifo", client=sqs).publish_grouped([(task("r1"), "g")])
        with pytest.raises(StoreUnavailable, match=r"^NoSuchBucket: PutObject: The specified bucket does not exist$"):
            PayloadStore("bucket", client=s3).put("payloads/e1", b"{}")


def test_ingress_answers_503_and_logs_what_aws_said_through_the_real_adapter() -> None:
    ddb = client("dynamodb")
    hub = Hub()  # the ingress unit tests' fakes, but the event log entries' real adapter
    hub.ingress.deps.entries = IngressRecords("events", client=ddb)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        with Stubber(ddb) as stub:
            stub.add_client_error("put_item", "AccessDeniedException", DENIED, 400)
            resp = hub.app("msg-1", {"type": "order.created"})
    finally:
        logger._logger.removeHandler(handler)
    assert (resp.status, resp.body) == (503, {"error": "event store or queue unavailable; nothing was recorded, "
                                                       "retry later"})
    assert f"AccessDeniedException: PutItem: {DENIED}" in log.getvalue()  # the fix: grant dynamodb:PutItem
    assert hub.queue.tasks == []
