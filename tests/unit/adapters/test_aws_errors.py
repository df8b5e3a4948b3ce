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

from hookline.adapters.aws.claims import RouteClaims
from hookline.adapters.aws.delivery_queues import SqsDeliveryQueues
from hookline.adapters.aws.event_log_entries import EventLogEntries
from hookline.adapters.aws.stores import EventLog, FifoPublisher, PayloadStore, QueuePublisher
from hookline.core.chains import Claimant
from hookline.core.errors import QueueUnavailable, StoreUnavailable
from hookline.core.messages import DeliveryTask
from hookline.observability import logger
from tests.unit.ingress.test_accept import Hub

DENIED = ("User: arn:aws:sts::123456789012:assumed-role/ingress/fn is not authorized to perform: "
          "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/events")


# One session: its loader reads botocore's service models once for all the tests.
SESSION = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1")


def client(service: str) -> Any:
    return SESSION.client(service)


def claim(entries: EventLogEntries, digest: str | None = None) -> Any:
    now = time.time()
    return entries.claim(event_id="e1", source="app", type="t", received_at=now, routes=["r1"], queue_by=now + 30,
                         token="tok", window_start=now - 3600, digest=digest, body_sha256="b1")


def test_a_refused_event_log_write_is_store_unavailable_naming_code_operation_and_message() -> None:
    ddb = client("dynamodb")
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", "AccessDeniedException", DENIED, 400)
        with pytest.raises(StoreUnavailable) as raised:
            claim(EventLogEntries("events", client=ddb))
    assert str(raised.value) == f"AccessDeniedException: PutItem: {DENIED}"


def test_every_entry_request_translates_and_the_condition_failures_stay_answers() -> None:
    ddb = client("dynamodb")
    entries = EventLogEntries("events", client=ddb)
    with Stubber(ddb) as stub:
        # a transaction cancelled for a reason that is no condition (throttling) is no answer about the event
        stub.add_client_error("transact_write_items", "TransactionCanceledException", "cancelled", 400,
                              response_meta={}, modeled_fields={"CancellationReasons": [
                                  {"Code": "ThrottlingError"}, {"Code": "None"}]})
        stub.add_client_error("delete_item", "ProvisionedThroughputExceededException", "slow down", 400)
        stub.add_client_error("delete_item", "ConditionalCheckFailedException", "not yours", 400)
        stub.add_client_error("update_item", "ConditionalCheckFailedException", "released meanwhile", 400)
        stub.add_client_error("update_item", "InternalServerError", "try again", 500)
        stub.add_client_error("query", "ResourceNotFoundException", "Requested resource not found", 400)
        with pytest.raises(StoreUnavailable, match=r"^TransactionCanceledException: TransactWriteItems: cancelled$"):
            claim(entries, digest="g1")
        with pytest.raises(StoreUnavailable, match=r"^ProvisionedThroughputExceededException: DeleteItem: slow down$"):
            entries.release("e1", "tok")
        assert entries.release("e1", "tok") is False  # a failed condition is the answer "not mine"
        entries.count_duplicate("e1")  # released meanwhile: nothing to count
        with pytest.raises(StoreUnavailable, match=r"^InternalServerError: UpdateItem: try again$"):
            entries.count_duplicate("e1")
        with pytest.raises(StoreUnavailable, match=r"^ResourceNotFoundException: Query: Requested resource"):
            entries.delivery_started("e1", time.time())


def test_no_answer_at_all_is_translated_too() -> None:
    ddb = client("dynamodb")
    entries = EventLogEntries("events", client=ddb)

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
    hub.ingress.deps.entries = EventLogEntries("events", client=ddb)
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


QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:hookline-delivery"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/hookline-delivery"


def test_delivery_queues_name_a_queue_by_its_arn_and_translate_refusals() -> None:
    sqs = client("sqs")
    queues = SqsDeliveryQueues(sqs, dlq_url="https://sqs/dlq", queue_url=QUEUE_URL)
    other = "arn:aws:sqs:us-east-1:210987654321:elsewhere"
    with Stubber(sqs) as stub:
        # the delivery queue's own ARN: its URL without a request
        stub.add_response("change_message_visibility", {},
                          {"QueueUrl": QUEUE_URL, "ReceiptHandle": "rh", "VisibilityTimeout": 60})
        # another queue: GetQueueUrl once (with its owner's account), then cached
        stub.add_response("get_queue_url", {"QueueUrl": "https://sqs/elsewhere"},
                          {"QueueName": "elsewhere", "QueueOwnerAWSAccountId": "210987654321"})
        stub.add_response("send_message", {"MessageId": "m1"},
                          {"QueueUrl": "https://sqs/elsewhere", "MessageBody": "{}", "DelaySeconds": 5})
        stub.add_response("send_message", {"MessageId": "m2"},
                          {"QueueUrl": "https://sqs/elsewhere", "MessageBody": "{}", "DelaySeconds": 0})
        stub.add_client_error("send_message", "KmsAccessDenied", "the DLQ's key refused", 400)
        stub.add_client_error("change_message_visibility", "ReceiptHandleIsInvalid", "expired", 400)
        queues.change_visibility(QUEUE_ARN, "rh", 60)
        queues.requeue(other, "{}", 5)
        queues.requeue(other, "{}", 0)
        with pytest.raises(QueueUnavailable, match=r"^KmsAccessDenied: SendMessage: the DLQ's key refused$"):
            queues.dead_letter("{}", {})
        with pytest.raises(QueueUnavailable, match=r"^ReceiptHandleIsInvalid: ChangeMessageVisibility: expired$"):
            queues.change_visibility(QUEUE_ARN, "rh", 1)
        stub.assert_no_pending_responses()


def test_the_engines_own_event_log_and_claim_requests_translate() -> None:
    ddb = client("dynamodb")
    resource = SESSION.resource("dynamodb")
    log = EventLog("events", resource=resource)
    claims = RouteClaims("events", boto3_client=ddb)
    claimant = Claimant("m-1", "c-1", None)
    with Stubber(resource.meta.client) as r, Stubber(ddb) as c:
        r.add_client_error("update_item", "ProvisionedThroughputExceededException", "slow down", 400)
        r.add_client_error("query", "AccessDeniedException", "not authorized to perform: dynamodb:Query", 400)
        c.add_client_error("update_item", "ThrottlingException", "rate exceeded", 400)
        c.add_client_error("update_item", "InternalServerError", "try again", 500)
        with pytest.raises(StoreUnavailable, match=r"^ProvisionedThroughputExceededException: UpdateItem: slow"):
            log.record_attempt(event_id="e1", route="r1", status="delivered")
        with pytest.raises(StoreUnavailable, match=r"^AccessDeniedException: Query: not authorized"):
            log.get("e1")
        with pytest.raises(StoreUnavailable, match=r"^ThrottlingException: UpdateItem: rate exceeded$"):
            claims.hand_over("hookline-delivery#e1:r1", claimant, until=time.time() + 60)
        with pytest.raises(StoreUnavailable, match=r"^InternalServerError: UpdateItem: try again$"):
            claims.before_dead_letter("hookline-delivery#e1:r1", claimant, until=time.time() + 60,
                                      fields={"source": "app"})
