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
