"""`make deploy` ships only a configuration that can work in AWS (issue 22, paper cut).

It used to ship the demo configuration by default (127.0.0.1 destinations, env: secrets) and
exit 0. Now it needs CONFIG=, and `hookline validate --for-deploy` refuses loopback / private
URLs and env: secrets unless `--allow-local` (ALLOW_LOCAL=1) says they are meant.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from hookline.cli import main
from hookline.commands.validate import deploy_problems
from hookline.validation import parse_config

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "hookline.yaml"


def deployable() -> dict:
    return {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["ssm:/hookline/github/secret"]}}},
        "destinations": {
            "crm": {"url": "https://crm.example.com/api/contacts",
                    "headers": {"Authorization": "Bearer {secret:secretsmanager:hookline/crm}"}},
            "idp-backed": {"url": "https://api.example.com/in", "oauth2": {
                "token_url": "https://login.example.com/token", "client_id": "c",
                "client_secret": "ssm:/hookline/idp/secret"}},
        },
        "routes": [{"name": "gh-to-crm", "source": "github", "destination": "crm"}],
        "syncs": {"orders": {"source": "github", "url": "https://shop.example.com/orders"}},
    }


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_deployable_configuration_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy_problems(parse_config(deployable())) == []
    assert main(["validate", "--for-deploy", "--config", str(write(tmp_path, deployable())),
                 "--template", str(ROOT / "template.yaml")]) == 0
    assert capsys.readouterr().out.startswith("OK ")


@pytest.mark.parametrize(("where", "url", "why"), [
    ("destinations.crm.url", "http://127.0.0.1:8081/contacts", "a loopback address"),
    ("destinations.crm.url", "http://localhost/contacts", "a loopback host name"),
    ("destinations.crm.url", "http://10.1.2.3/contacts", "a private address"),
    ("destinations.crm.url", "http://[::1]:8080/x", "a loopback address"),
    ("destinations.idp-backed.oauth2.token_url", "http://192.168.1.5/token", "a private address"),
    ("destinations.crm.url", "http://169.254.169.254/latest", "a link-local address"),
    ("syncs.orders.url", "http://0.0.0.0:8082/orders", "an unspecified address"),
])
def test_local_addresses_are_refused_with_their_path(where: str, url: str, why: str) -> None:
    data = deployable()
    node = data
    *parents, key = where.split(".")
    for part in parents:
        node = node[part]
    node[key] = url
    (problem,) = deploy_problems(parse_config(data))
    assert problem.path == where
    assert problem.message.startswith(f"{url} is {why}:")
    assert "cannot reach it" in problem.message and "--allow-local" in (problem.hint or "")


def test_env_secrets_are_refused_wherever_they_are(tmp_path: Path) -> None:
    data = deployable()
    data["sources"]["github"]["verify"]["secrets"] = ["ssm:/hookline/gh", "env:GH_SECRET"]
    data["destinations"]["crm"]["headers"]["Authorization"] = "Bearer {secret:env:CRM_TOKEN}"
    data["destinations"]["idp-backed"]["oauth2"]["client_secret"] = "env:IDP_SECRET"
    problems = {p.path: p for p in deploy_problems(parse_config(data))}
    assert set(problems) == {"sources.github.verify.secrets[1]", "destinations.crm.headers.Authorization",
                             "destinations.idp-backed.oauth2.client_secret"}
    crm = problems["destinations.crm.headers.Authorization"]
    assert "env:CRM_TOKEN is read from the function's environment" in crm.message
    assert "ssm:/hookline/crm-token" in (crm.hint or "")


def test_the_demo_is_refused_for_deploy_and_accepted_with_allow_local(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--for-deploy", "--config", str(DEMO)]) == 1
    err = capsys.readouterr().err
    assert "destinations.crm.url: http://127.0.0.1:" in err and "env:CRM_TOKEN" in err
    assert main(["validate", "--for-deploy", "--allow-local", "--config", str(DEMO)]) == 0
    assert main(["validate", "--config", str(DEMO)]) == 0  # `make dev` and `make test` still use it


def make_deploy(*args: str) -> subprocess.CompletedProcess[str]:
    # -o venv -o sam-tool: no tool environment is (re)built; a refusal must come before any sam step.
    env = {k: v for k, v in os.environ.items() if k not in ("CONFIG", "ALLOW_LOCAL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", "-o", "venv", "-o", "sam-tool", "deploy", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_make_deploy_without_config_says_what_to_pass() -> None:
    done = make_deploy()
    assert done.returncode == 2
    assert "make deploy CONFIG=path/to/hookline.yaml" in done.stderr and "local demo" in done.stderr
    assert "sam" not in done.stdout


def test_make_deploy_of_the_demo_stops_at_validation() -> None:
    done = make_deploy(f"CONFIG={DEMO.relative_to(ROOT)}")
    assert done.returncode != 0
    assert "cannot reach it" in done.stderr and "hookline.operations.bundle" not in done.stdout
    dry = subprocess.run(["make", "-n", "-o", "venv", "-o", "sam-tool", "deploy", "CONFIG=x.yaml", "ALLOW_LOCAL=1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False).stdout
    assert "validate --for-deploy --allow-local --config x.yaml" in dry


def test_a_sync_timeout_the_sync_function_cannot_hold_is_named() -> None:
    from hookline.commands.validate import template_problems

    # The template gives the sync function 300 s; a page is started only with timeout_seconds + 5 s left
    data = deployable()
    data["syncs"]["orders"]["timeout_seconds"] = 295
    (problem,) = template_problems(parse_config(data), ROOT / "template.yaml")
    assert problem.path == "syncs.orders.timeout_seconds"
    assert "does not fit in the sync function's Timeout (300 s" in problem.message
    assert "lower it to 294 or less" in (problem.hint or "")
    data["syncs"]["orders"]["timeout_seconds"] = 294
    assert template_problems(parse_config(data), ROOT / "template.yaml") == []
