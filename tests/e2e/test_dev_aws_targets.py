"""`hookline dev` end to end with the five AWS target types: an event sent with `hookline send` lands on the bus
(a rule copies it to a queue), in the FIFO queue, on the topic (a subscribed queue), in a function (a Python
handler given with --function, run in-process; another without one prints what it gets), and in the state
machine. A sync function that fails once is retried on the schedule and then delivered. The deliver role's
IAM comes from the template parameters that `hookline dev` fills from the destinations (IAM enforced)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.e2e.helpers import DevProcess, dev_env, free_port

ACCOUNT, REGION = "123456789012", "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-topic"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:orders-flow"
HANDLER = '''
import json, pathlib

OUT = pathlib.Path(__file__).with_name("received.jsonl")


def handler(event, context):
    seen = OUT.read_text().count("\\n") if OUT.exists() else 0
    with OUT.open("a") as f:
        f.write(json.dumps(event) + "\\n")
    if seen == 0:
        raise KeyError("not yet: the first call fails")  # retried by hookline, answered the second time
    return {"ok": True}
'''


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    workdir = tmp_path_factory.mktemp("devtargets")
    (workdir / "handler.py").write_text(HANDLER)
    destinations = {
        "bus": {"type": "eventbridge", "bus": "orders-bus", "source": "com.example.shop", "detail_type": "order"},
        "queue": {"type": "sqs", "queue": "orders.fifo"},
        "topic": {"type": "sns", "topic": TOPIC},
        "fn": {"type": "lambda", "function": "orders-fn", "invocation": "sync"},
        "printer": {"type": "lambda", "function": "orders-printer"},
        "flow": {"type": "stepfunctions", "state_machine": MACHINE},
    }
    cfg = {
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "header": "x-sig",
                                        "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": destinations,
        "retry": {"schedule_seconds": [1, 1, 1]},
        "routes": [{"name": f"to-{name}", "source": "shop", "destination": name, "key": "body.customer",
                    "transform": {"order": "body.id", "customer": "body.customer"}} for name in destinations],
    }
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = DevProcess(workdir, config, free_port(), "--function", "orders-fn=handler.py:handler")
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        proc.interrupt()


def client(dev: DevProcess, service: str) -> Any:
    state = dev.state()
    return boto3.client(service, endpoint_url=state["endpoint_url"], region_name=state["region"],
                        aws_access_key_id="x", aws_secret_access_key="x")


def wait_messages(dev: DevProcess, queue: str, timeout: float = 30) -> list[dict[str, Any]]:
    sqs = client(dev, "sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline, got = time.monotonic() + timeout, []
    while not got and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  AttributeNames=["All"]).get("Messages", [])
    return got


def test_one_event_reaches_every_kind_of_aws_target(dev: DevProcess, tmp_path: Path) -> None:
    data = tmp_path / "order.json"
    data.write_text(json.dumps({"id": 42, "customer": "cus_7"}))
    sent = subprocess.run([sys.executable, "-m", "hookline.cli", "send", "shop", "--data", str(data)], cwd=dev.cwd,
                          env=dev_env(), capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0 and sent.stdout.startswith("HTTP 202"), sent.stdout + sent.stderr
    mapped = {"order": 42, "customer": "cus_7"}

    (on_bus,) = wait_messages(dev, "hookline-dev-orders-bus-events")
    event = json.loads(on_bus["Body"])
    assert (event["source"], event["detail-type"], event["detail"]) == ("com.example.shop", "order", mapped)

    (queued,) = wait_messages(dev, "orders.fifo")
    assert json.loads(queued["Body"]) == mapped and queued["Attributes"]["MessageGroupId"] == "to-queue#cus_7"

    (notified,) = wait_messages(dev, "hookline-dev-orders-topic-inbox")
    assert json.loads(json.loads(notified["Body"])["Message"]) == mapped

    sfn = client(dev, "stepfunctions")
    deadline = time.monotonic() + 30
    while not (runs := sfn.list_executions(stateMachineArn=MACHINE)["executions"]) and time.monotonic() < deadline:
        time.sleep(0.3)
    (run,) = runs
    assert json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"]) == mapped

    # The function without a handler of its own printed what it got
    dev.wait_for(r'lambda orders-printer <- \{"order": 42, "customer": "cus_7"\}', timeout=30)

    # The sync function failed once (KeyError, reported as Lambda's runtime would) and was retried
    received = dev.cwd / "received.jsonl"
    deadline = time.monotonic() + 30
    while (not received.exists() or received.read_text().count("\n") < 2) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert [json.loads(line) for line in received.read_text().splitlines()] == [mapped, mapped], dev.output()
    dev.wait_for(r"to-fn.*(delivered|200)", timeout=30)
    assert "KeyError" in dev.output() + dev.log()
