"""template.yaml provisioned against moto through hookline.local.cfn, plus the template facts
the production shape depends on (so a template edit that breaks them fails here)."""

from __future__ import annotations

import json
import uuid
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
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def provision(**parameters: object) -> cfn.Resources:
    return cfn.Provisioner(TEMPLATE, stack_name=f"t-{uuid.uuid4().hex[:8]}", parameters=parameters).provision()


def queue_attributes(url: str) -> dict[str, str]:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


# --------------------------------------------------------------------------- provisioning


def test_tables_have_the_template_keys_ttl_pitr_and_sse(aws: None) -> None:
    # Given the real template provisioned locally
    resources = provision()
    ddb = boto3.client("dynamodb")
    expected = {
        "IdempotencyTable": ([{"AttributeName": "id", "KeyType": "HASH"}], "expiration"),
        "EventsTable": ([{"AttributeName": "event_id", "KeyType": "HASH"},
                         {"AttributeName": "route", "KeyType": "RANGE"}], "expires_at"),
    }
    for lid, (key_schema, ttl_attribute) in expected.items():
        name = resources[lid].physical_id
        # Then each table has the template's keys, billing, TTL, PITR and SSE
        table = ddb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == key_schema
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["TableArn"] == resources[lid].arn
        assert table["SSEDescription"]["Status"] == "ENABLED"
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", ttl_attribute)
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_delivery_queue_redrives_to_the_dlq(aws: None) -> None:
    resources = provision()
    delivery, dlq = resources["DeliveryQueue"], resources["DeadLetterQueue"]
    attributes = queue_attributes(delivery.url)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 6}  # MaxReceiveCount default
    assert dlq.arn == queue_attributes(dlq.url)["QueueArn"]
    assert delivery.physical_id == f"{resources.stack_name}-DeliveryQueue"
    assert attributes["SqsManagedSseEnabled"] == "true"
    # visibility >= 6x the deliver function's timeout (AWS's advice for SQS event sources)
    deliver = next(f for f in cfn.functions(TEMPLATE) if f.logical_id == "DeliverFunction")
    assert int(attributes["VisibilityTimeout"]) >= 6 * deliver.timeout
    # the DLQ keeps messages for the SQS maximum, 14 days
    assert queue_attributes(dlq.url)["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_max_receive_count_parameter_reaches_the_queue_and_moto_redrives(aws: None) -> None:
    # Given a stack whose delivery queue dead-letters after 2 receives
    resources = provision(MaxReceiveCount=2)
    sqs = boto3.client("sqs")
    delivery, dlq = resources["DeliveryQueue"].url, resources["DeadLetterQueue"].url
    assert json.loads(queue_attributes(delivery)["RedrivePolicy"])["maxReceiveCount"] == 2
    sqs.send_message(QueueUrl=delivery, MessageBody="poison")
    # When the message is received and released twice
    for _ in range(2):
        (message,) = sqs.receive_message(QueueUrl=delivery, MaxNumberOfMessages=1)["Messages"]
        sqs.change_message_visibility(QueueUrl=delivery, ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=0)
    # Then the next receive finds it in the DLQ, not the delivery queue
    assert sqs.receive_message(QueueUrl=delivery).get("Messages", []) == []
    (moved,) = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert moved["Body"] == "poison"


def test_bucket_and_topic(aws: None) -> None:
    resources = provision()
    s3 = boto3.client("s3")
    bucket = resources["PayloadBucket"].physical_id
    assert bucket == bucket.lower() and resources.stack_name.lower() in bucket
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Expiration"]["Days"] == 30
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")

    topic = resources["AlarmTopic"]
    arns = [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]]
    assert topic.arn in arns and topic.ref == topic.arn


def test_only_data_resources_are_provisioned(aws: None) -> None:
    resources = provision()
    assert set(resources) == {"IdempotencyTable", "EventsTable", "DeliveryQueue", "DeadLetterQueue",
                              "PayloadBucket", "AlarmTopic", "RecordsTable", "OrderedDeliveryQueue",
                              "OrderedDeadLetterQueue"}


