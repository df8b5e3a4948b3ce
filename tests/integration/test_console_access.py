"""The console's access: its read-only detection against moto with IAM enforced (an operator who may
only read the DLQ gets a read-only console; one who may delete gets replay; the probe changes
nothing), and its own HTTP server's sign-in through the printed link."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from hookline.console.backend import probe_write_access

READER = ["sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
OPERATOR = [*READER, "sqs:SendMessage", "sqs:DeleteMessage"]
SETUP_CALLS = 9  # requests made before IAM is enforced: 2 queues, 1 message, 2 x (user, policy, key)


def _user(iam: Any, name: str, actions: list[str]) -> Any:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="console", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.client("sqs", region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])


@set_initial_no_auth_action_count(SETUP_CALLS)
@mock_aws
def test_credentials_without_delete_make_a_read_only_console_and_the_probe_changes_nothing() -> None:
    # Given a DLQ holding one event, and two operators: one may only read it, one may replay
    admin = boto3.client("sqs", region_name="us-east-1")
    dlq = admin.create_queue(QueueName="dlq")["QueueUrl"]
    queue = admin.create_queue(QueueName="delivery")["QueueUrl"]
    admin.send_message(QueueUrl=dlq, MessageBody="{}")
    iam = boto3.client("iam", region_name="us-east-1")
    reader, operator = _user(iam, "reader", READER), _user(iam, "operator", OPERATOR)
    # When each one's access is probed
    read_only, writable = probe_write_access(reader, dlq, queue), probe_write_access(operator, dlq, queue)
    # Then the reader is read-only, with the missing permission named, and the operator may replay
    assert (read_only.writable, read_only.why) == (False, "these AWS credentials lack sqs:DeleteMessage on the DLQ")
    assert writable.writable
    # And both queues are as they were: the probe deleted and sent nothing
    counts = [reader.get_queue_attributes(QueueUrl=u, AttributeNames=["ApproximateNumberOfMessages"])
              ["Attributes"]["ApproximateNumberOfMessages"] for u in (dlq, queue)]
    assert counts == ["1", "0"]


class _QuietBackend:
    """What the overview page reads, from nowhere: this test is about the server, not the stack."""

    def __init__(self) -> None:
        from hookline.console.backend import Access

        self.access = Access(True)
        self.origin = "test"

    def items(self) -> list[dict[str, Any]]:
        return []

    def dlq_depth(self) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the overview page should not need Backend.{name}")


def test_the_console_server_signs_in_with_its_link_and_never_logs_the_token(
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    import http.client
    import logging
    import socket
    import threading

    from hookline.commands.console import serve

    # Given `hookline console`'s own server on a free port, with werkzeug's request log on
    caplog.set_level(logging.INFO, logger="werkzeug")
    server, login = serve(_QuietBackend(), 0)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def get(path: str, cookie: str | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp

    try:
        # When a browser opens the printed link, then the page it is sent to
        assert login.url("127.0.0.1", port).endswith(f"/?token={login.token}")
        signed = get(f"/?token={login.token}")
        assert signed.status == 303 and signed.getheader("Location") == "/"
        cookie = signed.getheader("Set-Cookie").split(";", 1)[0]
        assert get("/", cookie).status == 200
        # And someone else tries the same link, and a malformed request line carrying the token
        assert get(f"/?token={login.token}").status == 403
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(f"GET /?token={login.token} HTTP/1.1 trailing-junk\r\n\r\n".encode())
            assert b"400" in raw.recv(4096)  # werkzeug answers a bad request line with a bare error page
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    # Then each request was logged, with the token hidden everywhere it went (logger and stderr)
    logged = caplog.text + capfd.readouterr().err
    assert logged.count("token=<hidden>") >= 3, logged
    assert login.token not in logged
