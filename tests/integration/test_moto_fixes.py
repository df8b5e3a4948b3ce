"""The emulator keeps DynamoDB's transaction guarantees at DynamoDB's per-item cost, and SQS's receipt handle
semantics (hookline.local.moto_fixes)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from hookline.local import moto_fixes


@pytest.fixture
def table() -> Iterator[Any]:
    moto_fixes.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield client


def put_new(key: str) -> dict[str, Any]:
    return {"Put": {"TableName": "t", "Item": {"pk": {"S": key}, "v": {"S": "new"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def test_a_cancelled_transaction_writes_nothing(table: Any) -> None:
    # Given an item that makes the transaction's second condition fail
    table.put_item(TableName="t", Item={"pk": {"S": "b"}, "v": {"S": "old"}})
    # When a transaction puts a new item and that one
    with pytest.raises(table.exceptions.TransactionCanceledException) as cancelled:
        table.transact_write_items(TransactItems=[put_new("a"), put_new("b")])
    # Then neither is written: the first put is rolled back, the old item is intact
    assert [r["Code"] for r in cancelled.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in table.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert table.get_item(TableName="t", Key={"pk": {"S": "b"}})["Item"]["v"] == {"S": "old"}


def test_a_transaction_does_not_copy_the_table(table: Any) -> None:
    # moto backed up a deep copy of every named table per transaction (O(table) each) and swapped it in
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    before = backend.tables["t"]
    table.put_item(TableName="t", Item={"pk": {"S": "b"}})
    table.transact_write_items(TransactItems=[put_new("c")])
    with pytest.raises(table.exceptions.TransactionCanceledException):
        table.transact_write_items(TransactItems=[put_new("d"), put_new("b")])
    assert backend.tables["t"] is before
    assert sorted(i["pk"]["S"] for i in table.scan(TableName="t")["Items"]) == ["b", "c"]


# -- SQS: a receipt handle belongs to one receive

@pytest.fixture
def sqs() -> Iterator[Any]:
    moto_fixes.install()
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def received_twice(sqs: Any, url: str) -> tuple[str, str]:
    """(the first receipt handle, the second): the message's visibility lapses between the receives."""
    sqs.send_message(QueueUrl=url, MessageBody="m", **({"MessageGroupId": "g"} if url.endswith(".fifo") else {}))
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
    time.sleep(1.1)  # moto reads the wall clock: the lapse is real
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]
    assert first != second
    return first, second


def count_messages(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_an_older_receipt_handle_does_not_delete_from_a_standard_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    first, second = received_twice(sqs, url)
    # Given the message was received again by another consumer, the first consumer's delete
    # succeeds (SQS answers 200) but the message stays with the consumer that holds it now
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first)
    assert count_messages(sqs, url) == 1
    result = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": first}])
    assert result.get("Failed", []) == [] and count_messages(sqs, url) == 1
    # The newest handle deletes it
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second)
    assert count_messages(sqs, url) == 0


def test_an_older_receipt_handle_cannot_change_the_visibility(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    first, second = received_twice(sqs, url)
    with pytest.raises(sqs.exceptions.ClientError, match="not available for visibility timeout change"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first, VisibilityTimeout=0)
    batch = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "0", "ReceiptHandle": first, "VisibilityTimeout": 0}])
    assert [f["Id"] for f in batch["Failed"]] == ["0"]
    # The message is still hidden from others; the current handle shows it again
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second, VisibilityTimeout=0)
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_a_message_back_in_the_queue_is_not_in_flight(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    time.sleep(0.01)
    with pytest.raises(sqs.exceptions.ClientError, match="not available for visibility timeout change"):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=30)
    # Deleting with that (still newest) handle works on a standard queue
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert count_messages(sqs, url) == 0


def test_a_fifo_queue_refuses_an_expired_receipt_handle(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true",
                                                           "ContentBasedDeduplication": "true"})["QueueUrl"]
    first, second = received_twice(sqs, url)
    with pytest.raises(sqs.exceptions.ClientError, match="The receipt handle has expired"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first)
    batch = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": first}])
    assert [f["Id"] for f in batch["Failed"]] == ["0"]  # reported per entry, as SQS does
    assert count_messages(sqs, url) == 1
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second)
    assert count_messages(sqs, url) == 0
