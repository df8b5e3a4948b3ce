"""hookline dev's configuration reload: what changed, and an invalid file never replaces a valid one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hookline.local.reload import ConfigWatcher, config_changes
from hookline.validation import load_config, parse_config

BASE: dict[str, Any] = {
    "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:GH"]}}},
    "destinations": {"crm": {"url": "http://127.0.0.1:9/a"}, "erp": {"url": "http://127.0.0.1:9/b"}},
    "routes": [
        {"name": "a", "source": "github", "destination": "crm", "transform": {"t": "body.title"}},
        {"name": "b", "source": "github", "destination": "erp"},
    ],
}


def edited(**changes: Any) -> dict[str, Any]:
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    cfg.update(changes)
    return cfg


def test_changes_name_each_route_added_removed_or_changed_and_the_fields() -> None:
    new = edited(routes=[
        {"name": "a", "source": "github", "destination": "crm", "transform": {"title": "body.title"}},
        {"name": "c", "source": "github", "destination": "erp"},
    ], destinations={"crm": {"url": "http://127.0.0.1:9/a", "timeout_seconds": 3}, "erp": BASE["destinations"]["erp"]})
    assert config_changes(parse_config(BASE), parse_config(new)) == [
        "route a: changed (transform)", "route b: removed", "route c: added",
        "destination crm: changed (timeout_seconds)"]
    assert config_changes(parse_config(BASE), parse_config(edited())) == []


def test_an_invalid_edit_keeps_the_running_configuration_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(BASE))
    applied: list[Any] = []
    said: list[str] = []
    watcher = ConfigWatcher(path, load_config(path), load=load_config, apply=applied.append, say=said.append)
    # Given a save that breaks the file (a route to a destination that does not exist)
    path.write_text(yaml.safe_dump(edited(routes=[{"name": "a", "source": "github", "destination": "nope"}])))
    # When it is checked, nothing is applied and the problem is printed with where it is
    assert watcher.check() is False
    assert applied == [] and said[0].startswith("hookline.yaml NOT reloaded: 1 problem")
    assert any("routes" in line and "nope" in line for line in said[1:])
    # And a valid save afterwards is applied and described
    said.clear()
    path.write_text(yaml.safe_dump(edited(routes=BASE["routes"][:1])))
    assert watcher.check() is True
    assert [r.name for r in applied[0].routes] == ["a"]
    assert said == ["hookline.yaml reloaded: 1 change(s); new events and deliveries use it", "  route b: removed"]


def test_the_watcher_notices_a_save_by_itself(tmp_path: Path) -> None:
    import time

    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(BASE))
    applied: list[Any] = []
    watcher = ConfigWatcher(path, load_config(path), load=load_config, apply=applied.append, say=lambda _: None,
                            interval=0.05).start()
    try:
        path.write_text(yaml.safe_dump(edited(routes=BASE["routes"][:1])))
        deadline = time.monotonic() + 10
        while not applied and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watcher.stop()
    assert applied and [r.name for r in applied[0].routes] == ["a"]


def test_a_rejected_reload_says_each_problem_and_its_fix_once(tmp_path: Path) -> None:
    from hookline.commands.validate import template_problems
    from hookline.core.errors import ConfigError

    template = Path(__file__).resolve().parents[3] / "template.yaml"

    def checked(path: Path) -> Any:  # as `hookline dev` loads an edited file: the config, then the template's needs
        cfg = load_config(path)
        problems = template_problems(cfg, template)
        if problems:
            raise ConfigError(problems, str(path))
        return cfg

    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(BASE))
    said: list[str] = []
    watcher = ConfigWatcher(path, load_config(path), load=checked, apply=lambda _: None, say=said.append)
    # Given a global retry schedule longer than the template's MaxReceiveCount allows, shared by both routes
    path.write_text(yaml.safe_dump(edited(retry={"schedule_seconds": [1, 2, 3, 4, 5, 6, 7, 8]})))
    assert watcher.check() is False
    # Then the problem (it is the one schedule's) and its fix are printed once, not once per route using it
    assert said[0].startswith("hookline.yaml NOT reloaded: 1 problem(s)"), said
    assert [line for line in said if "fix:" in line] == [
        "      fix: shorten the schedule, or deploy with MaxReceiveCount=10 or more"]


def test_the_same_problem_found_twice_is_said_once(tmp_path: Path) -> None:
    from hookline.core.errors import ConfigError, Problem

    path = tmp_path / "hookline.yaml"
    path.write_text(yaml.safe_dump(BASE))
    twice = Problem("retry.schedule_seconds", "too long", "shorten it")

    def load(_: Path) -> Any:
        raise ConfigError([twice, twice])

    said: list[str] = []
    assert ConfigWatcher(path, load_config(path), load=load, apply=lambda _: None, say=said.append).check() is False
    assert said[1:] == ["  - retry.schedule_seconds: too long", "      fix: shorten it"]
    assert said[0].startswith("hookline.yaml NOT reloaded: 1 problem(s)")
