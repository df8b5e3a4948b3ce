"""hookline.local.cfn: the CloudFormation loader, intrinsic evaluation and function specs.

Pure tests: no AWS endpoint, no moto. Provisioning against moto is in
tests/integration/test_template.py.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from hookline.local import cfn
from hookline.local.cfn import (
    NO_VALUE,
    CfnError,
    Evaluator,
    LocalResource,
    Resources,
    StackContext,
    UnresolvableError,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

GLOBAL_ENV = {
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL", "HOOKLINE_STAGE",
    "IDEMPOTENCY_TABLE", "EVENTS_TABLE", "DELIVERY_QUEUE_URL", "DLQ_URL", "PAYLOAD_BUCKET",
    "IDEMPOTENCY_WINDOW_SECONDS", "LARGE_BODY_THRESHOLD_BYTES",
}


@pytest.fixture(scope="module")
def template() -> dict:
    return cfn.load_template(TEMPLATE_PATH)


def fake_resources(stack: str = "hl-test") -> Resources:
    """What a provisioner would return for the real template, without an endpoint."""
    ctx = StackContext(stack_name=stack)
    base = f"https://sqs.us-east-1.amazonaws.com/{ctx.account_id}"

    def queue(lid: str) -> LocalResource:
        name = f"{stack}-{lid}"
        arn = f"arn:aws:sqs:us-east-1:{ctx.account_id}:{name}"
        url = f"{base}/{name}"
        return LocalResource(lid, cfn.QUEUE, name, url, arn, url, {"Arn": arn, "QueueUrl": url, "QueueName": name})

    def table(lid: str) -> LocalResource:
        name = f"{stack}-{lid}"
        arn = f"arn:aws:dynamodb:us-east-1:{ctx.account_id}:table/{name}"
        return LocalResource(lid, cfn.TABLE, name, name, arn, attributes={"Arn": arn})

    bucket = f"{stack}-payloadbucket"
    topic_arn = f"arn:aws:sns:us-east-1:{ctx.account_id}:{stack}-AlarmTopic"
    items = {
        "IdempotencyTable": table("IdempotencyTable"),
        "EventsTable": table("EventsTable"),
        "DeadLetterQueue": queue("DeadLetterQueue"),
        "DeliveryQueue": queue("DeliveryQueue"),
        "OrderedDeliveryQueue": queue("OrderedDeliveryQueue"),
        "OrderedDeadLetterQueue": queue("OrderedDeadLetterQueue"),
        "RecordsTable": table("RecordsTable"),
        "PayloadBucket": LocalResource("PayloadBucket", cfn.BUCKET, bucket, bucket, f"arn:aws:s3:::{bucket}",
                                       attributes={"Arn": f"arn:aws:s3:::{bucket}"}),
        "AlarmTopic": LocalResource("AlarmTopic", cfn.TOPIC, f"{stack}-AlarmTopic", topic_arn, topic_arn,
                                    attributes={"TopicArn": topic_arn}),
    }
    return Resources(items, context=ctx, parameters=cfn.parameter_values(cfn.load_template(TEMPLATE_PATH)))


# --------------------------------------------------------------------------- loader


def test_every_short_form_tag_becomes_its_long_form() -> None:
    # Given a template using every short-form tag
    text = """
    A: !Ref Param
    B: !GetAtt Queue.Arn
    C: !GetAtt [Queue, QueueName]
    D: !Sub "${AWS::StackName}-x"
    E: !Sub ["${a}-${b}", {a: !Ref P1, b: lit}]
    F: !If [Cond, yes-value, !Ref AWS::NoValue]
    G: !Equals [!Ref P, ""]
    H: !Not [!Condition Other]
    I: !And [!Condition X, !Condition Y]
    J: !Or [!Condition X, !Condition Y]
    K: !Join [",", [a, b]]
    L: !Select [1, !Split [",", "a,b,c"]]
    M: !FindInMap [Map, Top, Second]
    N: !GetAZs ""
    O: !Base64 hello
    P: !ImportValue exported-name
    Q: !GetAtt Db.Endpoint.Address
    """
    # When it is loaded
    loaded = cfn.loads_template(text)
    # Then each tag is the long form CloudFormation defines
    assert loaded["A"] == {"Ref": "Param"}
    assert loaded["B"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert loaded["C"] == {"Fn::GetAtt": ["Queue", "QueueName"]}
    assert loaded["D"] == {"Fn::Sub": "${AWS::StackName}-x"}
    assert loaded["E"] == {"Fn::Sub": ["${a}-${b}", {"a": {"Ref": "P1"}, "b": "lit"}]}
    assert loaded["F"] == {"Fn::If": ["Cond", "yes-value", {"Ref": "AWS::NoValue"}]}
    assert loaded["G"] == {"Fn::Equals": [{"Ref": "P"}, ""]}
    assert loaded["H"] == {"Fn::Not": [{"Condition": "Other"}]}
    assert loaded["I"] == {"Fn::And": [{"Condition": "X"}, {"Condition": "Y"}]}
    assert loaded["J"] == {"Fn::Or": [{"Condition": "X"}, {"Condition": "Y"}]}
    assert loaded["K"] == {"Fn::Join": [",", ["a", "b"]]}
    assert loaded["L"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}
    assert loaded["M"] == {"Fn::FindInMap": ["Map", "Top", "Second"]}
    assert loaded["N"] == {"Fn::GetAZs": ""}
    assert loaded["O"] == {"Fn::Base64": "hello"}
    assert loaded["P"] == {"Fn::ImportValue": "exported-name"}
    assert loaded["Q"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}


def test_dates_stay_strings_and_long_forms_pass_through() -> None:
    loaded = cfn.loads_template('Version: 2012-10-17\nX: {"Fn::GetAtt": [Q, Arn]}\n')
    assert loaded == {"Version": "2012-10-17", "X": {"Fn::GetAtt": ["Q", "Arn"]}}
    # the loader does not leak into yaml.SafeLoader
    assert not isinstance(yaml.safe_load("d: 2012-10-17")["d"], str)


def test_unknown_tags_and_non_mapping_templates_are_errors() -> None:
    with pytest.raises(yaml.YAMLError, match="unknown CloudFormation tag !Bogus"):
        cfn.loads_template("A: !Bogus x\n")
    with pytest.raises(CfnError):
        cfn.loads_template("- a\n- b\n")


def test_the_real_template_loads(template: dict) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["DeliveryQueue"]["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": {"Ref": "MaxReceiveCount"},
    }


# --------------------------------------------------------------------------- parameters


def test_parameter_values_use_defaults_then_overrides(template: dict) -> None:
    values = cfn.parameter_values(template)
    assert values["Stage"] == "dev"
    assert values["MaxReceiveCount"] == "6"  # Ref of a Number parameter is a string
    assert values["IdempotencyWindowSeconds"] == "604800"
    assert values["LargeBodyThresholdBytes"] == "204800"
    assert values["SyncEnabled"] == "DISABLED"
    assert values["AlertEmail"] == ""
    assert cfn.parameter_values(template, {"MaxReceiveCount": 3})["MaxReceiveCount"] == "3"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"Nope": "x"}, "unknown template parameter"),
    ({"SyncEnabled": "maybe"}, "not one of"),
    ({"MaxReceiveCount": "1"}, "below MinValue"),
    ({"MaxReceiveCount": "ten"}, "not a number"),
    ({"Stage": "Has Spaces"}, "does not match"),
])
def test_bad_parameter_overrides_are_rejected(template: dict, overrides: dict, message: str) -> None:
    with pytest.raises(CfnError, match=message):
        cfn.parameter_values(template, overrides)


# --------------------------------------------------------------------------- intrinsics

TOY = cfn.loads_template("""
Parameters:
  Env: {Type: String, Default: dev}
  Count: {Type: Number, Default: 3}
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
  NoDefault: {Type: String}
