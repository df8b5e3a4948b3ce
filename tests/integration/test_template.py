"""template.yaml deployed into moto as `sam deploy` would (SAM translator + CloudFormation), plus the
template facts the production shape depends on (so a template edit that breaks them fails here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from hookline.local import cfn

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = cfn.load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
ALARMS = {lid: r for lid, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def deploy(stack_name: str = "t-stack", **parameters: object) -> cfn.LocalStack:
    return cfn.deploy(boto3.client, ROOT / "template.yaml", stack_name=stack_name, region="us-east-1",
                      parameters={k: str(v) for k, v in parameters.items()})


def queue_attributes(url: str) -> dict[str, str]:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


# --------------------------------------------------------------------------- deployed


def test_tables_have_the_template_keys_and_billing(aws: None) -> None:
    # (TTL, PITR and SSE are declared - see the template facts below - but moto's CloudFormation
    # does not apply them.)
    # Given the real template deployed locally
    resources = deploy().resources
    ddb = boto3.client("dynamodb")
    expected = {
        "EventsTable": [{"AttributeName": "event_id", "KeyType": "HASH"},
                        {"AttributeName": "route", "KeyType": "RANGE"}],
    }
    for lid, key_schema in expected.items():
        # Then each table has the template's keys and billing
        table = ddb.describe_table(TableName=resources[lid].physical_id)["Table"]
        assert table["KeySchema"] == key_schema
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["TableArn"] == resources[lid].arn


def test_delivery_queue_redrives_to_the_dlq(aws: None) -> None:
    stack = deploy()
    resources = stack.resources
    delivery, dlq = resources["DeliveryQueue"], resources["DeadLetterQueue"]
    attributes = queue_attributes(delivery.url or "")
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 6}  # MaxReceiveCount default
    assert dlq.arn == queue_attributes(dlq.url or "")["QueueArn"]
    assert delivery.physical_id == "t-stack-DeliveryQueue"
    # visibility >= 6x the deliver function's timeout (AWS's advice for SQS event sources)
    deliver = next(f for f in stack.functions() if f.logical_id == "DeliverFunction")
    assert int(attributes["VisibilityTimeout"]) >= 6 * deliver.timeout
    # the DLQ keeps messages for the SQS maximum, 14 days
    assert queue_attributes(dlq.url or "")["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_max_receive_count_parameter_reaches_the_queue_and_moto_redrives(aws: None) -> None:
    # Given a stack whose delivery queue dead-letters after 2 receives
    resources = deploy(MaxReceiveCount=2).resources
    sqs = boto3.client("sqs")
    delivery, dlq = resources["DeliveryQueue"].url or "", resources["DeadLetterQueue"].url or ""
    assert json.loads(queue_attributes(delivery)["RedrivePolicy"])["maxReceiveCount"] == 2
    sqs.send_message(QueueUrl=delivery, MessageBody="poison")
    # When the message is received and released twice (no event source mapping competes for it)
    for _ in range(2):
        (message,) = sqs.receive_message(QueueUrl=delivery, MaxNumberOfMessages=1)["Messages"]
        sqs.change_message_visibility(QueueUrl=delivery, ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=0)
    # Then the next receive finds it in the DLQ, not the delivery queue
    assert sqs.receive_message(QueueUrl=delivery).get("Messages", []) == []
    (moved,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert moved["Body"] == "poison"


def test_bucket_and_topic(aws: None) -> None:
    resources = deploy().resources
    s3 = boto3.client("s3")
    bucket = resources["PayloadBucket"].physical_id
    assert bucket == bucket.lower() and "t-stack" in bucket
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    topic = resources["AlarmTopic"]
    arns = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert topic.arn in arns and topic.ref == topic.arn


def test_what_sam_creates_is_deployed_and_what_moto_cannot_run_is_read_from_the_transform(aws: None) -> None:
    stack = deploy()
    types = {r.type for r in stack.resources.values()}
    # roles, functions, the layer, the permission: AWS's own expansion of the SAM resources
    assert {"AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Lambda::LayerVersion",
            "AWS::Lambda::Permission"} <= types
    assert types.isdisjoint(cfn.NOT_DEPLOYED)
    # no event source mapping in moto (it would invoke through Docker and bump receive counts) ...
    assert boto3.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    # ... the local poller reads it, the routes and the schedule from the transformed template
    events = {f.logical_id: f.events for f in stack.functions()}
    # POST: webhooks; GET: the providers' handshakes that use it (ingress/handshakes.py)
    assert sorted((r.type, r.method, r.path) for r in events["IngressFunction"]) == [
        ("HttpApi", "GET", "/webhooks/{source}"), ("HttpApi", "POST", "/webhooks/{source}")]
    sqs, ordered = events["DeliverFunction"]
    assert (sqs.type, sqs.queue, sqs.batch_size, sqs.maximum_batching_window_seconds,
            sqs.function_response_types) == ("SQS", "DeliveryQueue", 10, 1, ("ReportBatchItemFailures",))
    assert (ordered.type, ordered.queue, ordered.batch_size, ordered.function_response_types) == (
        "SQS", "OrderedDeliveryQueue", 10, ("ReportBatchItemFailures",))
    (schedule,) = events["SyncFunction"]
    assert (schedule.type, schedule.name, schedule.schedule_expression, schedule.enabled, schedule.input) == (
        "ScheduleV2", "SyncSchedule", "rate(1 minute)", False, '{"job": "due"}')
    assert schedule.properties["Name"] == "t-stack-sync"


def test_function_environment_as_deployed_points_at_working_resources(aws: None) -> None:
    # Given the deployed deliver function's environment (moto resolved the template's references)
    stack = deploy()
    env = next(f for f in stack.functions() if f.logical_id == "DeliverFunction").environment
    # When the function's variables are used as-is with boto3
    sqs, ddb, s3 = boto3.client("sqs"), boto3.client("dynamodb"), boto3.client("s3")
    sqs.send_message(QueueUrl=env["DELIVERY_QUEUE_URL"], MessageBody="{}")
    sqs.send_message(QueueUrl=env["DLQ_URL"], MessageBody="{}")
    ddb.put_item(TableName=env["EVENTS_TABLE"], Item={"event_id": {"S": "e1"}, "route": {"S": "#event"}})
    ddb.put_item(TableName=env["RECORDS_TABLE"], Item={"pk": {"S": "k"}})
    s3.put_object(Bucket=env["PAYLOAD_BUCKET"], Key="p", Body=b"{}")
    # Then they all reached the deployed resources
    assert queue_attributes(stack.resources["DeliveryQueue"].url or "")["ApproximateNumberOfMessages"] == "1"
    assert env["HOOKLINE_STAGE"] == "dev"
    assert stack.outputs["EventsTableName"] == env["EVENTS_TABLE"]


def test_two_stacks_in_one_account_do_not_collide(aws: None) -> None:
    a, b = deploy("one").resources, deploy("two").resources
    data = ("EventsTable", "RecordsTable", "DeliveryQueue", "DeadLetterQueue",
            "OrderedDeliveryQueue", "OrderedDeadLetterQueue", "PayloadBucket", "AlarmTopic")
    assert {a[lid].physical_id for lid in data}.isdisjoint(b[lid].physical_id for lid in data)


def test_a_template_the_translator_rejects_is_a_clear_error(aws: None, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(TEMPLATE))
    broken["Resources"]["DeliverFunction"]["Properties"]["Events"] = {"Broken": {"Type": "SQS", "Properties": {}}}
    (tmp_path / "template.json").write_text(json.dumps(broken))
    with pytest.raises(cfn.CfnError, match=r"SAM translator rejects the template: .*DeliverFunction"):
        cfn.deploy(boto3.client, tmp_path / "template.json", stack_name="bad", region="us-east-1")


def test_deploying_through_a_moto_server_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `hookline dev` path: a moto server on a free port, clients by endpoint_url."""
    from hookline.local.emulator import Emulator

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION",
                 "AWS_ENDPOINT_URL", "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_DISABLED"):
        monkeypatch.setenv(name, "")  # restored after the test; Emulator.start() sets them
    emulator = Emulator().start()
    try:
        stack = emulator.deploy_stack(ROOT / "template.yaml", {"MaxReceiveCount": "3"})
        sqs = emulator.client("sqs")
        redrive = json.loads(sqs.get_queue_attributes(
            QueueUrl=stack.resources["DeliveryQueue"].url, AttributeNames=["RedrivePolicy"],
        )["Attributes"]["RedrivePolicy"])
        assert redrive == {"deadLetterTargetArn": stack.resources["DeadLetterQueue"].arn, "maxReceiveCount": 3}
        assert stack.resources.account_id == "123456789012"
        # a second reader (e.g. after restoring the emulator's state) sees the same stack
        again = emulator.read_stack(ROOT / "template.yaml")
        assert again.resources.parameters["MaxReceiveCount"] == "3"
        assert [f.logical_id for f in again.functions()] == [f.logical_id for f in stack.functions()]
    finally:
        emulator.stop()


