"""Settings: the environment fills what the caller does not give, validated as the model says."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hookline.settings import BUNDLED_CONFIG, Settings


def test_the_environment_fills_fields_by_name_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_TABLE", "events")
    monkeypatch.setenv("hookline_config", "/var/task/hookline.yaml")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("UNRELATED_VARIABLE", "ignored")
    settings = Settings()
    assert settings.events_table == "events"
    assert settings.hookline_config == Path("/var/task/hookline.yaml")
    assert settings.max_body_bytes == 2048
    assert settings.dlq_url == ""


def test_given_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_TABLE", "from-env")
    monkeypatch.delenv("HOOKLINE_CONFIG", raising=False)
    settings = Settings(events_table="given")
    assert settings.events_table == "given"
    assert settings.hookline_config == BUNDLED_CONFIG


def test_an_invalid_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDEMPOTENCY_WINDOW_SECONDS", "10")
    with pytest.raises(ValidationError, match="idempotency_window_seconds"):
        Settings()


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Settings().dlq_url = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(("name", "bound"), [("idempotency_window_seconds", 60), ("event_log_ttl_seconds", 3600),
                                             ("large_body_threshold_bytes", 1024), ("max_body_bytes", 1024)])
def test_each_bound_admits_its_value_and_refuses_one_below(monkeypatch: pytest.MonkeyPatch, name: str,
                                                           bound: int) -> None:
    monkeypatch.setenv(name.upper(), str(bound))
    assert getattr(Settings(), name) == bound
    monkeypatch.setenv(name.upper(), str(bound - 1))
    with pytest.raises(ValidationError, match=rf"{name}\n  Input should be greater than or equal to {bound}"):
        Settings()


def test_every_bad_value_is_named_in_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "lots")
    with pytest.raises(ValidationError) as caught:
        Settings(events_table=3, event_log_ttl_seconds=1.5, hookline_config=None)
    assert {(e["loc"], e["type"]) for e in caught.value.errors()} == {
        (("max_body_bytes",), "int_parsing"), (("events_table",), "string_type"),
        (("event_log_ttl_seconds",), "int_from_float"), (("hookline_config",), "path_type")}


def test_defaults_unknown_names_and_the_field_list(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = Settings(not_a_setting="ignored")
    assert settings.idempotency_window_seconds == 7 * 24 * 3600
    assert settings.large_body_threshold_bytes == 200 * 1024
    assert settings.hookline_stage == "dev"
    assert not hasattr(settings, "not_a_setting")
    assert "records_table" in Settings.model_fields  # callers filter an environment by these names
    assert settings == Settings() and settings != Settings(events_table="other")
