"""How the AWS adapters get their clients (adapters/aws/stores.py): from one botocore session per process,
made at the first client, without importing boto3 (issue 23: cold start), and from boto3's default session
when the process set one up (tests assume roles that way). No AWS call is made."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.session import Session
from botocore.validate import ParamValidationDecorator

from hookline.adapters.aws import stores


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No session made yet, no boto3 default session: as a Lambda process starts."""
    monkeypatch.setattr(stores, "_session", None)
    monkeypatch.setattr(stores, "_resource", None)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    yield


def test_clients_made_from_several_threads_at_once_share_one_session(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Session] = []

    class SlowSession(Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            time.sleep(0.05)  # a window in which an unguarded check-then-make lets every thread make one
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(stores, "Session", SlowSession)
    start = threading.Barrier(8)
    clients: list[Any] = []
    errors: list[BaseException] = []

    def make(service: str) -> None:
        start.wait()
        try:
            clients.append(stores.client(service))
        except BaseException as e:  # reported below, not lost in the thread
            errors.append(e)

    threads = [threading.Thread(target=make, args=("sqs" if i % 2 else "dynamodb",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(made) == 1
    assert len(clients) == 8
    assert {c.meta.region_name for c in clients} == {"us-east-1"}
    assert sorted(c.meta.service_model.service_name for c in clients) == ["dynamodb"] * 4 + ["sqs"] * 4


def test_the_hot_path_clients_skip_client_side_parameter_validation() -> None:
    # botocore wraps a validating client's serializer (meta.config does not show the setting).
    assert not isinstance(stores.hot_path_client("sqs")._serializer, ParamValidationDecorator)
    assert isinstance(stores.sqs_client()._serializer, ParamValidationDecorator)


def test_a_boto3_default_session_set_up_by_the_process_is_used() -> None:
    boto3.setup_default_session(region_name="eu-west-1")
    assert stores.client("sqs").meta.region_name == "eu-west-1"
    assert stores.table_of(None, "events").meta.client.meta.region_name == "eu-west-1"
    boto3.DEFAULT_SESSION = None
    assert stores.client("sqs").meta.region_name == "us-east-1"  # the process's own session again


def test_tables_use_the_process_session_and_one_resource() -> None:
    # boto3's resource layer over the same botocore session: botocore's data (endpoints, the DynamoDB
    # model) is loaded once for the clients and the tables.
    stores.dynamodb_client()
    session = stores._session
    events, other = stores.table_of(None, "events"), stores.table_of(None, "other")
    assert stores._resource is not None and stores._resource[0] is session
    assert events.meta.client is other.meta.client
    assert (events.name, other.name) == ("events", "other")
    injected = boto3.Session(region_name="ap-south-1").resource("dynamodb")
    assert stores.table_of(injected, "t").meta.client.meta.region_name == "ap-south-1"