# --------------------------------------------------------------------------- template facts


def test_tables_declare_pitr_sse_and_on_demand_billing() -> None:
    for lid in ("EventsTable", "RecordsTable"):
        props = RESOURCES[lid]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}
        assert props["TimeToLiveSpecification"]["Enabled"] is True


def test_bucket_blocks_public_access_and_requires_tls() -> None:
    props = RESOURCES["PayloadBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (statement,) = RESOURCES["PayloadBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def role_statements(function: str) -> list[dict]:
    policies = RESOURCES[f"{function}Role"]["Properties"]["Policies"]
    return [s for p in policies if "PolicyDocument" in p for s in p["PolicyDocument"]["Statement"]]


def test_deliver_reports_batch_item_failures_and_may_back_off() -> None:
    event = RESOURCES["DeliverFunctionDeliveryQueueEvent"]
    assert event["Type"] == "AWS::Lambda::EventSourceMapping"
    assert event["Properties"]["FunctionName"] == {"Ref": "DeliverFunction"}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    statements = role_statements("DeliverFunction")
    assert any(s["Action"] == "sqs:ChangeMessageVisibility"
               and s["Resource"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]} for s in statements)


def test_every_alarm_notifies_the_alarm_topic() -> None:
    assert set(ALARMS) == {
        "DlqDepthAlarm", "BacklogAgeAlarm", "DeliverErrorsAlarm", "IngressErrorsAlarm", "SyncErrorsAlarm",
        "DeliverThrottlesAlarm", "IngressThrottlesAlarm", "Ingress5xxAlarm",
        "SignatureRejectionsAlarm", "SchemaDriftAlarm", "SyncFailuresAlarm", "BreakerOpenAlarm", "OrderedDlqDepthAlarm",
        "MissedWebhooksAlarm",
    }
    for lid, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], lid
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], lid
        assert props["TreatMissingData"] == "notBreaching", lid


