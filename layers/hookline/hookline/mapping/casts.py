"""Value conversions of the mapping language (`type:`): string, int, float, bool, datetime.

The rules are documented in compiler.py (*Types*); a failed conversion raises `_CastError`,
which the compiled nodes turn into a MappingError naming field, path and value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from hookline.mapping.dates import iso_8601

# Epoch numbers at least this large are milliseconds (1e11 s is the year 5138).
_EPOCH_MS_THRESHOLD = 100_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class _CastError(Exception):
    """A value could not be converted; the message (possibly empty) says why."""



# ---------------------------------------------------------------- value helpers


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _not_json(value: Any) -> str | None:
    """Why a constant from the config cannot be sent as JSON, or None when it can."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a JSON number"
    if isinstance(value, list):
        return next((why for why in map(_not_json, value) if why), None)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"key {key!r} is not a string"
            why = _not_json(item)
            if why:
                return why
        return None
    hint = " (quote it in YAML)" if isinstance(value, date) else ""
    return f"{type(value).__name__} {_preview(str(value))} is not a JSON value{hint}"


def _preview(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _float_text(f: float) -> str:
    if f.is_integer() and abs(f) < 2**53:
        return str(int(f))
    return repr(f)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _numeric_string(value: str) -> Decimal:
    text = value.strip()
    if not _NUMERIC.fullmatch(text):
        raise _CastError("not a number")
    return Decimal(text)


def _cast_string(value: Any, fmt: str | None = None) -> str:
    return _to_string(value)


def _cast_int(value: Any, fmt: str | None = None) -> int:
    if isinstance(value, bool):
        raise _CastError("a bool is not an int")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _CastError("not a finite number")
        if not value.is_integer():
            raise _CastError("not a whole number")
        return int(value)
    if isinstance(value, str):
        number = _numeric_string(value)
        if number.adjusted() > 300:
            raise _CastError("too large")
        if number != number.to_integral_value():
            raise _CastError("not a whole number")
        return int(number)
    raise _CastError("")


def _cast_float(value: Any, fmt: str | None = None) -> float:
    if isinstance(value, bool):
        raise _CastError("a bool is not a number")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:
            raise _CastError("too large") from None
    elif isinstance(value, str):
        result = float(_numeric_string(value))
    else:
        raise _CastError("")
    if not math.isfinite(result):
        raise _CastError("not a finite number")
    return result


def _cast_bool(value: Any, fmt: str | None = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise _CastError("only the numbers 0 and 1 are booleans")
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _CastError("expected true/false, yes/no, on/off or 1/0")
    raise _CastError("")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _from_epoch(number: int | float) -> datetime:
    if isinstance(number, float) and not math.isfinite(number):
        raise _CastError("not a finite number")
    try:
        if abs(number) >= _EPOCH_MS_THRESHOLD:
            return _EPOCH + timedelta(milliseconds=number)
        return _EPOCH + timedelta(seconds=number)
    except OverflowError:
        raise _CastError("out of range") from None


def _to_datetime(value: Any, fmt: str | None) -> datetime:
    if isinstance(value, bool):
        raise _CastError("a bool is not a date-time")
    if isinstance(value, datetime):  # an unquoted YAML timestamp in a default
        return _utc(value)
    if isinstance(value, date):  # an unquoted YAML date in a default
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if fmt is not None:
        if not isinstance(value, str | int):
            raise _CastError(f"expected a string in format {fmt!r}")
        try:
            return _utc(datetime.strptime(str(value).strip(), fmt))
        except ValueError:
            raise _CastError(f"does not match format {fmt!r}") from None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        raise _CastError("")
    text = value.strip()
    if _NUMERIC.fullmatch(text):
        number = Decimal(text)
        return _from_epoch(int(number) if number == number.to_integral_value() else float(number))
    try:
        return _utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return _utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        raise _CastError("not an ISO-8601 date-time or an epoch number") from None


def _cast_datetime(value: Any, fmt: str | None = None) -> str:
    return iso_8601(_to_datetime(value, fmt))  # UTC: ends in Z


_CASTS: dict[str, Callable[[Any, str | None], Any]] = {
    "string": _cast_string,
    "int": _cast_int,
    "float": _cast_float,
    "bool": _cast_bool,
    "datetime": _cast_datetime,
}

