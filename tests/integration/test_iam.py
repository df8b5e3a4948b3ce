"""IAM as deployed: each function runs with its own role's policies from template.yaml, nothing more.

The `stack` fixture enforces IAM (see conftest.py). Here: a permission taken out of a copy
of the template makes the function fail with AccessDenied, and a least-privilege report
compares what each role is granted with what the function actually called.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from hookline.adapters.aws.stores import QueuePublisher
from hookline.core.errors import SecretResolutionError
from hookline.local import cfn
from hookline.secrets import SecretResolver
from hookline.sync.runner import run_sync
from hookline.validation import parse_config
from tests.integration import test_ingress as ingress_tests
from tests.integration import test_sync as sync_tests
from tests.integration.conftest import FUNCTIONS, TEMPLATE_FILE, Stack, deploy_with_iam
from tests.support import moto_delivery as md
from tests.support.receiver import Receiver, Script


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GH_SECRET", ingress_tests.SECRET)
    monkeypatch.setenv("CRM_TOKEN", md.CRM_TOKEN)


def template_without(tmp_path: Path, function: str, action: str) -> Path:
    """A copy of template.yaml (as JSON) whose `function` no longer has `action` anywhere in its role's Policies."""
    template = cfn.load_template(TEMPLATE_FILE)
    policies = template["Resources"][f"{function}Role"]["Properties"]["Policies"]
    removed = 0
    for policy in policies:
        for statement in policy.get("PolicyDocument", {}).get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            kept = [a for a in actions if a != action]
            removed += len(actions) - len(kept)
            statement["Action"] = kept
    assert removed, f"{function} has no statement granting {action}"
    copy = tmp_path / "template.json"
    copy.write_text(json.dumps(template))
    for folder in ("functions", "layers"):  # the code folders the template's CodeUri / ContentUri name
        (tmp_path / folder).symlink_to(TEMPLATE_FILE.parent / folder)
    return copy


def test_a_permission_missing_from_the_template_fails_the_function_with_access_denied(
        tmp_path: Path) -> None:
    from hookline.observability import logger

    # Given a template whose ingress role lost dynamodb:PutItem (the event's record, inside a transaction)
    changed = template_without(tmp_path, "IngressFunction", "dynamodb:PutItem")
    with mock_aws():
        for stack in deploy_with_iam(changed):
            # When a webhook arrives
            headers, body = ingress_tests.github_request({"issue": {"number": 1}}, delivery="d-denied")
            log = io.StringIO()
            handler = logging.StreamHandler(log)
            handler.setFormatter(logger.registered_formatter)
            logger._logger.addHandler(handler)
            try:
                resp = ingress_tests.make_ingress(stack).accept("github", headers, body)
            finally:
                logger._logger.removeHandler(handler)
            # Then the function fails (the sender is told to retry) because IAM denied the write (its log says so)
            assert resp.status == 503
            assert re.search(r"AccessDenied.*not authorized to perform: dynamodb:PutItem", log.getvalue())
            assert ingress_tests.queued(stack) == []
    # And with the template as it is, the same request is accepted
    with mock_aws():
        for stack in deploy_with_iam():
            assert ingress_tests.make_ingress(stack).accept("github", headers, body).status == 202


# ---------------------------------------------------------------- least privilege


def granted(stack: Stack, function: str) -> list[str]:
    """Every action the function's role allows (inline and attached policies)."""
    iam = stack.admin.client("iam")
    role = stack.resources[f"{function}Role"].physical_id
    documents = [iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                 for name in iam.list_role_policies(RoleName=role)["PolicyNames"]]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        documents.append(iam.get_policy_version(PolicyArn=attached["PolicyArn"],
                                                VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"])
    actions: list[str] = []
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                found = statement["Action"]
                actions += found if isinstance(found, list) else [found]
    return sorted(set(actions))


def _matches(pattern: str, action: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), action, re.IGNORECASE) is not None


@pytest.fixture
def api() -> Any:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"data": [{"id": 1}, {"id": 2}], "next": None}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/items"
    server.shutdown()


