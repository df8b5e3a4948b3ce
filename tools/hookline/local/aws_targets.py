"""`hookline dev`: the AWS targets the configuration's eventbridge / sqs / sns / lambda / stepfunctions destinations
deliver to, made in the emulator, and the template parameters that let the deliver role reach them.

A deployed stack delivers to resources the user owns, named in the template parameters (TargetEventBusArns ...).
Locally each is created here, with something to look at what arrived:

- an event bus, with a rule sending every event of the destination's `source` to the queue
  `hookline-dev-<bus>-events`;
- a queue (FIFO when its name ends in .fifo, deduplicating by the id hookline sends, not by content);
- a topic, with the queue `hookline-dev-<topic>-inbox` subscribed;
- a function whose invocations run in this process (local/target_functions.py): the handler given with
  `--function NAME=FILE.py:FUNCTION`, else one that prints each event it receives and returns null;
- a state machine of one Pass state (moto records each execution and its input).

The emulator is one account and region (123456789012, us-east-1): a topic or state machine ARN naming another
cannot be made here, and start-up says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from hookline.local import target_functions

ROLE = "hookline-dev-targets"


def _name(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def parameters(cfg: Any, account_id: str, region: str) -> dict[str, str]:
    """Template parameter -> comma-separated ARNs of the configuration's targets (only the kinds it uses)."""
    arns: dict[str, list[str]] = {}
    for dest in cfg.destinations.values():
        arn = {
            "eventbridge": lambda d: d.bus if (d.bus or "").startswith("arn:")
            else f"arn:aws:events:{region}:{account_id}:event-bus/{d.bus}",
            "sqs": lambda d: f"arn:aws:sqs:{region}:{account_id}:{_name(d.queue or '')}",
            "sns": lambda d: d.topic,
            "lambda": lambda d: d.function if (d.function or "").startswith("arn:")
            else f"arn:aws:lambda:{region}:{account_id}:function:{d.function}",
            "stepfunctions": lambda d: d.state_machine,
        }.get(dest.type)
        if arn is not None:
            key = {"eventbridge": "TargetEventBusArns", "sqs": "TargetQueueArns", "sns": "TargetTopicArns",
                   "lambda": "TargetFunctionArns", "stepfunctions": "TargetStateMachineArns"}[dest.type]
            value = arn(dest)
            if value not in arns.setdefault(key, []):
                arns[key].append(value)
    return {key: ",".join(values) for key, values in arns.items()}


def provision_targets(cfg: Any, session: Any, account_id: str, region: str, *,
                      handlers: dict[str, Callable[[Any, Any], Any]], say: Callable[[str], None],
                      notes: list[str]) -> list[str]:
    """Create what the AWS target destinations need; one line per destination for the banner."""
    lines: list[str] = []
    made: set[str] = set()
    for name, dest in cfg.destinations.items():
        maker = {"eventbridge": _bus, "sqs": _queue, "sns": _topic, "lambda": _function,
                 "stepfunctions": _machine}.get(dest.type)
        if maker is None:
            continue
        arn = dest.topic or dest.state_machine or ""
        if arn and f":{region}:{account_id}:" not in arn:
            notes.append(f"destinations.{name}: {arn} is not in the emulator's account and region "
                         f"({account_id}, {region}); write its ARN with those to deliver to it locally")
            continue
        lines.append(f"{name} -> {maker(session, dest, account_id, handlers, say, made)}")
    return lines


def _bus(session: Any, dest: Any, account_id: str, handlers: Any, say: Any, made: set[str]) -> str:
    events, sqs = session.client("events"), session.client("sqs")
    bus = _name(dest.bus)
    sink = f"hookline-dev-{bus}-events"
    if bus not in made:
        if bus != "default" and bus not in {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}:
            events.create_event_bus(Name=bus)
        url = sqs.create_queue(QueueName=sink)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        made.add(bus)
    else:
        queue_arn = f"arn:aws:sqs:{session.region_name}:{account_id}:{sink}"
    rule = f"hookline-dev-{hashlib.sha256(dest.source.encode()).hexdigest()[:12]}"  # one per source, every run
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [dest.source]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "dev", "Arn": queue_arn}])
    return f"events bus {bus} (source {dest.source}; a rule copies its events to sqs {sink})"


def _queue(session: Any, dest: Any, account_id: str, handlers: Any, say: Any, made: set[str]) -> str:
    name = _name(dest.queue)
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if name.endswith(".fifo") else {}
    session.client("sqs").create_queue(QueueName=name, Attributes=attributes)
    return f"sqs {name}{' (FIFO: grouped by the route key, deduplicated by delivery)' if attributes else ''}"


def _topic(session: Any, dest: Any, account_id: str, handlers: Any, say: Any, made: set[str]) -> str:
    sns, sqs = session.client("sns"), session.client("sqs")
    name = _name(dest.topic)
    fifo = name.endswith(".fifo")
    topic = sns.create_topic(Name=name, Attributes={"FifoTopic": "true"} if fifo else {})["TopicArn"]
    inbox = f"hookline-dev-{name.removesuffix('.fifo')}-inbox{'.fifo' if fifo else ''}"
    url = sqs.create_queue(QueueName=inbox, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscribed = {x["Endpoint"] for x in sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])}
    if queue_arn not in subscribed:  # once, across restarts that restore the emulator's state
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return f"sns {name} (subscribed: sqs {inbox})"


def _function(session: Any, dest: Any, account_id: str, handlers: dict[str, Any], say: Callable[[str], None],
              made: set[str]) -> str:
    name = _name(dest.function)
    lam = session.client("lambda")
    if name not in made:
        role = _role(session, account_id)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:  # never run: the invocations run in this process
            z.writestr("app.py", "def handler(event, context):\n    return None\n")
        with contextlib.suppress(lam.exceptions.ResourceConflictException):  # restored from the last run's state
            lam.create_function(FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler",
                                Code={"ZipFile": code.getvalue()})
        made.add(name)
    handler = handlers.get(name)
    if handler is None:
        def printing(event: Any, _context: Any, fn: str = name) -> None:
            say(f"lambda {fn} <- {json.dumps(event)[:300]}")
        handler = printing
    target_functions.register(name, handler)
    given = "your handler" if name in handlers else "prints each event (give --function NAME=FILE.py:FUNCTION)"
    return f"lambda {name} ({dest.invocation}; {given})"


def _machine(session: Any, dest: Any, account_id: str, handlers: Any, say: Any, made: set[str]) -> str:
    sfn = session.client("stepfunctions")
    name = _name(dest.state_machine)
    existing = {m["name"] for m in sfn.list_state_machines().get("stateMachines", [])}
    if name not in existing:
        sfn.create_state_machine(name=name, roleArn=_role(session, account_id), definition=json.dumps(
            {"StartAt": "Received", "States": {"Received": {"Type": "Pass", "End": True}}}))
    return f"stepfunctions {name} (one Pass state; executions named by delivery)"


def _role(session: Any, account_id: str) -> str:
    iam = session.client("iam")
    try:
        return str(iam.get_role(RoleName=ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
                "Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]}))["Role"]["Arn"])
