"""What Lambda gets (layer requirements) and what pip installs locally must not drift apart."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r.strip(), maxsplit=1)[0].lower() for r in reqs if r.strip()}


def test_layer_requirements_mirror_project_dependencies_minus_boto3() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [line for line in (ROOT / "layers/hookline/requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert _names(layer) == _names(project) - {"boto3"}


def test_layer_code_never_imports_test_or_local_only_packages() -> None:
    # moto, rich and flask (the console) are local extras: the deployed functions must not need them.
    # The tooling that uses them lives in tools/hookline, outside the layer (test_layer_contents.py).
    for path in (ROOT / "layers/hookline/hookline").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from) (moto|rich|flask|werkzeug)\b", text, re.M), path