def exercise(stack: Stack, api: str, lambda_context: Any) -> None:
    """Every path of the three functions that touches AWS, each under its own role."""
    # ingress: accepted (claim-checked large body); a copy after the in-flight window with no delivery yet
    # (looks for route items, queues again); a replay under a new id (reads the first record); a queue
    # failure (record released)
    ingress = ingress_tests.make_ingress(stack, threshold=1024, in_flight_seconds=0)
    headers, body = ingress_tests.github_request({"issue": {"number": 1, "pad": "x" * 2000}}, delivery="d-1")
    assert ingress.accept("github", headers, body).status == 202
    assert ingress.accept("github", headers, body).status == 200
    assert ingress.accept("github", {**headers, "x-github-delivery": "d-1-replayed"}, body).status == 200
    flaky = ingress_tests.FlakyPublisher(QueuePublisher(stack.queue_url, client=stack.function("IngressFunction").sqs),
                                         failures=1)
    headers, body = ingress_tests.github_request({"issue": {"number": 2}}, delivery="d-2")
    assert ingress_tests.make_ingress(stack, publisher=flaky).accept("github", headers, body).status == 503
    stack.sqs.purge_queue(QueueUrl=stack.queue_url)
    # secrets under the stack's prefix, read through Powertools Parameters as the functions do
    stack.admin.client("ssm").put_parameter(Name="/hookline/crm/token", Value="ssm-token", Type="SecureString")
    stack.admin.client("secretsmanager").create_secret(Name="hookline/github", SecretString="gh-secret")
    with stack.run_as("IngressFunction"):
        assert SecretResolver().resolve("secretsmanager:hookline/github") == "gh-secret"
    # deliver: delivered (claim-checked body, a header secret from SSM), retried (visibility), dead-lettered
    with Receiver(Script(statuses=[200, 500, 400])) as receiver, stack.run_as("DeliverFunction"):
        cfg = md.config(receiver.url, dest={"headers": {"X-Token": "{secret:ssm:/hookline/crm/token}"}})
        stack.s3.put_object(Bucket=stack.bucket, Key="payloads/shop/big", Body=json.dumps(md.ORDER))
        md.enqueue(stack, md.task("e-1", s3_key="payloads/shop/big"))
        md.run(stack, md.make_delivery(stack, cfg), md.receive(stack),
                           lambda_context)
        assert receiver.requests[0].headers["x-token"] == "ssm-token"
        for event_id in ("e-2", "e-3"):
            md.enqueue(stack, md.task(event_id))
            md.run(stack, md.make_delivery(stack, cfg), md.receive(stack),
                               lambda_context)
    # sync: a page of items claimed per version, logged and queued in batches, its state kept
    sync_cfg = parse_config({
        "sources": {"legacy": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:TEST_GH_SECRET"],
                                          "header": "x-sig"}}},
        "destinations": {"wh": {"url": "http://127.0.0.1:9/in"}},
        "routes": [{"name": "legacy-to-wh", "source": "legacy", "destination": "wh"}],
        "syncs": {"items": {"source": "legacy", "url": api, "items_path": "data", "id_path": "id",
                            "next_cursor_path": "next"}},
    })
    run = run_sync("items", sync_cfg.syncs["items"], sync_tests.runtime(stack, sync_cfg, sync_tests.Clock()))
    assert (run.status, run.queued, run.failed) == ("completed", 2, 0)


def test_least_privilege_report(stack: Stack, api: str, lambda_context: Any,
                                capsys: pytest.CaptureFixture[str]) -> None:
    # When every AWS-touching path of the three functions runs under its own role
    exercise(stack, api, lambda_context)
    # Then nothing was called that the role does not grant (IAM would have denied it) ...
    lines = ["least-privilege report: actions granted by template.yaml vs called by the function"]
    for function in FUNCTIONS:
        allowed, called = granted(stack, function), sorted(stack.calls[function])
        assert called, f"{function} made no AWS call"
        assert all(any(_matches(a, c) for a in allowed) for c in called), (function, called, allowed)
        unused = [a for a in allowed if not any(_matches(a, c) for c in called)]
        lines += [f"{function}:", f"  granted  {', '.join(allowed)}", f"  called   {', '.join(called)}",
                  f"  unused   {', '.join(unused) or '-'}"]
    # ... and the report shows what is granted but unused (run `make iam-report` to see it)
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_secrets_outside_the_stack_prefix_are_denied(stack: Stack) -> None:
    # Given secrets the template's SecretsPrefix (hookline) does not cover
    stack.admin.client("ssm").put_parameter(Name="/other-app/token", Value="x", Type="SecureString")
    stack.admin.client("secretsmanager").create_secret(Name="other-app/key", SecretString="x")
    stack.admin.client("ssm").put_parameter(Name="/hookline/ok", Value="fine", Type="SecureString")
    # When the deliver function reads them, Then IAM denies the resource (and allows the prefixed one)
    with stack.run_as("DeliverFunction"):
        resolver = SecretResolver()
        for ref in ("ssm:/other-app/token", "secretsmanager:other-app/key"):
            with pytest.raises(SecretResolutionError, match=r"AccessDenied|not authorized"):
                resolver.resolve(ref)
        assert resolver.resolve("ssm:/hookline/ok") == "fine"


