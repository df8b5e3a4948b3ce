"""The emulator keeps DynamoDB's transaction guarantees at DynamoDB's per-item cost (hookline.local.moto_fixes)."""

from __future__ import annotations

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