def test_app_metric_alarms_match_what_the_app_emits() -> None:
    # Powertools EMF: namespace Hookline, default dimension service=hookline, plus reason on Rejected
    rejections = ALARMS["SignatureRejectionsAlarm"]["Properties"]
    assert (rejections["Namespace"], rejections["MetricName"]) == ("Hookline", "Rejected")
    assert rejections["Dimensions"] == [{"Name": "service", "Value": "hookline"},
                                        {"Name": "reason", "Value": "signature"}]
    drift = ALARMS["SchemaDriftAlarm"]["Properties"]
    assert (drift["Namespace"], drift["MetricName"], drift["Dimensions"]) == (
        "Hookline", "SchemaDrift", [{"Name": "service", "Value": "hookline"}])
    globals_env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert (globals_env["POWERTOOLS_SERVICE_NAME"], globals_env["POWERTOOLS_METRICS_NAMESPACE"]) == (
        "hookline", "Hookline")
    dlq_alarm = ALARMS["DlqDepthAlarm"]["Properties"]
    assert dlq_alarm["Dimensions"] == [{"Name": "QueueName",
                                        "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]


def test_outputs_the_cli_reads() -> None:
    assert set(TEMPLATE["Outputs"]) >= {
        "WebhookUrl", "DeliveryQueueUrl", "DeadLetterQueueUrl", "DeadLetterQueueArn", "DeliveryQueueArn",
        "EventsTableName", "PayloadBucketName", "AlarmTopicArn",
        "IngressFunctionName", "DeliverFunctionName", "SyncFunctionName", "DashboardName",
    }
    assert TEMPLATE["Outputs"]["WebhookUrl"]["Value"] == {
        "Fn::Sub": "https://${WebhookApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/webhooks/"}


def test_dashboard_body_is_json_after_substitution() -> None:
    body = RESOURCES["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for name in ("AWS::Region", "Stage", "WebhookApi", "IngressFunction", "DeliverFunction", "SyncFunction",
                 "DeliveryQueue.QueueName", "DeadLetterQueue.QueueName", "OrderedDeliveryQueue.QueueName"):
        body = body.replace("${" + name + "}", "x")
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    metric_names = json.dumps(widgets)
    for metric in ("Accepted", "Duplicate", "Rejected", "Delivered", "Retried", "DeadLettered",
                   "DeliveryLatency", "SchemaDrift", "ApproximateAgeOfOldestMessage", "5xx", "4xx",
                   "Stale", "Held", "Deferred", "BreakerOpened", "BreakerOpenSeconds"):
        assert metric in metric_names


def test_account_unique_names_carry_the_stack_name() -> None:
    """Several stacks (stages) can share an account: every explicit name starts with the stack name."""
    named = {
        "DeliveryQueue": RESOURCES["DeliveryQueue"]["Properties"]["QueueName"],
        "DeadLetterQueue": RESOURCES["DeadLetterQueue"]["Properties"]["QueueName"],
        "OperationsDashboard": RESOURCES["OperationsDashboard"]["Properties"]["DashboardName"],
        "SyncSchedule": RESOURCES["SyncFunction"]["Properties"]["Events"]["SyncSchedule"]["Properties"]["Name"],
        **{lid: alarm["Properties"]["AlarmName"] for lid, alarm in ALARMS.items()},
    }
    for lid, name in named.items():
        assert name["Fn::Sub"].startswith("${AWS::StackName}-"), lid


TARGET_CONDITIONS = {"HasTargetEventBuses", "HasTargetQueues", "HasTargetTopics", "HasTargetFunctions",
                     "HasTargetStateMachines"}


def test_aws_target_iam_is_scoped_to_the_arns_each_parameter_names() -> None:
    policies = RESOURCES["DeliverFunctionRole"]["Properties"]["Policies"]
    conditional = {p["Fn::If"][0]: p["Fn::If"][1]["PolicyDocument"]["Statement"] for p in policies if "Fn::If" in p}
    granted = {cond: [(s["Action"], s["Resource"]) for s in conditional[cond]] for cond in TARGET_CONDITIONS}
    assert granted == {
        "HasTargetEventBuses": [(["events:PutEvents"], {"Ref": "TargetEventBusArns"})],
        "HasTargetQueues": [(["sqs:SendMessage", "sqs:GetQueueUrl"], {"Ref": "TargetQueueArns"})],
        "HasTargetTopics": [(["sns:Publish"], {"Ref": "TargetTopicArns"})],
        "HasTargetFunctions": [(["lambda:InvokeFunction"], {"Ref": "TargetFunctionArns"})],
        "HasTargetStateMachines": [
            (["states:StartExecution"], {"Ref": "TargetStateMachineArns"}),
            (["states:DescribeExecution"],
             {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:*"})],
    }
    for name in ("TargetEventBusArns", "TargetQueueArns", "TargetTopicArns", "TargetFunctionArns",
                 "TargetStateMachineArns"):
        assert TEMPLATE["Parameters"][name] | {"Description": ""} == {
            "Type": "CommaDelimitedList", "Default": "", "Description": ""}


def test_warehouse_iam_is_scoped_to_the_stream_and_the_bucket_prefix_given() -> None:
    policies = RESOURCES["DeliverFunctionRole"]["Properties"]["Policies"]
    conditional = {p["Fn::If"][0]: p["Fn::If"][1]["PolicyDocument"]["Statement"] for p in policies if "Fn::If" in p}
    assert set(conditional) == {"HasWarehouseStream", "HasWarehouseBucket", "HasArchive", *TARGET_CONDITIONS}
    [archive] = conditional["HasArchive"]  # the event archive's own stream only
    assert archive["Action"] == ["firehose:PutRecordBatch"]
    assert archive["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:"
                                              "deliverystream/${ArchiveStream}"}
    [stream] = conditional["HasWarehouseStream"]
    assert stream["Action"] == ["firehose:PutRecordBatch"]
    assert stream["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:"
                                             "deliverystream/${WarehouseStreamName}"}
    [objects] = conditional["HasWarehouseBucket"]
    assert objects["Action"] == ["s3:PutObject"]
    assert objects["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${WarehouseBucketName}/${WarehousePrefix}*"}
    for p in policies:  # without the parameters the statements are left out, not widened
        if "Fn::If" in p:
            assert p["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert TEMPLATE["Parameters"]["WarehouseStreamName"]["Default"] == ""


def test_the_sync_failures_alarm_watches_what_a_failed_run_emits(monkeypatch: pytest.MonkeyPatch) -> None:
    from hookline.sync import service
    from hookline.sync.runner import FAILED, SyncRun

    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(service, "count", lambda name, reason=None, value=1: emitted.append((name, value)))
    service.emit_run_metrics(SyncRun(sync="orders", run_id="r", status=FAILED, failed=1, pages=2, seen=6))
    alarm = ALARMS["SyncFailuresAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["Dimensions"]) == ("Hookline", [{"Name": "service", "Value": "hookline"}])
    assert (alarm["MetricName"], 1) in emitted
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    schedule = RESOURCES["SyncFunction"]["Properties"]["Events"]["SyncSchedule"]["Properties"]
    assert schedule["Input"] == '{"job": "due"}'


def test_the_missed_webhooks_alarm_watches_what_a_reconcile_run_emits(monkeypatch: pytest.MonkeyPatch) -> None:
    from hookline.reconcile import service
    from hookline.reconcile.runner import ReconcileRun

    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(service, "count", lambda name, reason=None, value=1: emitted.append((name, value)))
    service.emit_run_metrics(ReconcileRun(source="stripe", run_id="r", missed=3, seen=40))
    alarm = ALARMS["MissedWebhooksAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["Dimensions"]) == ("Hookline", [{"Name": "service", "Value": "hookline"}])
    assert (alarm["MetricName"], 3) in emitted and ("ReconcilePagesFailed", 0) in emitted
    assert alarm["Threshold"] == {"Ref": "MissedWebhooksThreshold"}
    assert TEMPLATE["Parameters"]["MissedWebhooksThreshold"]["Default"] == 0


def test_the_sync_function_has_an_errors_alarm_like_the_others() -> None:
    # A sync run that raised or hit the function's Timeout pages someone, as ingress and deliver errors do
    alarm = ALARMS["SyncErrorsAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SyncFunction"}}]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    assert "`SyncErrorsAlarm` (`<stack>-sync-errors`)" in runbook and "### SyncErrorsAlarm" in runbook


# --------------------------------------------------------------------------- least privilege, as translated


def _grants(transformed: dict) -> dict[str, list[tuple[str, object]]]:
    """Role logical id -> (action, resource) for every Allow it gets: inline policies, AWS::IAM::Policy
    resources naming it, and the AWS managed policies it attaches (their vendored documents)."""
    from hookline.local import iam_policies

    out: dict[str, list[tuple[str, object]]] = {}

    def add(role: str, document: dict) -> None:
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            out.setdefault(role, []).extend((a, r) for a in actions for r in resources)

    resources = transformed["Resources"]
    for lid, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::IAM::Role":
            out.setdefault(lid, [])
            for policy in props.get("Policies") or []:
                for document in ([policy["PolicyDocument"]] if "PolicyDocument" in policy else
                                 [b["PolicyDocument"] for b in policy.get("Fn::If", [None])[1:] if isinstance(b, dict)
                                  and "PolicyDocument" in b]):
                    add(lid, document)
            for name in iam_policies.managed_policies({"Resources": {lid: resource}})[lid]:
                add(lid, iam_policies.document(name))
        if resource["Type"] == "AWS::IAM::Policy":
            for role in props["Roles"]:
                add(role["Ref"], props["PolicyDocument"])
    return out


def translated() -> dict:
    return cfn.transform(TEMPLATE, region="us-east-1")


def test_no_role_may_poll_every_queue_or_create_log_groups() -> None:
    # Given the template as `sam deploy` hands it to CloudFormation, managed policies expanded
    grants = _grants(translated())
    assert set(grants) >= {"IngressFunctionRole", "DeliverFunctionRole", "SyncFunctionRole"}
    for role, allowed in grants.items():
        # Then no role may receive or delete messages on every queue (AWSLambdaSQSQueueExecutionRole) ...
        for action, resource in allowed:
            if action.startswith("sqs:") or action == "*":
                assert resource != "*", (role, action)
        # ... nor create log groups: the function's log group is a template resource
        assert not [a for a, _ in allowed if a in ("logs:CreateLogGroup", "logs:*", "*")], role


def test_the_deliver_role_polls_only_its_own_queues_and_each_role_logs_only_to_its_log_group() -> None:
    grants = _grants(translated())
    polls = {(a, json.dumps(r, sort_keys=True)) for a, r in grants["DeliverFunctionRole"]
             if a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")}
    assert polls == {(a, json.dumps({"Fn::GetAtt": [q, "Arn"]})) for q in ("DeliveryQueue", "OrderedDeliveryQueue")
                     for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")}
    for role in ("IngressFunctionRole", "SyncFunctionRole"):
        assert not [a for a, _ in grants[role] if a in ("sqs:ReceiveMessage", "sqs:DeleteMessage")], role
    for fn in ("Ingress", "Deliver", "Sync"):
        logs = {(a, json.dumps(r)) for a, r in grants[f"{fn}FunctionRole"] if a.startswith("logs:")}
        own = json.dumps({"Fn::GetAtt": [f"{fn}LogGroup", "Arn"]})
        assert logs == {("logs:CreateLogStream", own), ("logs:PutLogEvents", own)}, fn


def test_every_managed_policy_the_template_attaches_is_vendored_for_the_local_stack() -> None:
    from hookline.local import iam_policies

    attached = iam_policies.managed_policies(translated())
    assert attached["DeliverFunctionRole"] == ["AWSXrayWriteOnlyAccess"]
    for names in attached.values():
        for name in names:
            assert iam_policies.document(name)["Statement"], name


def test_a_managed_policy_without_a_vendored_document_is_named(aws: None, tmp_path: Path) -> None:
    changed = json.loads(json.dumps(TEMPLATE))
    changed["Resources"]["SyncFunctionRole"]["Properties"]["ManagedPolicyArns"].append(
        "arn:aws:iam::aws:policy/AdministratorAccess")
    (tmp_path / "template.json").write_text(json.dumps(changed))
    with pytest.raises(cfn.CfnError, match=r"AWS managed policy AdministratorAccess, which has no vendored document"):
        cfn.deploy(boto3.client, tmp_path / "template.json", stack_name="t", region="us-east-1")


def test_the_architecture_parameter_sets_every_function_and_the_layer(aws: None) -> None:
    # arm64 by default (Graviton); x86_64 for `sam local invoke` on an x86 host without emulation
    assert TEMPLATE["Parameters"]["Architecture"]["Default"] == "arm64"
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    layer = RESOURCES["HooklineLayer"]
    assert layer["Properties"]["CompatibleArchitectures"] == [{"Ref": "Architecture"}]
    assert layer["Metadata"]["BuildArchitecture"] == {"Ref": "Architecture"}  # sam build resolves it
    functions = [r for r in translated()["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert len(functions) == 3
    assert all(f["Properties"]["Architectures"] == [{"Ref": "Architecture"}] for f in functions)
    layers = [r for r in translated()["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert [la["Properties"]["CompatibleArchitectures"] for la in layers] == [[{"Ref": "Architecture"}]]
    # CloudFormation and `sam build` / `sam local` resolve the Ref (moto's CloudFormation drops the property:
    # the deployed value is not observable locally). A value outside the two is refused before deploying.
    deploy("x86", Architecture="x86_64")
    with pytest.raises(cfn.CfnError, match=r"Architecture: 'i386' is not one of \['arm64', 'x86_64'\]"):
        deploy("bad", Architecture="i386")
