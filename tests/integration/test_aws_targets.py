"""AWS-native destinations through the delivery engine, on moto, with the deliver role's IAM enforced.

The stack is deployed with its target parameters (TargetEventBusArns, TargetQueueArns, ...) naming one resource
of each kind; the deliver role's clients then reach exactly those:

- each event lands: on the bus (seen through a rule sending to an SQS queue), in the FIFO queue (its group the
  route's record key), on the topic (seen through a subscribed queue), in the function (a handler run in-process
  by hookline.local.target_functions: moto runs functions only in Docker), in the state machine (an execution
  whose input is the mapped body);
- a retried delivery does not land twice for SQS FIFO (the deduplication id) and Step Functions (the execution
  name); EventBridge and SNS standard cannot deduplicate (docs/targets.md);
- a target of each kind the parameters do not name is denied by IAM, and the delivery is dead-lettered `config`.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import pytest

from hookline.adapters.aws.targets import AwsTargets
from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.core.messages import DeliveryTask
from hookline.core.targets import TargetMessage
from hookline.local import target_functions
from hookline.validation import parse_config
from tests.integration.conftest import Stack, deploy_with_iam
from tests.support.moto_delivery import deliver_batch

ACCOUNT, REGION = "123456789012", "us-east-1"
BUS, QUEUE, TOPIC, FUNCTION, MACHINE = "orders-bus", "orders.fifo", "orders-topic", "orders-fn", "orders-flow"
ARN = {
    "eventbridge": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}",
    "sqs": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
    "sns": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
    "lambda": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
    "stepfunctions": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE}",
}
DESTINATIONS = {
    "bus": {"type": "eventbridge", "bus": BUS, "source": "com.example.shop", "detail_type_path": "kind"},
    "queue": {"type": "sqs", "queue": QUEUE},
    "topic": {"type": "sns", "topic": ARN["sns"]},
    "fn": {"type": "lambda", "function": FUNCTION, "invocation": "sync"},
    "flow": {"type": "stepfunctions", "state_machine": ARN["stepfunctions"]},
}


@pytest.fixture
def stack() -> Any:
    from moto import mock_aws

    with mock_aws():
        yield from deploy_with_iam(TargetEventBusArns=ARN["eventbridge"], TargetQueueArns=ARN["sqs"],
                                   TargetTopicArns=ARN["sns"], TargetFunctionArns=ARN["lambda"],
                                   TargetStateMachineArns=ARN["stepfunctions"])


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SECRET", "x-secret")


def make_targets(stack: Stack, names: dict[str, str] | None = None) -> dict[str, str]:
    """The five targets (and the queues that show what reached the bus and the topic), made by the admin."""
    names = {"bus": BUS, "queue": QUEUE, "topic": TOPIC, "function": FUNCTION, "machine": MACHINE, **(names or {})}
    sqs, events, sns = stack.sqs, stack.admin.client("events"), stack.admin.client("sns")
    iam = stack.admin.client("iam")
    urls = {"queue": sqs.create_queue(QueueName=names["queue"], Attributes={"FifoQueue": "true"})["QueueUrl"]}
    for sink in ("bus-sink", "topic-sink"):
        urls[sink] = sqs.create_queue(QueueName=f"{names['bus']}-{sink}")["QueueUrl"]
    sink_arn = {k: sqs.get_queue_attributes(QueueUrl=urls[k], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                for k in ("bus-sink", "topic-sink")}
    events.create_event_bus(Name=names["bus"])
    events.put_rule(Name="all-shop", EventBusName=names["bus"],
                    EventPattern=json.dumps({"source": ["com.example.shop"]}))
    events.put_targets(Rule="all-shop", EventBusName=names["bus"], Targets=[{"Id": "q", "Arn": sink_arn["bus-sink"]}])
    topic = sns.create_topic(Name=names["topic"])["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sink_arn["topic-sink"])
    role = iam.create_role(RoleName=f"{names['function']}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return event\n")
    stack.admin.client("lambda").create_function(FunctionName=names["function"], Runtime="python3.13", Role=role,
                                                 Handler="app.handler", Code={"ZipFile": code.getvalue()})
    stack.admin.client("stepfunctions").create_state_machine(
        name=names["machine"], roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))
    return urls


def config() -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x-sig"}}},
        "destinations": DESTINATIONS,
        "routes": [{"name": f"to-{name}", "source": "shop", "destination": name, "key": "body.customer",
                    "transform": {"order": "body.id", "kind": "'order.created'"}} for name in DESTINATIONS],
    })


def deliver(stack: Stack, cfg: Any, targets: AwsTargets) -> dict[str, Any]:
    return deliver_batch(stack, cfg, targets=targets)


def role_targets(stack: Stack) -> AwsTargets:
    fn = stack.function("DeliverFunction")  # only the deliver role's permissions
    return AwsTargets({s: fn.client(s) for s in ("events", "sqs", "sns", "lambda", "stepfunctions")}, window=0.2)


def drain(stack: Stack, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(5):
        got = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages", [])
        if not got and out:
            break
        out += got
    return out


def test_each_target_receives_the_mapped_event(stack: Stack) -> None:
    urls = make_targets(stack)
    received: list[Any] = []
    target_functions.register(FUNCTION, lambda event, _ctx: received.append(event) or {"ok": True})
    try:
        for name in DESTINATIONS:
            task = DeliveryTask(event_id="o:7@1", source="shop", route=f"to-{name}", received_at=1.0,
                                content_type="application/json", body=json.dumps({"id": 7, "customer": "c-1"}))
            stack.sqs.send_message(QueueUrl=stack.queue_url, MessageBody=task.model_dump_json(exclude_none=True))
        out = deliver(stack, config(), role_targets(stack))
    finally:
        target_functions.unregister(FUNCTION)
    assert len(out["messages"]) == 5 and out["response"] == {"batchItemFailures": []}
    mapped = {"order": 7, "kind": "order.created"}
    # EventBridge: a rule on the bus sent it to a queue, with the source and the DetailType from the mapped body
    (on_bus,) = drain(stack, urls["bus-sink"])
    event = json.loads(on_bus["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == ("com.example.shop", "order.created", mapped)
    # SQS FIFO: grouped by the route's record key
    (queued,) = drain(stack, urls["queue"])
    assert json.loads(queued["Body"]) == mapped and queued["Attributes"]["MessageGroupId"] == "to-queue#c-1"
    # SNS: the subscribed queue got the notification
    (notified,) = drain(stack, urls["topic-sink"])
    assert json.loads(json.loads(notified["Body"])["Message"]) == mapped
    # Lambda (sync): the handler got the mapped body
    assert received == [mapped]
    # Step Functions: one execution, its input the mapped body
    sfn = stack.admin.client("stepfunctions")
    (execution,) = sfn.list_executions(stateMachineArn=ARN["stepfunctions"])["executions"]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == mapped


def test_a_retried_delivery_lands_once_in_a_fifo_queue_and_a_state_machine(stack: Stack) -> None:
    urls = make_targets(stack)
    targets = role_targets(stack)
    message = TargetMessage(body='{"order": 7}', delivery_key="o:7@1:to-queue", group_id="to-queue#c-1",
                            detail_type="order.created")
    queue = DestinationConfig.model_validate(DESTINATIONS["queue"])
    flow = DestinationConfig.model_validate(DESTINATIONS["flow"])
    # A retry after a lost answer (the claim released, the same delivery sent again), each accepted
    for _ in range(2):
        assert targets.send(queue, message, name="queue").outcome.delivered
        assert targets.send(flow, message, name="flow").outcome.delivered
    assert len(drain(stack, urls["queue"])) == 1  # SQS dropped the second by its deduplication id
    executions = stack.admin.client("stepfunctions").list_executions(stateMachineArn=ARN["stepfunctions"])
    assert [e["name"] for e in executions["executions"]] == [message.execution_name]


@pytest.mark.parametrize("kind", ["eventbridge", "sqs", "sns", "lambda", "stepfunctions"])
def test_a_target_the_parameters_do_not_name_is_denied_and_dead_lettered_config(stack: Stack, kind: str) -> None:
    other = {"bus": "other-bus", "queue": "other.fifo", "topic": "other-topic", "function": "other-fn",
             "machine": "other-flow"}
    make_targets(stack, other)
    dest = {
        "eventbridge": {"type": "eventbridge", "bus": "other-bus", "source": "com.example.shop"},
        "sqs": {"type": "sqs", "queue": "other.fifo"},
        "sns": {"type": "sns", "topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:other-topic"},
        "lambda": {"type": "lambda", "function": "other-fn"},
        "stepfunctions": {"type": "stepfunctions",
                          "state_machine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:other-flow"},
    }[kind]
    message = TargetMessage(body='{"order": 7}', delivery_key="o:7@1:r", group_id="r", detail_type="d")
    started = time.monotonic()
    result = role_targets(stack).send(DestinationConfig.model_validate(dest), message, name="other")
    assert result.outcome == outcomes.Outcome(outcomes.Verdict.PERMANENT, outcomes.CONFIG), result
    assert "AccessDenied" in (result.error or "") or "not authorized" in (result.error or "")
    assert time.monotonic() - started < 30
