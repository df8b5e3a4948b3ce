"""The sample events in events/ (for `sam local invoke -e` and the handler tests) stay valid.

Each file is exactly what events/build.py builds from today's demo configuration, payloads and
task model (a stale file fails here: rebuild with `.venv/bin/python events/build.py`); each fits
Powertools' parser model of the AWS source that invokes its handler; the signed ones verify
with the demo secrets, checked independently of hookline's own signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, SqsModel

from hookline.core.messages import DeliveryTask
from hookline.local.cfn import load_template
from hookline.local.envfile import parse_env_file
from hookline.local.shapes import shape_problem
from hookline.validation import load_config

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"
DEMO_SECRETS = parse_env_file(ROOT / "examples" / "demo.env")


def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("events_build", EVENTS / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_disk(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_every_sample_event_is_what_build_py_makes_today() -> None:
    built = build()
    events = built.events()
    assert sorted(events) == sorted(p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json"))
    for name, event in events.items():
        assert (EVENTS / name).read_text() == built.text(event), (
            f"events/{name} is stale: rebuild with `.venv/bin/python events/build.py`")


@pytest.mark.parametrize("name", ["ingress/github-issues.json", "ingress/github-bad-signature.json",
                                  "ingress/stripe-payment.json"])
def test_ingress_events_are_http_api_events_for_the_webhook_route(name: str) -> None:
    event = on_disk(name)
    assert shape_problem(APIGatewayProxyEventV2Model, event) == ""
    template = load_template(ROOT / "template.yaml")
    route = template["Resources"]["IngressFunction"]["Properties"]["Events"]["Webhook"]["Properties"]
    assert event["routeKey"] == f"{route['Method']} {route['Path']}"
    assert event["rawPath"] == f"/webhooks/{event['pathParameters']['source']}"


def _body(event: dict) -> bytes:
    return base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event["body"].encode()


def test_the_signed_events_verify_with_the_demo_secrets_as_the_providers_sign() -> None:
    import stripe

    # GitHub documents X-Hub-Signature-256 as HMAC-SHA256 of the raw body, hex, with a sha256= prefix
    good, bad = on_disk("ingress/github-issues.json"), on_disk("ingress/github-bad-signature.json")
    key = DEMO_SECRETS["GITHUB_WEBHOOK_SECRET"].encode()
    for event, valid in ((good, True), (bad, False)):
        expected = "sha256=" + hmac.new(key, _body(event), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, event["headers"]["x-hub-signature-256"]) is valid
    # Stripe's own SDK (the timestamp is pinned in the file: no tolerance check here)
    payment = on_disk("ingress/stripe-payment.json")
    assert stripe.WebhookSignature.verify_header(
        _body(payment).decode(), payment["headers"]["stripe-signature"], DEMO_SECRETS["STRIPE_WEBHOOK_SECRET"],
        tolerance=None)


def test_the_deliver_event_is_an_sqs_batch_of_delivery_tasks() -> None:
    event = on_disk("deliver/sqs-batch.json")
    assert shape_problem(SqsModel, event) == ""
    for record in event["Records"]:
        task = DeliveryTask.model_validate_json(record["body"])
        assert (task.source, task.route) == ("github", "issues-to-crm")
        assert task.route in {r.name for r in load_config(ROOT / "examples" / "hookline.yaml").routes}


def test_the_sync_event_is_what_the_schedule_sends() -> None:
    template = load_template(ROOT / "template.yaml")
    schedule = template["Resources"]["SyncFunction"]["Properties"]["Events"]["SyncSchedule"]["Properties"]
    assert on_disk("sync/schedule.json") == json.loads(schedule["Input"])
