"""Configuration model: the spec's keys, and every problem reported with its path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from hookline.core.errors import ConfigError
from hookline.validation import load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]

VALID = {
    "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:GH"], "tolerance_seconds": 300}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:8081/contacts", "method": "POST",
                             "headers": {"Authorization": "Bearer {secret:ssm:/crm/token}"},
                             "timeout_seconds": 10}},
    "routes": [{"name": "issues-to-crm", "source": "github", "destination": "crm",
                "when": "headers.\"x-github-event\" == 'issues'",
                "transform": {"title": "body.issue.title", "number": {"path": "body.issue.number", "type": "string"}}}],
    "retry": {"schedule_seconds": [60, 300, 1800]},
}


def problems_of(data: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    return {p.path: p.message for p in exc.value.problems}


def test_the_spec_example_parses_with_defaults_applied() -> None:
    cfg = parse_config(VALID)
    assert cfg.destinations["crm"].method == "POST"
    assert cfg.schedule_for(cfg.routes[0]) == [60, 300, 1800]
    assert cfg.routes_for("github")[0].name == "issues-to-crm"


def test_the_shipped_example_is_valid() -> None:
    cfg = load_config(ROOT / "examples" / "hookline.yaml")
    assert set(cfg.sources) == {"github", "stripe", "shop"}


@pytest.mark.parametrize("secret", ["hunter2", "whsec_abc", "env:", "ssm:relative", "vault:/x"])
def test_plain_text_and_unknown_secret_references_are_rejected(secret: str) -> None:
    data = copy.deepcopy(VALID)
    data["sources"]["github"]["verify"]["secrets"] = ["env:OK", secret]
    found = problems_of(data)
    assert "not a secret reference" in found["sources.github.verify.secrets[1]"]
    assert all(secret not in msg for msg in found.values() if len(secret) > 4)  # never echoed back


def test_every_problem_is_listed_at_once_with_its_path() -> None:
    data = copy.deepcopy(VALID)
    data["sources"]["github"]["verify"]["scheme"] = "gitlab"
    data["destinations"]["crm"]["url"] = "not a url"
    data["destinations"]["crm"]["headers"] = {"X-Api-Key": "plain"}
    data["routes"][0]["destination"] = "warehouse"
    data["routes"][0]["when"] = "headers.x-github-event == 'issues'"
    data["routes"].append({"name": "issues-to-crm", "source": "shop", "destination": "crm"})
    found = problems_of(data)
    assert set(found) >= {
        "sources.github.verify.scheme",
        "destinations.crm.url",
        "destinations.crm.headers.X-Api-Key",
        "routes[0].destination",
        "routes[0].when",
        "routes[1].source",
    }


def test_semantic_problems_on_a_schema_valid_file() -> None:
    data = copy.deepcopy(VALID)
    data["routes"][0]["destination"] = "warehouse"
    data["routes"].append(copy.deepcopy(data["routes"][0]))
    data["routes"][0]["transform"] = {"n": {"path": "body.[", "type": "int"}}
    found = problems_of(data)
    assert "unknown destination 'warehouse'" in found["routes[0].destination"]
    assert "duplicate route name" in found["routes[1].name"]
    assert any(p.startswith("routes[0].transform") for p in found)


def test_unknown_keys_are_typos_not_features() -> None:
    data = copy.deepcopy(VALID)
    data["sources"]["github"]["verify"]["tolerance"] = 10
    assert problems_of(data)["sources.github.verify.tolerance"] == "unknown key"


def test_hmac_scheme_needs_a_header_and_schedule_respects_the_sqs_limit() -> None:
    data = copy.deepcopy(VALID)
    data["sources"]["github"]["verify"] = {"scheme": "hmac-sha256", "secrets": ["env:GH"]}
    data["retry"] = {"schedule_seconds": [60, 50000]}
    found = problems_of(data)
    assert "retry.schedule_seconds" in found
    data["retry"] = {"schedule_seconds": [60]}
    assert "sources.github.verify.header" in problems_of(data)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "h.yaml"
    bad.write_text("sources:\n  github: [\n")
    with pytest.raises(ConfigError) as exc:
        load_config(bad)
    assert exc.value.problems[0].path.startswith("line ")


def test_schema_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "order.json").write_text('{"type": "object", "required": "id"}')
    data = copy.deepcopy(VALID)
    data["routes"][0]["schema"] = "order.json"
    data["sources"]["github"]["schema"] = "missing.json"
    with pytest.raises(ConfigError) as exc:
        parse_config(data, base_dir=tmp_path)
    found = {p.path: p.message for p in exc.value.problems}
    assert "invalid JSON Schema" in found["routes[0].schema"]
    assert "cannot read schema file" in found["sources.github.schema"]
