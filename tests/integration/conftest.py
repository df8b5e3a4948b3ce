"""moto in-process, with the tables, queues and bucket created from template.yaml itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from hookline.local.cfn import Provisioner, Resources, function_environment, load_template
from hookline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")


@dataclass
class Stack:
    resources: Resources
    region: str
    sqs: Any
    ddb: Any  # boto3 DynamoDB resource
    ddb_client: Any
    s3: Any
    settings: Settings

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
    def idempotency_table(self) -> str:
        return self.resources["IdempotencyTable"].name

    @property
    def events_table(self) -> str:
        return self.resources["EventsTable"].name

    @property
    def bucket(self) -> str:
        return self.resources["PayloadBucket"].name


@pytest.fixture
def stack() -> Iterator[Stack]:
    region = "us-east-1"
    with mock_aws():
        session = boto3.session.Session(region_name=region)
        resources = Provisioner(TEMPLATE, stack_name=f"t{uuid.uuid4().hex[:8]}", session=session,
                                region=region).provision()
        # The deliver function's environment, exactly as the template sets it.
        env = function_environment(TEMPLATE, "DeliverFunction", resources)
        settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields},
                            hookline_config=ROOT / "examples" / "hookline.yaml")
        yield Stack(resources=resources, region=region, sqs=session.client("sqs"),
                    ddb=session.resource("dynamodb"), ddb_client=session.client("dynamodb"),
                    s3=session.client("s3"), settings=settings)
