"""One rule for which hookline.yaml a command reads: --config FILE, else the running `hookline dev`'s,
else $HOOKLINE_CONFIG, else ./hookline.yaml. `map`, `map try` and `validate` follow it as `dlq`, `sync`,
`report`, `destinations`, `send` and `console` do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hookline.cli import main
from hookline.operations.stack import StackInfo

ROOT = Path(__file__).resolve().parents[3]


def config(route: str) -> dict:
    return {"sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:GH"]}}},
            "destinations": {"crm": {"url": "https://crm.example.com/contacts"}},
            "routes": [{"name": route, "source": "github", "destination": "crm", "transform": {"t": "body.title"}}]}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Three configurations told apart by their one route's name, and a running dev's state naming one."""
    out = {}
    for name in ("dev", "cwd", "env", "flag"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "hookline.yaml").write_text(yaml.safe_dump(config(f"from-{name}")))
        out[name] = folder / "hookline.yaml"
    (tmp_path / "template.yaml").write_bytes((ROOT / "template.yaml").read_bytes())
    state = tmp_path / "cwd" / ".hookline" / "dev.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"config": str(out["dev"]), "outputs": {}, "endpoint_url": "http://127.0.0.1:9",
                                 "region": "us-east-1"}))
    (tmp_path / "payload.json").write_text('{"title": "t"}')
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("HOOKLINE_DEV_STATE", raising=False)
    monkeypatch.setenv("HOOKLINE_CONFIG", str(out["env"]))
    out["state"] = state
    return out


def read_by(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Which configuration the command read: the `from-…` route it saw."""
    code = main(argv)
    text = capsys.readouterr()
    seen = {name for name in ("dev", "cwd", "env", "flag") if f"from-{name}" in text.out + text.err}
    assert code == 0 and len(seen) == 1, (code, text)
    return seen.pop()


def test_map_map_try_and_validate_read_the_running_devs_configuration(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # Given a running dev (its state file here) and HOOKLINE_CONFIG naming another file
    assert read_by(["map"], capsys) == "dev"
    assert read_by(["map", "--mermaid"], capsys) == "dev"
    assert read_by(["map", "try", "from-dev", "--data", "../payload.json", "--json"], capsys) == "dev"
    assert "dev/hookline.yaml" in _validate_out([], capsys)
    # And the same file as the stack-based commands (dlq, sync, report, destinations, console) take
    stack = StackInfo(outputs={}, extra=json.loads(files["state"].read_text()), local=True)
    assert stack.config_file(None) == files["dev"]


def test_an_explicit_config_wins_and_without_a_dev_hookline_config_then_the_cwd(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    flag = str(files["flag"])
    assert read_by(["map", "--config", flag], capsys) == "flag"
    assert read_by(["map", "try", "from-flag", "--config", flag, "--data", "../payload.json", "--json"],
                   capsys) == "flag"
    assert "flag/hookline.yaml" in _validate_out(["--config", flag], capsys)
    files["state"].unlink()  # dev stopped
    assert read_by(["map"], capsys) == "env"
    assert "env/hookline.yaml" in _validate_out([], capsys)
    monkeypatch.delenv("HOOKLINE_CONFIG")
    assert read_by(["map"], capsys) == "cwd"


def test_a_command_says_when_it_took_the_running_devs_file(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["map"]) == 0
    err = capsys.readouterr().err
    assert f"{files['dev']} (the running `hookline dev`'s; --config FILE for another)" in err


def _validate_out(extra: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["validate", "--template", "../template.yaml", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return out
