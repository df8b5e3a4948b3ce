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
from pydantic import BaseModel

from hookline import prevalidated
from hookline.core import config as config_module
from hookline.core import construct as construct_module
from hookline.core import expressions
from hookline.core.config import HooklineConfig
from hookline.core.construct import construct
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


# Every kind of field the configuration model has: nested models in dicts and lists, unions of a model
# and a literal (circuit_breaker: off, method: {when, then, else}), aliases (schema, else), dates, models
# made by a default_factory (retry, archive, circuit_breaker) and values JSON turns into other types.
RICH = {
    "sources": {
        "gh": {"verify": {"scheme": "github", "secrets": ["env:GH_SECRET"]}, "schema": {"type": "object"},
               "owner": "platform", "review_by": "2027-01-31", "replay_guard_days": 30},
        "hm": {"verify": {"scheme": "hmac-sha256", "secrets": ["ssm:/hm/secret"], "header": "x-sig",
                          "encoding": "base64", "id_path": "id"}, "format": "auto", "max_body_bytes": 4096},
    },
    "destinations": {
        "crm": {"url": "https://crm.example.com/contacts", "timeout_seconds": 5, "review_by": "2027-02-01",
                "headers": {"Authorization": "Bearer {secret:env:CRM_TOKEN}"}, "rate_limit": "5/s",
                "circuit_breaker": {"failures": 3, "cool_down_seconds": 30},
                "method": {"when": "body.action == 'opened'", "then": "PUT", "else": "PATCH"}},
        "erp": {"url": "https://erp.example.com/in", "circuit_breaker": "off", "format": "xml", "xml_root": "Order",
                "signing": {"secret": "env:ERP_SIGNING"}, "max_concurrency": 4,
                "auth": {"oauth2": {"grant": "jwt_bearer", "token_url": "https://login.example.com/token",
                                    "private_key": "secretsmanager:erp-key", "issuer": "svc@example.com",
                                    "subject": "ops@example.com", "algorithm": "ES256"}}},
        "api": {"url": "https://api.example.com/hooks",
                "auth": {"api_key": {"header": "X-Key", "value": "env:API_KEY"},
                         "mtls": {"cert": "env:CERT", "key": "env:KEY"}}},
        "lake": {"type": "firehose", "stream": "events-lake"},
    },
    "routes": [
        {"name": "to-crm", "source": "gh", "destination": "crm", "when": "headers.\"x-github-event\" == 'issues'",
         "retry": {"schedule_seconds": [1, 2, 3]}, "schema": {"type": "object"}, "review_by": "2027-03-01",
         "enrich": [{"name": "account", "destination": "api", "path": "/accounts/{body.sender.id}",
                     "on_missing": "default", "default": {"tier": "free"}, "cache_seconds": 60}],
         "transform": {"tier": "enriched.account.tier"}, "key": "body.issue.id", "ordered": True,
         "version": "body.issue.updated_at", "precedence": 2},
        {"name": "to-erp", "source": "hm", "destination": "erp", "transform": {"id": "body.id"}},
        {"name": "to-lake", "source": "gh", "destination": "lake"},
    ],
    "retry": {"schedule_seconds": [10, 20]},
    "syncs": {
        "accounts": {"source": "hm", "url": "https://api.example.com/accounts", "every": "1h",
                     "pagination": {"style": "page", "param": "p", "start": 1, "limit_param": "n", "limit": 50},
                     "watermark": {"path": "updated_at", "param": "since"}, "params": {"active": "true"},
                     "oauth2": {"token_url": "https://login.example.com/token", "client_id": "id",
                                "client_secret": "env:SYNC_SECRET"}, "timeout_seconds": 3},
    },
    "entities": {"contact": {"owner": "crm", "fields": ["email"], "precedence": ["gh"]}},
}


def _same(a: Any, b: Any, where: str = "config") -> None:
    """Equal, and of the same type all the way down (10 == 10.0 and a date == its string would hide a
    value the code reads differently)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        for name in type(a).model_fields:
            _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_the_prevalidated_form_is_rebuilt_into_the_same_models_without_validating(tmp_path: Path) -> None:
    from hookline.validation import parse_config

    validated = parse_config(RICH, tmp_path)
    # The form prevalidated.dump writes
    dumped = json.loads(json.dumps(validated.model_dump(mode="json", by_alias=True, exclude_unset=True)))
    rebuilt = construct(HooklineConfig, dumped)
    _same(rebuilt, validated)
    assert rebuilt.destinations["erp"].breaker is None
    assert rebuilt.destinations["crm"].method.else_ == "PATCH"
    assert rebuilt.routes[0].schema_ == {"type": "object"}
    assert rebuilt.route_index.matching("gh", {"headers": {"x-github-event": "issues"}, "body": {}, "type": None})


def test_every_configuration_model_can_be_rebuilt() -> None:
    # A field of a type construct cannot rebuild fails here (a plan is made per class), not in a Lambda.
    # config.py re-exports the models of its section modules (core/config_sources.py, ...): all are here.
    models = [m for m in vars(config_module).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__.startswith(config_module.__name__)]
    assert len(models) > 25
    for model in models:
        construct_module._plan(model)


def test_a_field_construct_cannot_rebuild_is_named() -> None:
    class Odd(BaseModel):
        pair: tuple[int, int]

    with pytest.raises(TypeError, match=r"Odd\.pair: .*construct\.py"):
        construct(Odd, {"pair": [1, 2]})
