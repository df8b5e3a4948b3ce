"""hookline dev's AWS state across restarts: moto's backends snapshotted, restored, and consistent."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core.base_backend import BackendDict
from moto.server import ThreadedMotoServer

from hookline.local.state import StateStore, WriteGate


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    for k, v in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(k, v)
    BackendDict.reset()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield server, f"http://{host}:{port}"
    server.stop()
    BackendDict.reset()


def test_queues_messages_items_and_objects_come_back_after_a_restart(moto_server: tuple[Any, str],
                                                                      tmp_path: Path) -> None:
    server, url = moto_server
    sqs, ddb, s3 = (boto3.client(s, endpoint_url=url) for s in ("sqs", "dynamodb", "s3"))
    store = StateStore(tmp_path / "emulator.pickle", "fp-1", note=pytest.fail)
    store.attach(server._server, {"queue": "q"}, 4566)
    # Given state in SQS, DynamoDB and S3
    q = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="dead one")
    sqs.send_message(QueueUrl=q, MessageBody="second")
    ddb.create_table(TableName="events", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="events", Item={"id": {"S": "e1"}, "status": {"S": "dead"}})
    s3.create_bucket(Bucket="payloads")
    s3.put_object(Bucket="payloads", Key="big", Body=b"x" * 300_000)
    assert store.gate is not None and store.gate.changes >= 7
    # When it is saved, moto is emptied (a new process) and the snapshot restored
    store.stop(save=True)
    BackendDict.reset()
    assert sqs.list_queues().get("QueueUrls", []) == []
    restored = StateStore(tmp_path / "emulator.pickle", "fp-1", note=pytest.fail)
    saved = restored.load()
    assert saved is not None and saved.port == 4566
    assert restored.restore(saved) == {"queue": "q"}
    # Then everything is back, and moto keeps working on it
    got = {m["Body"] for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]}
    assert got == {"dead one", "second"}
    assert ddb.get_item(TableName="events", Key={"id": {"S": "e1"}})["Item"]["status"] == {"S": "dead"}
    assert len(s3.get_object(Bucket="payloads", Key="big")["Body"].read()) == 300_000
    sqs.send_message(QueueUrl=q, MessageBody="after")


def test_a_snapshot_of_another_template_is_set_aside_not_restored(moto_server: tuple[Any, str],
                                                                  tmp_path: Path) -> None:
    server, _ = moto_server
    store = StateStore(tmp_path / "emulator.pickle", "template-A")
    store.attach(server._server, None, 1)
    store.stop(save=True)
    notes: list[str] = []
    assert StateStore(tmp_path / "emulator.pickle", "template-B", note=notes.append).load() is None
    assert "template.yaml, its parameters or the moto version changed" in notes[0]
    assert not (tmp_path / "emulator.pickle").exists() and (tmp_path / "emulator.unused.pickle").exists()


def test_only_requests_that_change_state_ask_for_a_snapshot(moto_server: tuple[Any, str], tmp_path: Path) -> None:
    server, url = moto_server
    sqs = boto3.client("sqs", endpoint_url=url)
    store = StateStore(tmp_path / "emulator.pickle", "fp")
    store.attach(server._server, None, 1)
    q = sqs.create_queue(QueueName="q")["QueueUrl"]
    gate = store.gate
    assert gate is not None
    n = gate.changes
    sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])
    sqs.receive_message(QueueUrl=q, WaitTimeSeconds=0)  # empty: nothing changed
    boto3.client("sns", endpoint_url=url).list_topics()  # query protocol, a read
    assert gate.changes == n
    sqs.send_message(QueueUrl=q, MessageBody="m")
    sqs.receive_message(QueueUrl=q, WaitTimeSeconds=0)  # a receive that took a message did
    boto3.client("sns", endpoint_url=url).create_topic(Name="t")
    assert gate.changes == n + 3
    store.stop(save=False)


def test_a_snapshot_waits_for_requests_in_flight_and_holds_new_ones() -> None:
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        release.wait(5)
        order.append(f"request {environ['n']}")
        return [b"ok"]

    gate = WriteGate(app)
    env = {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": "AmazonSQS.SendMessage"}
    first = threading.Thread(target=lambda: gate({**env, "n": 1}, None))
    first.start()
    entered.wait(5)

    def snapshot() -> None:
        with gate.exclusive():
            order.append("snapshot")
            time.sleep(0.2)

    snap = threading.Thread(target=snapshot)
    snap.start()
    time.sleep(0.1)
    second = threading.Thread(target=lambda: gate({**env, "n": 2}, None))
    second.start()
    time.sleep(0.1)
    assert order == []  # the snapshot waits for request 1; request 2 waits for the snapshot
    release.set()
    for t in (first, snap, second):
        t.join(5)
    assert order == ["request 1", "snapshot", "request 2"]
    assert gate.changes == 2


def test_a_long_poll_does_not_hold_a_snapshot_back(moto_server: tuple[Any, str], tmp_path: Path) -> None:
    server, url = moto_server
    sqs = boto3.client("sqs", endpoint_url=url)
    store = StateStore(tmp_path / "emulator.pickle", "fp")
    store.attach(server._server, None, 1)
    q = sqs.create_queue(QueueName="q")["QueueUrl"]
    # Given a consumer in a 3 s long poll on an empty queue
    got: list[Any] = []
    poll = threading.Thread(target=lambda: got.append(sqs.receive_message(QueueUrl=q, WaitTimeSeconds=3)))
    started = time.monotonic()
    poll.start()
    time.sleep(0.3)
    # When a snapshot is taken meanwhile, it does not wait for the poll to end
    t0 = time.monotonic()
    store.save()
    assert time.monotonic() - t0 < 1.0
    # And a message sent during the poll still reaches the poller, which then returns early
    sqs.send_message(QueueUrl=q, MessageBody="late")
    poll.join(10)
    assert [m["Body"] for m in got[0]["Messages"]] == ["late"]
    assert time.monotonic() - started < 2.5
    # And an empty long poll still waits its time out
    t0 = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1)
    assert time.monotonic() - t0 >= 0.95
    store.stop(save=False)


def test_a_change_is_saved_by_itself_so_a_crash_loses_little(moto_server: tuple[Any, str], tmp_path: Path) -> None:
    server, url = moto_server
    sqs = boto3.client("sqs", endpoint_url=url)
    path = tmp_path / "emulator.pickle"
    store = StateStore(path, "fp", interval=0.1, note=pytest.fail)
    store.attach(server._server, None, 1)
    q = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    # Given a change after the saver's first snapshot
    deadline = time.monotonic() + 10
    while store.saves == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    sqs.send_message(QueueUrl=q, MessageBody="dead-lettered just now")
    saves = store.saves
    while store.saves == saves and time.monotonic() < deadline:
        time.sleep(0.05)
    # When the process dies without a clean stop (nothing else is saved) and starts again
    idle_saves = store.saves
    time.sleep(0.4)
    assert store.saves == idle_saves  # and nothing is written while nothing changes
    BackendDict.reset()
    restored = StateStore(path, "fp", note=pytest.fail)
    saved = restored.load()
    assert saved is not None
    restored.restore(saved)
    # Then the change is there
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=q)["Messages"]] == ["dead-lettered just now"]
