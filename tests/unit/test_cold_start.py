"""Cold start: tracing loaded only when X-Ray is on; the pre-validated configuration that `make deploy` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jmespath import parser as jmespath_parser

from hookline import prevalidated
from hookline.core import expressions
from hookline.observability import NoTracer, tracing_enabled
from hookline.validation import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hookline.yaml"


LAMBDA = {"LAMBDA_TASK_ROOT": "/var/task"}
DAEMON = {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}


@pytest.mark.parametrize(("env", "expected"), [
    (LAMBDA, False),
    ({**LAMBDA, **DAEMON}, True),
    ({**LAMBDA, "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793"}, True),
    ({**LAMBDA, **DAEMON, "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({**LAMBDA, **DAEMON, "POWERTOOLS_TRACE_DISABLED": "0"}, True),
    (DAEMON, False),  # not in Lambda
    ({**LAMBDA, **DAEMON, "AWS_SAM_LOCAL": "true"}, False),
])
def test_tracing_only_when_xray_is_on_in_lambda_and_not_disabled(env: dict[str, str], expected: bool) -> None:
    assert tracing_enabled(env) is expected


def test_no_tracer_decorators_leave_the_handler_as_it_is() -> None:
    def handler(event: Any, context: Any) -> Any:
        return event

    assert NoTracer().capture_lambda_handler(capture_response=False)(handler) is handler
    assert NoTracer().capture_lambda_handler(handler) is handler
    assert NoTracer().capture_method(handler) is handler


def _imported_after_handler_import(extra_env: dict[str, str]) -> set[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_XRAY", "_X_AMZN", "POWERTOOLS_TRACE", "LAMBDA_TASK_ROOT"))}
    paths = [str(ROOT / "layers" / "hookline"), str(ROOT / "functions" / "ingress")]
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "hookline-ingress", **extra_env,
                "PYTHONPATH": os.pathsep.join(paths)})
    out = subprocess.run([sys.executable, "-c", "import sys, app; print(' '.join(sorted(sys.modules)))"],
                         env=env, capture_output=True, text=True, check=True, timeout=120, cwd="/")
    return set(out.stdout.split())


def test_the_xray_sdk_is_imported_only_when_tracing_is_on() -> None:
    assert "aws_xray_sdk" not in _imported_after_handler_import({})
    assert "aws_xray_sdk" not in _imported_after_handler_import(DAEMON)  # not in Lambda
    on = _imported_after_handler_import({**LAMBDA, **DAEMON})
    assert "aws_xray_sdk" in on
    # Patched when first imported, not imported for patching.
    assert "botocore.client" not in on
    assert "requests" not in on


# In a Lambda-like process with X-Ray on: the ingress handler, then a traced function making a
# (stubbed) AWS call and an HTTP request; prints every entity the recorder sends, subsegments nested.
_TRACED = """
import json, sys, types
import app
from aws_xray_sdk.core import xray_recorder
from hookline.observability import tracer

sent = []

class Capture:
    def send_entity(self, entity):
        sent.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address):
        pass

xray_recorder.configure(emitter=Capture())
context = types.SimpleNamespace(function_name="hookline-ingress", memory_limit_in_mb=512, aws_request_id="r1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f")
status = app.handler({"rawPath": "/", "requestContext": {"http": {"method": "GET"}}}, context)["statusCode"]

@tracer.capture_lambda_handler
def probe(event, context):
    import boto3, requests
    from botocore.stub import Stubber
    client = boto3.client("sqs")
    with Stubber(client) as stub:
        stub.add_response("list_queues", {})
        client.list_queues()
    try:
        requests.get("http://127.0.0.1:9/", timeout=1)
    except requests.RequestException:
        pass

probe({}, context)

def walk(entities):
    for e in entities:
        yield e
        yield from walk(e.get("subsegments", []))

print(json.dumps({"status": status, "entities": list(walk(sent))}))
"""


def test_with_xray_on_the_handler_and_its_aws_and_http_calls_are_traced() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_X_AMZN", "POWERTOOLS_"))}
    paths = [str(ROOT / "layers" / "hookline"), str(ROOT / "functions" / "ingress")]
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_LAMBDA_FUNCTION_NAME": "hookline-ingress", "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "POWERTOOLS_SERVICE_NAME": "hookline",
                "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                "PYTHONPATH": os.pathsep.join(paths)})
    out = subprocess.run([sys.executable, "-c", _TRACED], env=env, capture_output=True, text=True, check=True,
                         timeout=120, cwd="/")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 404
    by_name = {e["name"]: e for e in result["entities"]}
    # The handler's subsegment as Powertools' Tracer records it
    handler = by_name["## handler"]
    assert handler["annotations"] == {"ColdStart": True, "Service": "hookline"}
    assert by_name["## probe"]["annotations"]["ColdStart"] is False
    # botocore and requests, imported after the handler module, were patched
    assert by_name["sqs"]["namespace"] == "aws"
    assert by_name["sqs"]["aws"]["operation"] == "ListQueues"
    assert by_name["sqs"]["parent_id"] == by_name["## probe"]["id"]
    assert by_name["127.0.0.1"]["namespace"] == "remote"


@pytest.fixture
def bundled(tmp_path: Path) -> Iterator[Path]:
    file = tmp_path / "hookline.yaml"
    file.write_text(EXAMPLE.read_text())
    for extra in EXAMPLE.parent.glob("*.json"):  # schema files the example may reference
        (tmp_path / extra.name).write_text(extra.read_text())
    yield file


def test_prevalidated_form_loads_the_same_configuration_without_parsing(bundled: Path) -> None:
    # Given the configuration validated and dumped as `make deploy` does
    expected = load_config(bundled)
    out = prevalidated.dump(bundled)
    assert out.exists()
    # When a fresh process (no expression compiled yet) loads it
    expressions._COMPILED.clear()
    seen: list[str] = []
    original = jmespath_parser.Parser.parse
    jmespath_parser.Parser.parse = lambda self, expr: seen.append(expr) or original(self, expr)  # type: ignore[method-assign]
    try:
        cfg = load_config(bundled)
        for route in cfg.routes:  # and the routes are matched
            cfg.route_index.matching(route.source, {"headers": {}, "body": {}, "type": None})
    finally:
        jmespath_parser.Parser.parse = original  # type: ignore[method-assign]
    # Then it is the same configuration, and nothing was parsed
    assert cfg.model_dump() == expected.model_dump()
    assert seen == []


def test_a_changed_yaml_is_validated_again_not_served_from_a_stale_dump(bundled: Path) -> None:
    prevalidated.dump(bundled)
    bundled.write_text(bundled.read_text() + "\nbogus_key: 1\n")
    from hookline.core.errors import ConfigError

    with pytest.raises(ConfigError, match="bogus_key"):
        load_config(bundled)
