"""The console's read-only detection against moto with IAM enforced: an operator who may only read
the DLQ gets a read-only console; one who may delete gets replay; the probe changes nothing."""

from __future__ import annotations

import json
from typing import Any

import boto3
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
