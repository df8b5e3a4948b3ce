"""`hookline validate` catches what the audit found it missed; the run time agrees with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_validate_cli import ROOT
from tests.integration.test_validate_cli import run as hookline
from tests.support import moto_delivery as md
from tests.support.receiver import Receiver

HEADER_SECRET_CONFIG = """\
sources:
  app: {verify: {scheme: hmac-sha256, header: X-Sig, secrets: ["env:HL_AUDIT_SOURCE_SECRET"]}}
destinations:
  crm:
    url: "http://127.0.0.1:9/contacts"
    headers: {Authorization: "Bearer {secret:env:HL_AUDIT_UNSET_TOKEN}"}
routes:
  - {name: r, source: app, destination: crm}
"""


def test_an_unset_env_secret_in_a_destination_header_is_reported(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HL_AUDIT_SOURCE_SECRET", "s")
    monkeypatch.delenv("HL_AUDIT_UNSET_TOKEN", raising=False)
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text(HEADER_SECRET_CONFIG)
    result = hookline("validate", "--config", str(cfg))
    assert "env:HL_AUDIT_UNSET_TOKEN" in result.stderr
    assert "destinations.crm.headers.Authorization" in result.stderr


def test_an_unset_header_secret_at_run_time_is_a_config_failure_without_retries(
        stack: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HL_AUDIT_UNSET_TOKEN", raising=False)
    with Receiver() as dest:
        cfg = md.config(dest.url, dest={"headers": {"Authorization": "Bearer {secret:env:HL_AUDIT_UNSET_TOKEN}"}})
        md.enqueue(stack, md.task("evt-unset"))
        response = md.run(stack, md.make_delivery(stack, cfg), md.receive(stack), lambda_context)
        assert dest.requests == []
    assert md.failed(response) == set()
    a = md.attrs(md.dlq_messages(stack)[0])
    assert a["reason"] == "config" and "HL_AUDIT_UNSET_TOKEN" in a["last_error"] and a["attempts"] == "1"


def test_the_max_receive_count_check_runs_outside_the_repository_root(tmp_path: Path) -> None:
    # Given a schedule longer than the redrive backstop, validated from another directory
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text((ROOT / "examples/hookline.yaml").read_text().replace(
        "schedule_seconds: [60, 300, 1800]", "schedule_seconds: [1, 2, 3, 4, 5, 6]"))
    result = hookline("validate", "--config", str(cfg), cwd=tmp_path)
    # Then the template is found as `hookline dev` finds it, and the problem is reported
    assert result.returncode == 1
    assert "7 attempts reach the template's MaxReceiveCount (6)" in result.stderr


def test_a_missing_template_is_said_not_skipped_silently(tmp_path: Path) -> None:
    cfg = tmp_path / "hookline.yaml"
    cfg.write_text((ROOT / "examples/hookline.yaml").read_text())
    result = hookline("validate", "--config", str(cfg), "--template", str(tmp_path / "none.yaml"), cwd=tmp_path)
    assert result.returncode == 0
    assert "template checks skipped" in result.stderr and "none.yaml" in result.stderr
