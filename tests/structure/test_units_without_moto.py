"""The unit tests of the engine, ingress and sync run on the fakes alone: moto is never imported, no AWS request leaves.

They run in a fresh interpreter (this session may have imported moto for other tests), with every botocore
request intercepted: one would mean a boto3 client built by the code under test instead of a fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The provider catalog's ~1,000 signed-request cases are pure functions of the engine (no port, no store):
# they stay out of this second run, which is about the code that holds the ports.
FOLDERS = ["tests/unit/delivery", "tests/unit/ingress", "tests/unit/sync", "--ignore=tests/unit/ingress/providers"]

PROBE = """
import json, sys
import botocore.endpoint
import pytest

sent = []

def refuse(self, operation_model, request_dict):
    sent.append(operation_model.name)
    raise RuntimeError(f"unit test made an AWS request: {operation_model.name}")

botocore.endpoint.Endpoint.make_request = refuse
code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly", *sys.argv[1:]])
print("PROBE" + json.dumps({"exit": int(code), "moto": sorted(m for m in sys.modules if m.split(".")[0] == "moto"),
                            "requests": sent}))
"""


def test_the_engine_ingress_and_sync_unit_tests_import_no_moto_and_make_no_aws_request() -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, *FOLDERS], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("PROBE")]
    assert lines, f"the probe printed nothing; stderr:\n{run.stderr[-2000:]}"
    found = json.loads(lines[-1].removeprefix("PROBE"))
    assert found["exit"] == 0, run.stdout[-3000:]
    assert found["moto"] == [], f"moto imported by the unit tests: {found['moto'][:5]}"
    assert found["requests"] == []
    assert " passed" in run.stdout and "skipped" not in run.stdout
