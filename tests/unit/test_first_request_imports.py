"""What a function's first request loads (issue 23: cold import + first request's clients <= 1.5 x `import boto3`).

A fresh, Lambda-like interpreter builds the deliver function's services from a pre-validated configuration
(as `make deploy` bundles it) and lists the modules loaded: libraries that only some configurations or some
failures need must not be among them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hookline import prevalidated

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hookline.yaml"

_READY = ("import sys, app; from hookline.wiring import services; s = services(); s.delivery; s.events; s.delivery_queues; "
          "print(' '.join(sorted(sys.modules)))")


@pytest.fixture(scope="module")
def deliver_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    folder = tmp_path_factory.mktemp("bundle")
    config = folder / "hookline.yaml"
    config.write_text(EXAMPLE.read_text())
    prevalidated.dump(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "HOOKLINE_", "_X_AMZN"))}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                "AWS_LAMBDA_FUNCTION_NAME": "hookline-deliver", "HOOKLINE_CONFIG": str(config),
                "EVENTS_TABLE": "events", "PAYLOAD_BUCKET": "payloads",
                "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
                "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "hookline"),
                                               str(ROOT / "functions" / "deliver")])})
    out = subprocess.run([sys.executable, "-c", _READY], env=env, capture_output=True, text=True, check=True,
                         timeout=120, cwd="/")
    return set(out.stdout.split())


def test_the_deliver_function_is_ready_without_yaml(deliver_modules: set[str]) -> None:
    # YAML is read only for a schema file (on the first delivery of a route or source that names one; the
    # example names none) and for a configuration with no pre-validated form: ~25 ms of the first request.
    assert "hookline.delivery.engine" in deliver_modules  # the check ran where it should
    assert "yaml" not in deliver_modules


def test_the_deliver_function_is_ready_without_powertools_parser_models(deliver_modules: set[str]) -> None:
    # Powertools' batch utility imports every event source's pydantic model (Kafka, Kinesis, DynamoDB
    # streams, ...) when pydantic is already loaded; the engine validates none of them: ~35 ms.
    assert "aws_lambda_powertools.utilities.batch" in deliver_modules
    assert not {m for m in deliver_modules if m.startswith("aws_lambda_powertools.utilities.parser.models")}
