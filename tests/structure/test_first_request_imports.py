"""What a function's first request loads (issue 23: cold import + first request's clients <= 1.5 x `import boto3`).

A fresh, Lambda-like interpreter builds a function's services from a pre-validated configuration (as
`make deploy` bundles it) and lists the modules loaded and the configuration models whose validator
pydantic built: libraries that only some configurations or some failures need must not be among them.
Imports and built validators are asserted, never times (benchmarks/bench_cold_import.py has the times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookline import prevalidated

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hookline.yaml"

# What each function's first request builds (benchmarks/bench_cold_import.py's READY_ATTR).
FIRST_REQUEST = {
    "ingress": "s.ingress; s.publisher.client; s.event_log_entries.client",
    "deliver": "s.delivery; s.events.table; s.delivery_queues",
    "sync": "from hookline.sync.service import build_runtime; build_runtime(s); s.publisher.client",
}
_READY = """
import json, sys, app
import pydantic
from hookline.wiring import services
from hookline.core import config
s = services(); {touch}
built = sorted(n for n, m in vars(config).items()
               if isinstance(m, type) and issubclass(m, pydantic.BaseModel) and m.__pydantic_complete__)
print(json.dumps({{"modules": sorted(sys.modules), "built": built}}))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = tmp_path_factory.mktemp("bundle") / "hookline.yaml"
    config.write_text(EXAMPLE.read_text())
    prevalidated.dump(config)
    return config


def _env(function: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "POWERTOOLS_", "HOOKLINE_", "_X_AMZN", "LAMBDA_TASK_ROOT"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_LAMBDA_FUNCTION_NAME": f"hookline-{function}", "HOOKLINE_CONFIG": str(config),
                "EVENTS_TABLE": "events", "PAYLOAD_BUCKET": "payloads",
                "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
                "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "hookline"),
                                               str(ROOT / "functions" / function)])})
    return env


def _first_request(function: str, config: Path) -> dict[str, list[str]]:
    code = _READY.format(touch=FIRST_REQUEST[function])
    out = subprocess.run([sys.executable, "-c", code], env=_env(function, config), capture_output=True, text=True,
                         check=True, timeout=120, cwd="/")
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def deliver(bundle: Path) -> dict[str, list[str]]:
    return _first_request("deliver", bundle)


@pytest.fixture(scope="module")
def ingress(bundle: Path) -> dict[str, list[str]]:
    return _first_request("ingress", bundle)


@pytest.fixture(scope="module")
def sync(bundle: Path) -> dict[str, list[str]]:
    return _first_request("sync", bundle)


def test_the_deliver_function_is_ready_without_yaml(deliver: dict[str, list[str]]) -> None:
    # YAML is read only for a schema file (on the first delivery of a route or source that names one; the
    # example names none) and for a configuration with no pre-validated form: ~25 ms of the first request.
    assert "hookline.delivery.engine" in deliver["modules"]  # the check ran where it should
    assert "yaml" not in deliver["modules"]


def test_the_deliver_function_is_ready_without_powertools_parser_models(deliver: dict[str, list[str]]) -> None:
    # Powertools' batch utility imports every event source's pydantic model (Kafka, Kinesis, DynamoDB
    # streams, ...) when pydantic is already loaded; the engine validates none of them: ~35 ms.
    assert "aws_lambda_powertools.utilities.batch" in deliver["modules"]
    assert not {m for m in deliver["modules"] if m.startswith("aws_lambda_powertools.utilities.parser.models")}


@pytest.mark.parametrize("function", ["ingress", "deliver", "sync"])
def test_the_prevalidated_configuration_is_not_validated_again(function: str, request: pytest.FixtureRequest) -> None:
    # The configuration models are defer_build and the pre-validated form is rebuilt with model_construct
    # (core/construct.py): a validator built here is pydantic's schema work for every model, ~25-45 ms of CPU.
    ready = request.getfixturevalue(function)
    assert "hookline.core.construct" in ready["modules"]  # loaded the pre-validated form, not the YAML
    assert ready["built"] == []



def test_the_ingress_function_makes_its_clients_without_boto3(ingress: dict[str, list[str]]) -> None:
    # Its SQS and DynamoDB clients come from botocore: boto3's own import (its resource layer, s3transfer,
    # multiprocessing) is work `import boto3` pays and ingress need not.
    assert "hookline.adapters.aws.event_log_entries" in ingress["modules"]
    assert "botocore.client" in ingress["modules"]
    assert not {m for m in ingress["modules"] if m == "boto3" or m.startswith(("boto3.", "s3transfer"))}


# A function's first invocations, in a process where LAMBDA_TASK_ROOT is set as Lambda sets it (or not).
_INVOKE = """
import gc, json, types
import app
seen = [gc.isenabled()]
context = types.SimpleNamespace(function_name="f", memory_limit_in_mb=512, aws_request_id="r1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                                get_remaining_time_in_millis=lambda: 60000)
for _ in range(2):
    try:
        app.handler({event}, context)
    except Exception:
        pass  # a failed invocation ends the cold start too (the handlers' finally)
    seen.append(gc.isenabled())
print(json.dumps({{"enabled": seen, "frozen": gc.get_freeze_count()}}))
"""
# Ingress: a method it answers 404 (no AWS call); deliver: a batch of no records (Powertools refuses it).
_EVENTS = {"ingress": {"rawPath": "/", "requestContext": {"http": {"method": "PUT"}}}, "deliver": {"Records": []}}


