"""Environment settings, validated once per cold start (template.yaml Globals set them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUNDLED_CONFIG = Path(__file__).parent / "bundled" / "hookline.yaml"

# name -> (type, default, lower bound). Defaults are taken as they are (pydantic did not validate them either).
FIELDS: Mapping[str, tuple[type, Any, int | None]] = {
    "hookline_config": (Path, BUNDLED_CONFIG, None),
    "hookline_stage": (str, "dev", None),
    "events_table": (str, "", None),
    "delivery_queue_url": (str, "", None),
    "dlq_url": (str, "", None),
    "ordered_queue_url": (str, "", None),  # FIFO delivery queue of `ordered: true` routes
    "records_table": (str, "", None),  # stale guard, limits and breaker state (adapters/aws/guard_store.py)
    "payload_bucket": (str, "", None),
    "archive_stream": (str, "", None),  # the event archive's Firehose stream (core/archive.py); empty = no archive
    "idempotency_window_seconds": (int, 7 * 24 * 3600, 60),
    "event_log_ttl_seconds": (int, 30 * 24 * 3600, 3600),
    "large_body_threshold_bytes": (int, 200 * 1024, 1024),
    "max_body_bytes": (int, 6 * 1024 * 1024, 1024),
}


class Settings:
    """Values given here win; the environment fills the rest, by field name in any case; other names are
    ignored. Frozen. A bad value raises pydantic's ValidationError, one line per field, as the pydantic
    model this was did.

    A plain class rather than a pydantic model: building the model class (its validator) was ~15 ms of
    every function's cold start, for thirteen fields read once.
    """

    # The field names, under the name pydantic gave them: callers filter an environment by them.
    model_fields = FIELDS
    __slots__ = tuple(FIELDS)

    hookline_config: Path
    hookline_stage: str
    events_table: str
    delivery_queue_url: str
    dlq_url: str
    ordered_queue_url: str
    records_table: str
    payload_bucket: str
    archive_stream: str
    idempotency_window_seconds: int
    event_log_ttl_seconds: int
    large_body_threshold_bytes: int
    max_body_bytes: int

    def __init__(self, **values: Any) -> None:
        env = {name.lower(): value for name, value in os.environ.items() if name.lower() in FIELDS}
        given = {**env, **values}
        errors: list[dict[str, Any]] = []
        for name, (kind, default, ge) in FIELDS.items():
            if name not in given:
                object.__setattr__(self, name, default)
                continue
            value = given[name]
            converted, error = _convert(kind, value, ge)
            if error is not None:
                errors.append({**error, "loc": (name,), "input": value})
            object.__setattr__(self, name, converted)
        if errors:
            raise _validation_error(errors)

    def __setattr__(self, name: str, value: Any) -> None:
        raise _validation_error([{"type": "frozen_instance", "loc": (name,), "input": value}])

    def __delattr__(self, name: str) -> None:
        raise _validation_error([{"type": "frozen_instance", "loc": (name,), "input": None}])

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS) + ")"


def _convert(kind: type, value: Any, ge: int | None) -> tuple[Any, dict[str, Any] | None]:
    """`value` as `kind` (pydantic's lax mode for these three types), or the error pydantic would name."""
    if kind is str:
        return (value, None) if isinstance(value, str) else (value, {"type": "string_type"})
    if kind is Path:
        return (Path(value), None) if isinstance(value, str | os.PathLike) else (value, {"type": "path_type"})
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return value, {"type": "int_type"}
    if isinstance(value, float):
        if not value.is_integer():
            return value, {"type": "int_from_float"}
        number = int(value)
    else:
        try:
            number = int(value)
        except ValueError:
            try:  # "2048.0" is an integer to pydantic too
                number = int(float(value)) if float(value).is_integer() else None
            except (ValueError, OverflowError):
                number = None
            if number is None:
                return value, {"type": "int_parsing"}
    if ge is not None and number < ge:
        return number, {"type": "greater_than_equal", "ctx": {"ge": ge}}
    return number, None


def _validation_error(errors: list[dict[str, Any]]) -> Exception:
    # lazy: only a bad setting needs pydantic's error class (the functions load pydantic for the configuration
    # anyway; the tools may not).
    from pydantic_core import PydanticCustomError, ValidationError

    for error in errors:
        if error["type"] == "path_type":  # a custom error in pydantic too: not one of pydantic_core's types
            error["type"] = PydanticCustomError("path_type", "Input is not a valid path for {kind}",
                                                {"kind": str(Path)})
    return ValidationError.from_exception_data("Settings", errors)  # type: ignore[arg-type]
