"""`hookline validate` as a user runs it: the installed console script, exit codes, output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOOKLINE = shutil.which("hookline", path=str(Path(sys.executable).parent)) or "hookline"

BROKEN = """\
sources:
  github:
    verify:
      scheme: gitlab
      secrets: ["hunter2"]
  stripe:
    verify: {scheme: stripe, secrets: ["env:STRIPE"], tolerance: 300}
destinations:
  crm:
    url: "ftp//nowhere"
    headers: {Authorization: "Bearer abc123"}
routes:
  - name: r1
    source: gitlab
    destination: warehouse
    when: "headers.x-github-event == 'issues'"
    transform:
      title: {path: body.title, tpye: string}
"""


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOOKLINE, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_broken_file_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text(BROKEN)
    result = run("validate", "--config", str(cfg))
    assert result.returncode == 1
    for path in ("sources.github.verify.scheme", "sources.github.verify.secrets[0]", "sources.stripe.verify.tolerance",
                 "destinations.crm.url", "destinations.crm.headers.Authorization", "routes[0].source",
                 "routes[0].destination", "routes[0].when", "routes[0].transform.title.tpye"):
        assert f"- {path}:" in result.stderr, path
    assert "9 problem(s)" in result.stderr
    assert "hunter2" not in result.stderr and "abc123" not in result.stderr


def test_valid_example_exits_0() -> None:
    result = run("validate", "--config", "examples/hookline.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK examples/hookline.yaml")


def test_missing_file_is_an_actionable_error(tmp_path: Path) -> None:
    result = run("validate", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot read" in result.stderr and "--config" in result.stderr


def test_a_schedule_longer_than_the_redrive_backstop_is_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text((ROOT / "examples/hookline.yaml").read_text().replace(
        "schedule_seconds: [60, 300, 1800]", "schedule_seconds: [1, 2, 3, 4, 5, 6]"))
    result = run("validate", "--config", str(cfg), "--template", str(ROOT / "template.yaml"))
    assert result.returncode == 1
    assert "retry.schedule_seconds: 7 attempts reach the template's MaxReceiveCount (6)" in result.stderr