Mappings:
  Sizes:
    dev: {memory: 256}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition NotProd, !Equals [!Ref Count, 3]]
  Either: !Or [!Condition IsProd, !Condition Both]
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Fn: {Type: AWS::Serverless::Function}
  ProdOnly: {Type: AWS::SQS::Queue, Condition: IsProd}
""")


def toy_evaluator(**kwargs) -> Evaluator:
    queue = LocalResource("Queue", cfn.QUEUE, "s-Queue", "https://q/s-Queue", "arn:aws:sqs:us-east-1:1:s-Queue",
                          "https://q/s-Queue", {"Arn": "arn:aws:sqs:us-east-1:1:s-Queue", "QueueName": "s-Queue"})
    return Evaluator(TOY, context=StackContext("s", account_id="1"), resources={"Queue": queue}, **kwargs)


def test_ref_resolves_parameters_pseudo_parameters_and_resources() -> None:
    ev = toy_evaluator(parameters={"Env": "prod"})
    assert ev.resolve({"Ref": "Env"}) == "prod"
    assert ev.resolve({"Ref": "Count"}) == "3"
    assert ev.resolve({"Ref": "Zones"}) == ["a", "b"]
    assert ev.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert ev.resolve({"Ref": "AWS::AccountId"}) == "1"
    assert ev.resolve({"Ref": "AWS::StackName"}) == "s"
    assert ev.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert ev.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert ev.resolve({"Ref": "AWS::StackId"}).startswith("arn:aws:cloudformation:us-east-1:1:stack/s/")
    assert ev.resolve({"Ref": "Queue"}) == "https://q/s-Queue"
    # a resource type that is never provisioned locally gets the stand-in name
    assert ev.resolve({"Ref": "Fn"}) == "s-Fn"


def test_unresolvable_references_raise() -> None:
    ev = toy_evaluator(placeholders=False)
    with pytest.raises(UnresolvableError):
        ev.resolve({"Ref": "Fn"})
    with pytest.raises(UnresolvableError):
        ev.resolve({"Ref": "NoDefault"})
    with pytest.raises(UnresolvableError):
        ev.resolve({"Fn::GetAtt": ["Fn", "Arn"]})
    with pytest.raises(UnresolvableError):
        ev.resolve({"Fn::GetAtt": ["Queue", "Nope"]})
    with pytest.raises(UnresolvableError):
        ev.resolve({"Fn::ImportValue": "x"})
    with pytest.raises(CfnError):
        ev.resolve({"Ref": "Unknown"})


def test_sub_join_select_split_and_friends() -> None:
    ev = toy_evaluator()
    assert ev.resolve({"Fn::Sub": "${AWS::StackName}-${Env}-${Queue.QueueName}-${!Literal}"}) \
        == "s-dev-s-Queue-${Literal}"
    assert ev.resolve({"Fn::Sub": ["${x}/${Queue}", {"x": {"Ref": "Count"}}]}) == "3/https://q/s-Queue"
    assert ev.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:1:s-Queue"
    assert ev.resolve({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}) == "a-dev-1"
    assert ev.resolve({"Fn::Join": [",", {"Ref": "Zones"}]}) == "a,b"
    assert ev.resolve({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert ev.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "memory"]}) == 256
    assert ev.resolve({"Fn::GetAZs": ""}) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert base64.b64decode(ev.resolve({"Fn::Base64": {"Ref": "Env"}})) == b"dev"
    assert json.loads(ev.resolve({"Fn::ToJsonString": {"a": {"Ref": "Count"}}})) == {"a": "3"}


def test_conditions_if_and_no_value() -> None:
    dev, prod = toy_evaluator(), toy_evaluator(parameters={"Env": "prod"})
    assert (dev.condition("IsProd"), dev.condition("NotProd"), dev.condition("Both"), dev.condition("Either")) \
        == (False, True, True, True)
    assert (prod.condition("IsProd"), prod.condition("Both"), prod.condition("Either")) == (True, False, True)
    value = {"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]}
    assert dev.resolve({"keep": 1, "maybe": value}) == {"keep": 1}
    assert dev.resolve(["a", value]) == ["a"]
    assert prod.resolve({"maybe": value}) == {"maybe": "big"}
    assert dev.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    assert not dev.resource_enabled("ProdOnly") and prod.resource_enabled("ProdOnly")


def test_alert_email_condition_in_the_real_template(template: dict) -> None:
    ctx = StackContext("s")
    assert not Evaluator(template, context=ctx).condition("HasAlertEmail")
    assert Evaluator(template, context=ctx, parameters={"AlertEmail": "ops@example.com"}).condition("HasAlertEmail")


# --------------------------------------------------------------------------- names


def test_physical_names_are_valid_for_each_service() -> None:
    assert cfn.physical_name("hookline-dev", "DeliveryQueue", cfn.QUEUE) == "hookline-dev-DeliveryQueue"
    assert cfn.physical_name("Hook_Line", "PayloadBucket", cfn.BUCKET) == "hook-line-payloadbucket"
    assert cfn.physical_name("s", "Jobs", cfn.QUEUE, fifo=True) == "s-Jobs.fifo"
    long_queue = cfn.physical_name("x" * 70, "DeliveryQueue", cfn.QUEUE)
    assert len(long_queue) <= 80
    assert long_queue != cfn.physical_name("x" * 70, "DeadLetterQueue", cfn.QUEUE)
    assert len(cfn.physical_name("y" * 70, "PayloadBucket", cfn.BUCKET)) <= 63


def test_plan_creates_the_dead_letter_queue_before_the_queue_that_names_it(template: dict) -> None:
    plan = cfn.Provisioner(template, stack_name="s", region="us-east-1", account_id="1", clients={}).plan()
    assert set(plan) == {"IdempotencyTable", "EventsTable", "DeliveryQueue", "DeadLetterQueue",
                         "PayloadBucket", "AlarmTopic", "RecordsTable", "OrderedDeliveryQueue",
                         "OrderedDeadLetterQueue"}
    assert plan.index("DeadLetterQueue") < plan.index("DeliveryQueue")
    assert plan.index("OrderedDeadLetterQueue") < plan.index("OrderedDeliveryQueue")


def test_provisioner_rejects_unknown_parameters(template: dict) -> None:
    with pytest.raises(CfnError, match="unknown template parameter"):
        cfn.Provisioner(template, parameters={"Bogus": 1}, region="us-east-1", account_id="1")


# --------------------------------------------------------------------------- functions


def test_functions_from_the_real_template(template: dict) -> None:
    specs = {f.logical_id: f for f in cfn.functions(template)}
    assert set(specs) == {"IngressFunction", "DeliverFunction", "SyncFunction"}
    for spec in specs.values():
        assert spec.handler == "app.handler"
        assert (spec.handler_module, spec.handler_function) == ("app", "handler")
        assert spec.runtime == "python3.13"
        assert spec.architectures == ("arm64",)
        assert spec.memory_size == 512
        assert spec.layers == ("HooklineLayer",)
        assert spec.code_path(ROOT).is_dir()

    ingress = specs["IngressFunction"]
    assert ingress.code_uri == "functions/ingress"
    assert ingress.timeout == 30  # from Globals
    (http,) = ingress.events
    assert (http.type, http.api, http.method, http.path) == ("HttpApi", "WebhookApi", "POST", "/webhooks/{source}")
    assert http.properties["ApiId"] == {"Ref": "WebhookApi"}

    deliver = specs["DeliverFunction"]
    sqs, ordered = deliver.events_of_type("SQS")
    assert (ordered.queue, ordered.batch_size, ordered.function_response_types) == (
        "OrderedDeliveryQueue", 10, ("ReportBatchItemFailures",))
    assert ordered.maximum_batching_window_seconds in (None, 0)  # FIFO event sources have no batching window
    assert sqs.queue == "DeliveryQueue"
    assert sqs.batch_size == 10
    assert sqs.maximum_batching_window_seconds == 1
    assert sqs.function_response_types == ("ReportBatchItemFailures",)
    assert sqs.enabled

    sync = specs["SyncFunction"]
    (schedule,) = sync.events_of_type("ScheduleV2", "Schedule")
    assert schedule.schedule_expression == "rate(5 minutes)"
    assert json.loads(schedule.input) == {"job": "all"}
    assert schedule.enabled is False  # SyncEnabled defaults to DISABLED
    assert schedule.properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_function_events_follow_parameter_overrides(template: dict) -> None:
    specs = {f.logical_id: f for f in cfn.functions(
        template, {"SyncEnabled": "ENABLED", "SyncSchedule": "cron(0 * * * ? *)"})}
    (schedule,) = specs["SyncFunction"].events
    assert schedule.enabled is True
    assert schedule.schedule_expression == "cron(0 * * * ? *)"


def test_delivery_queue_visibility_is_at_least_six_times_the_deliver_timeout(template: dict) -> None:
    deliver = next(f for f in cfn.functions(template) if f.logical_id == "DeliverFunction")
    visibility = template["Resources"]["DeliveryQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * deliver.timeout


def test_function_environment_merges_globals_and_resolves_to_local_resources(template: dict) -> None:
    # Given locally provisioned resources
    resources = fake_resources()
    # When the deliver function's environment is computed
    env = cfn.function_environment(template, "DeliverFunction", resources)
    # Then every Globals variable is present, as a string, pointing at the local resources
    assert set(env) >= GLOBAL_ENV
    assert all(isinstance(v, str) for v in env.values())
    assert env["POWERTOOLS_SERVICE_NAME"] == "hookline"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Hookline"
    assert env["HOOKLINE_STAGE"] == "dev"
    assert env["IDEMPOTENCY_TABLE"] == "hl-test-IdempotencyTable"
    assert env["EVENTS_TABLE"] == "hl-test-EventsTable"
    assert env["DELIVERY_QUEUE_URL"] == resources["DeliveryQueue"].url
    assert env["DLQ_URL"] == resources["DeadLetterQueue"].url
    assert env["PAYLOAD_BUCKET"] == "hl-test-payloadbucket"
    assert env["IDEMPOTENCY_WINDOW_SECONDS"] == "604800"
    assert env["LARGE_BODY_THRESHOLD_BYTES"] == "204800"
    # and parameter overrides flow through
    env = cfn.function_environment(template, "IngressFunction", resources,
                                   {"Stage": "prod", "IdempotencyWindowSeconds": 3600})
    assert (env["HOOKLINE_STAGE"], env["IDEMPOTENCY_WINDOW_SECONDS"]) == ("prod", "3600")


def test_function_environment_of_a_non_function_is_an_error(template: dict) -> None:
    with pytest.raises(CfnError):
        cfn.function_environment(template, "DeliveryQueue", fake_resources())


def test_stack_outputs_has_only_what_exists_locally(template: dict) -> None:
    resources = fake_resources()
    outputs = cfn.stack_outputs(template, resources, overrides={"WebhookUrl": "http://127.0.0.1:3000/webhooks/"})
    assert outputs["DeliveryQueueUrl"] == resources["DeliveryQueue"].url
    assert outputs["DeadLetterQueueArn"] == resources["DeadLetterQueue"].arn
    assert outputs["EventsTableName"] == "hl-test-EventsTable"
    assert outputs["AlarmTopicArn"] == resources["AlarmTopic"].arn
    assert outputs["WebhookUrl"] == "http://127.0.0.1:3000/webhooks/"
    assert "IngressFunctionName" not in outputs  # functions are not provisioned locally


def test_resources_round_trip_through_json() -> None:
    resources = fake_resources()
    again = Resources.from_dict(json.loads(json.dumps(resources.to_dict())))
    assert dict(again) == dict(resources)
    assert (again.stack_name, again.region, again.account_id) == ("hl-test", "us-east-1", resources.account_id)
    assert again.parameters == resources.parameters
    with pytest.raises(KeyError, match="was not provisioned"):
        again["Nope"]
