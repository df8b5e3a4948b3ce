"""Cold start: tracing loaded only when X-Ray is on; the pre-validated configuration that `make deploy` writes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jmespath import parser as jmespath_parser

from hookline import expressions, prevalidated
from hookline.config import load_config
from hookline.observability import NoTracer, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hookline.yaml"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, False),
    ({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}, True),
    ({"_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793"}, True),
    ({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
])
def test_tracing_only_when_xray_is_on_and_not_disabled(env: dict[str, str], expected: bool) -> None:
    assert tracing_enabled(env) is expected


def test_no_tracer_decorators_leave_the_handler_as_it_is() -> None:
    def handler(event: Any, context: Any) -> Any:
        return event

    assert NoTracer().capture_lambda_handler(capture_response=False)(handler) is handler
    assert NoTracer().capture_lambda_handler(handler) is handler
    assert NoTracer().capture_method(handler) is handler


def _imported_after_handler_import(extra_env: dict[str, str]) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_XRAY", "_X_AMZN", "POWERTOOLS_TRACE"))}
    paths = [str(ROOT / "layers" / "hookline"), str(ROOT / "functions" / "ingress")]
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "hookline-ingress", **extra_env,
                "PYTHONPATH": os.pathsep.join(paths)})
    out = subprocess.run([sys.executable, "-c", "import sys, app; print(' '.join(sorted(sys.modules)))"],
                         env=env, capture_output=True, text=True, check=True, timeout=120, cwd="/")
    return set(out.stdout.split())


def test_the_xray_sdk_is_imported_only_when_tracing_is_on() -> None:
    assert "aws_xray_sdk" not in _imported_after_handler_import({})
    assert "aws_xray_sdk" in _imported_after_handler_import({"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"})


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
    from hookline.errors import ConfigError

    with pytest.raises(ConfigError, match="bogus_key"):
        load_config(bundled)