def test_function_environment_points_at_working_resources(aws: None) -> None:
    # Given a provisioned stack and the deliver function's environment
    resources = provision()
    env = cfn.function_environment(TEMPLATE, "DeliverFunction", resources)
    # When the function's variables are used as-is with boto3
    sqs, ddb, s3 = boto3.client("sqs"), boto3.client("dynamodb"), boto3.client("s3")
    sqs.send_message(QueueUrl=env["DELIVERY_QUEUE_URL"], MessageBody="{}")
    sqs.send_message(QueueUrl=env["DLQ_URL"], MessageBody="{}")
    ddb.put_item(TableName=env["EVENTS_TABLE"], Item={"event_id": {"S": "e1"}, "route": {"S": "#event"}})
    ddb.put_item(TableName=env["IDEMPOTENCY_TABLE"], Item={"id": {"S": "k"}})
    s3.put_object(Bucket=env["PAYLOAD_BUCKET"], Key="p", Body=b"{}")
    # Then they all reached the provisioned resources
    assert queue_attributes(resources["DeliveryQueue"].url)["ApproximateNumberOfMessages"] == "1"
    assert ddb.get_item(TableName=resources["EventsTable"].physical_id,
                        Key={"event_id": {"S": "e1"}, "route": {"S": "#event"}})["Item"]


def test_two_stacks_in_one_account_do_not_collide_and_teardown_removes_everything(aws: None) -> None:
    first = cfn.Provisioner(TEMPLATE, stack_name="one")
    second = cfn.Provisioner(TEMPLATE, stack_name="two")
    a, b = first.provision(), second.provision()
    assert {r.physical_id for r in a.values()}.isdisjoint(r.physical_id for r in b.values())
    boto3.client("s3").put_object(Bucket=a["PayloadBucket"].physical_id, Key="k", Body=b"x")

    first.teardown()

    assert sorted(boto3.client("dynamodb").list_tables()["TableNames"]) == sorted(
        b[lid].physical_id for lid in ("IdempotencyTable", "EventsTable", "RecordsTable"))
    assert sorted(boto3.client("sqs").list_queues()["QueueUrls"]) == sorted(
        b[lid].url for lid in ("DeliveryQueue", "DeadLetterQueue", "OrderedDeliveryQueue", "OrderedDeadLetterQueue"))
    assert [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]] == [b["AlarmTopic"].arn]
    assert [x["Name"] for x in boto3.client("s3").list_buckets()["Buckets"]] == [b["PayloadBucket"].physical_id]


def test_provisioning_through_a_moto_server_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `hookline dev` path: a moto server on a free port, clients by endpoint_url."""
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        resources = cfn.Provisioner(TEMPLATE, stack_name="dev", endpoint_url=endpoint,
                                    region="us-east-1").provision()
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        url = resources["DeliveryQueue"].url
        assert url.startswith(endpoint)
        redrive = json.loads(sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == resources["DeadLetterQueue"].arn
        assert resources.account_id == "123456789012"
    finally:
        server.stop()


# --------------------------------------------------------------------------- template facts


def test_tables_declare_pitr_sse_and_on_demand_billing() -> None:
    for lid in ("IdempotencyTable", "EventsTable"):
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


def test_deliver_reports_batch_item_failures_and_may_back_off() -> None:
    props = RESOURCES["DeliverFunction"]["Properties"]
    event = props["Events"]["DeliveryQueueEvent"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    statements = [s for p in props["Policies"] if "Statement" in p for s in p["Statement"]]
    assert any("sqs:ChangeMessageVisibility" in s["Action"]
               and s["Resource"] == {"Fn::GetAtt": ["DeliveryQueue", "Arn"]} for s in statements)


def test_every_alarm_notifies_the_alarm_topic() -> None:
    assert set(ALARMS) == {
        "DlqDepthAlarm", "BacklogAgeAlarm", "DeliverErrorsAlarm", "IngressErrorsAlarm",
        "DeliverThrottlesAlarm", "IngressThrottlesAlarm", "Ingress5xxAlarm",
        "SignatureRejectionsAlarm", "SchemaDriftAlarm", "OrderedDlqDepthAlarm", "BreakerOpenAlarm",
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
        "IdempotencyTableName", "EventsTableName", "PayloadBucketName", "AlarmTopicArn",
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