def test_statements_scoped_to_a_resource_are_enforced_per_resource(stack: Stack) -> None:
    """moto checks DynamoDB, SSM, Secrets Manager and Firehose calls against "*"; hookline.local.moto_fixes
    makes them name the resource, so a statement scoped to one table or stream allows that one only."""
    iam, admin_ddb = stack.admin.client("iam"), stack.ddb_client
    # Given the ingress role, scoped to its tables, and a table and a delivery stream it has no statement for
    admin_ddb.create_table(TableName="other", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST")
    firehose = stack.admin.client("firehose")
    for name in ("allowed-stream", "other-stream"):
        firehose.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
            "RoleARN": stack.resources["IngressFunctionRole"].arn, "BucketARN": stack.resources["PayloadBucket"].arn})
    iam.put_role_policy(RoleName=stack.resources["IngressFunctionRole"].physical_id, PolicyName="stream",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": "firehose:PutRecordBatch",
                            "Resource": f"arn:aws:firehose:us-east-1:{stack.resources.account_id}:"
                                        "deliverystream/allowed-stream"}]}))
    fn = stack.function("IngressFunction")
    # Then its own table and the named stream work, the others are denied
    fn.ddb_client.put_item(TableName=stack.events_table, Item={"event_id": {"S": "x"}, "route": {"S": "#event"}})
    with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
        fn.ddb_client.put_item(TableName="other", Item={"id": {"S": "x"}})
    records = [{"Data": b"{}"}]
    fn.client("firehose").put_record_batch(DeliveryStreamName="allowed-stream", Records=records)
    with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
        fn.client("firehose").put_record_batch(DeliveryStreamName="other-stream", Records=records)


def test_the_deliver_role_polls_its_own_queues_and_no_other(stack: Any) -> None:
    """What Lambda's SQS poller does with the deliver function's role (receive, delete, read attributes),
    under IAM enforcement, managed policies attached as AWS attaches them (hookline.local.iam_policies)."""
    # Given a queue in the same account that is not the stack's, and a message on each queue
    admin_sqs = stack.sqs
    foreign = admin_sqs.create_queue(QueueName="someone-elses-queue")["QueueUrl"]
    ordered = stack.resources["OrderedDeliveryQueue"].url or ""
    admin_sqs.send_message(QueueUrl=foreign, MessageBody="not yours")
    admin_sqs.send_message(QueueUrl=stack.queue_url, MessageBody="yours")
    admin_sqs.send_message(QueueUrl=ordered, MessageBody="yours too", MessageGroupId="g", MessageDeduplicationId="d")
    attached = stack.admin.client("iam").list_attached_role_policies(
        RoleName=stack.resources["DeliverFunctionRole"].physical_id)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSXrayWriteOnlyAccess"]  # attached, as AWS would
    sqs = stack.function("DeliverFunction").sqs
    # When the deliver role polls its own queues, Then it receives, deletes and reads their attributes
    for url in (stack.queue_url, ordered):
        (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    # And another queue in the account is denied to it, as to the other functions' roles
    for function in FUNCTIONS:
        with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
            stack.function(function).sqs.receive_message(QueueUrl=foreign)
    for function in ("IngressFunction", "SyncFunction"):
        with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
            stack.function(function).sqs.receive_message(QueueUrl=stack.queue_url)
    assert admin_sqs.get_queue_attributes(QueueUrl=foreign, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
