"""moto in-process with template.yaml deployed as `sam deploy` would, and IAM enforced.

The `stack` fixture runs the SAM translator on template.yaml and deploys the result with
moto's CloudFormation (`hookline.local.cfn.deploy`, the same call `hookline dev` makes).
Then IAM is enforced for the rest of the test:

- `stack.sqs`, `stack.ddb`, `stack.s3` ... are the test's own clients (an administrator):
  use them to arrange and to check.
- `stack.function("IngressFunction")` has the same attributes, but its clients carry only
  that function's role (its assumed-role credentials): build the code under test with them.
  A permission missing from template.yaml then fails the test with AccessDenied.
- `with stack.run_as("DeliverFunction"):` does the same for code that makes its own clients
  (handlers through `hookline.wiring`): the environment's credentials and boto3's default
  session become the role's.

Every function's AWS calls are recorded by action (`stack.calls`), for the least-privilege
report in test_iam.py.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import botocore.handlers
import botocore.session
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from hookline.local import cfn, moto_fixes
from hookline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILE = ROOT / "template.yaml"
REGION = "us-east-1"
FUNCTIONS = ("IngressFunction", "DeliverFunction", "SyncFunction")
# One botocore session per test process: loading service models is the slow part of making a client.
_BOTOCORE = botocore.session.get_session()
_SESSION = boto3.Session(region_name=REGION, botocore_session=_BOTOCORE)
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def iam_actions(model: Any, params: Any = None) -> set[str]:
    """The IAM actions a botocore operation is authorised as (`dynamodb:PutItem`; a transaction: its items')."""
    service = model.service_model
    prefix = service.metadata.get("signingName") or service.endpoint_prefix
    action = f"{prefix}:{model.name}"
    if action in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"):
        return {moto_fixes.TRANSACTION_ITEM_ACTIONS[kind] for entry in (params or {}).get("TransactItems", [])
                for kind in entry}
    return {moto_fixes.IAM_ACTION_OF.get(action, action)}


def record_calls(client: Any, into: set[str]) -> Any:
    def before_call(model: Any, params: Any = None, **_: Any) -> None:
        into.update(iam_actions(model, params))

    client.meta.events.register("before-parameter-build", before_call)
    return client


@dataclass
class Clients:
    """One function's view of the stack: `Stack`'s attribute names, clients carrying only its role."""

    stack: Stack
    function: str

    def __getattr__(self, name: str) -> Any:  # queue_url, bucket, settings ... come from the stack
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.stack, name)

    def client(self, service: str) -> Any:
        # Made from the administrator's session (its loaded service models) with the role's keys.
        creds = self.stack.credentials[self.function]
        return record_calls(self.stack.admin.client(
            service, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"]), self.stack.calls[self.function])

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @cached_property
    def ddb(self) -> Any:
        creds = self.stack.credentials[self.function]
        resource = self.stack.admin.resource(
            "dynamodb", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"])
        record_calls(resource.meta.client, self.stack.calls[self.function])
        return resource

    @cached_property
    def ddb_client(self) -> Any:
        return self.client("dynamodb")


@dataclass
class Stack:
    local: cfn.LocalStack
    region: str
    admin: boto3.Session
    settings: Settings
    credentials: dict[str, dict[str, str]]  # function logical id -> its role's temporary credentials
    calls: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _functions: dict[str, Clients] = field(default_factory=dict)

    @property
    def resources(self) -> cfn.Resources:
        return self.local.resources

    @cached_property
    def sqs(self) -> Any:
        return self.admin.client("sqs")

    @cached_property
    def s3(self) -> Any:
        return self.admin.client("s3")

    @cached_property
    def ddb(self) -> Any:
        return self.admin.resource("dynamodb")

    @cached_property
    def ddb_client(self) -> Any:
        return self.admin.client("dynamodb")

    def function(self, function: str) -> Clients:
        if function not in self._functions:
            self._functions[function] = Clients(self, function)
        return self._functions[function]

    @contextmanager
    def run_as(self, function: str) -> Iterator[None]:
        creds = self.credentials[function]
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
        os.environ.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                          AWS_SESSION_TOKEN=creds["SessionToken"])
        calls = self.calls[function]
        # Sessions made from here on (boto3's default one, Powertools Parameters' own) record the calls.
        recorder = ("before-parameter-build", lambda model, params=None, **_: calls.update(iam_actions(model, params)))
        botocore.handlers.BUILTIN_HANDLERS.append(recorder)
        boto3.DEFAULT_SESSION = boto3.Session(region_name=self.region)  # reads the role's keys set above
        try:
            yield
        finally:
            botocore.handlers.BUILTIN_HANDLERS.remove(recorder)
            boto3.DEFAULT_SESSION = None
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @property
    def queue_url(self) -> str:
        return self.resources["DeliveryQueue"].url or ""

    @property
    def dlq_url(self) -> str:
        return self.resources["DeadLetterQueue"].url or ""

    @property
    def queue_arn(self) -> str:
        return self.resources["DeliveryQueue"].arn

    @property
    def dlq_arn(self) -> str:
        return self.resources["DeadLetterQueue"].arn

    @property
    def events_table(self) -> str:
        return self.resources["EventsTable"].name

    @property
    def bucket(self) -> str:
        return self.resources["PayloadBucket"].name


def deploy_with_iam(template_file: Path = TEMPLATE_FILE, **parameters: str) -> Iterator[Stack]:
    """Inside mock_aws: an administrator, the stack deployed by it, each function's role assumed, IAM enforced."""
    moto_fixes.install()
    _BOTOCORE.set_credentials("bootstrap", "bootstrap")  # before enforcement any keys pass
    iam = _SESSION.client("iam")
    iam.create_user(UserName="hookline-test-admin")
    iam.put_user_policy(UserName="hookline-test-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName="hookline-test-admin")["AccessKey"]
    _BOTOCORE.set_credentials(key["AccessKeyId"], key["SecretAccessKey"])
    admin = _SESSION
    local = cfn.deploy(functools.cache(admin.client), template_file, stack_name=f"t{uuid.uuid4().hex[:8]}",
                       region=REGION, parameters=parameters)
    functions = {spec.logical_id: spec for spec in local.functions()}
    # moto checks a role's trust policy on AssumeRole in a way that fails for service principals:
    # the roles are assumed before enforcement starts (Lambda assumes them, not the test).
    sts = admin.client("sts")
    credentials = {lid: sts.assume_role(RoleArn=spec.role_arn, RoleSessionName=lid)["Credentials"]
                   for lid, spec in functions.items()}
    env = functions["DeliverFunction"].environment  # the function's environment, exactly as deployed
    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields},
                        hookline_config=ROOT / "examples" / "hookline.yaml")
    with enable_iam_authentication():
        yield Stack(local=local, region=REGION, admin=admin, settings=settings, credentials=credentials)


@pytest.fixture
def stack() -> Iterator[Stack]:
    with mock_aws():
        yield from deploy_with_iam()