@pytest.mark.parametrize("function", ["ingress", "deliver"])
@pytest.mark.parametrize("in_lambda", [True, False])
def test_garbage_collection_waits_for_the_end_of_the_first_invocation_in_lambda_only(
        function: str, in_lambda: bool, bundle: Path) -> None:
    # ~40 collections over objects that live for the process were ~30 ms of a cold start's CPU (ingress
    # and deliver alike); outside Lambda (tests, `hookline dev`: one process for everything) nothing changes.
    env = {**_env(function, bundle), **({"LAMBDA_TASK_ROOT": "/var/task"} if in_lambda else {})}
    out = subprocess.run([sys.executable, "-c", _INVOKE.format(event=repr(_EVENTS[function]))], env=env,
                         capture_output=True, text=True, check=True, timeout=120, cwd="/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if in_lambda:
        assert result["enabled"] == [False, True, True]
        assert result["frozen"] > 10_000  # the cold start's objects (the modules' at least): never scanned again
    else:
        assert result["enabled"] == [True, True, True]
        assert result["frozen"] == 0


_SYNC_RUN = """
import gc, json, types
import app
seen = {"after_import": gc.isenabled()}
context = types.SimpleNamespace(function_name="f", memory_limit_in_mb=512, aws_request_id="r1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                                get_remaining_time_in_millis=lambda: 60000)

def run_job(job, config, runtime):
    seen["during_run"] = gc.isenabled()
    return []

app.run_job = run_job
app.handler({"job": "due"}, context)
seen["after"] = gc.isenabled()
print(json.dumps(seen))
"""


def test_a_sync_run_pages_with_the_collector_on(bundle: Path) -> None:
    # A run may page for many minutes of its first invocation: only the cold start goes without collection.
    env = {**_env("sync", bundle), "LAMBDA_TASK_ROOT": "/var/task"}
    out = subprocess.run([sys.executable, "-c", _SYNC_RUN], env=env, capture_output=True, text=True, check=False,
                         timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"after_import": False, "during_run": True, "after": True}


# Ingress's first request of a JSON source, signed, through the handler; AWS clients stubbed (they answer {}).
_JSON_REQUEST = """
import hashlib, hmac, json, sys, types
import app
from hookline.core.messages import DeliveryTask
from hookline.wiring import services
s = services()
sent = []


class Client:
    def __getattr__(self, name):
        return lambda **kw: sent.append((name, kw)) or {{}}


s.publisher._client = s.event_log_entries._client = Client()
body = {body!r}
signature = "sha256=" + hmac.new(b"s3cret", body.encode(), hashlib.sha256).hexdigest()
event = {{"rawPath": "/webhooks/github", "pathParameters": {{"source": "github"}}, "body": body,
         "requestContext": {{"http": {{"method": "POST", "sourceIp": "192.0.2.1"}}, "domainName": "example.com"}},
         "headers": {{"content-type": "application/json", "x-github-event": "issues", "x-github-delivery": "d-1",
                     "x-hub-signature-256": signature}}}}
context = types.SimpleNamespace(function_name="f", memory_limit_in_mb=512, aws_request_id="r1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                                get_remaining_time_in_millis=lambda: 60000)
answer = app.handler(event, context)
print(json.dumps({{"status": answer["statusCode"], "modules": sorted(sys.modules), "calls": [n for n, _ in sent],
                  "messages": [kw["MessageBody"] for n, kw in sent if n == "send_message"],
                  "task_built": DeliveryTask.__pydantic_complete__}}))
"""


def test_the_first_json_request_loads_no_xml_parser_and_builds_no_queue_message_model(bundle: Path) -> None:
    # xmltodict/defusedxml (XML bodies only, core/xml_body.py) were ~2 ms of it; DeliveryTask's validator and
    # serializer, with pydantic's one-time warm-up, ~20 ms: ingress writes the message as pydantic would
    # (DeliveryTask.new, task_json) and delivery validates it.
    body = (ROOT / "examples" / "payloads" / "github-issue.json").read_text()
    env = {**_env("ingress", bundle), "GITHUB_WEBHOOK_SECRET": "s3cret"}
    out = subprocess.run([sys.executable, "-c", _JSON_REQUEST.format(body=body)], env=env, capture_output=True,
                         text=True, check=True, timeout=120, cwd="/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 202 and result["calls"] == ["transact_write_items", "send_message"]
    assert not {m for m in result["modules"] if m.split(".")[0] in ("xmltodict", "defusedxml")
                or m in ("xml.sax", "hookline.core.xml_body")}
    assert result["task_built"] is False
    message = json.loads(result["messages"][0])
    assert (message["event_id"], message["route"], message["body"]) == ("d-1", "issues-to-crm", body)
