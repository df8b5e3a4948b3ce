"""Lookup tables for `{path, lookup: {...}}` and `{path, lookup_file: F}` field specs.

A table maps an input value to an output value (Stripe status -> CRM stage). Keys are compared
as text, so a YAML key `1` matches the number 1 and the string "1", and `true` matches the JSON
boolean true. Files are read once, when the transform is compiled, relative to the configuration
file's folder:

- `.csv`: a header row (names ignored), then one `key,value` row per entry; values are strings
  (add `type:` to convert them);
- `.json`, `.yaml`, `.yml`: a mapping of key -> any JSON value.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LookupTable", "LookupTableError", "key_text", "load_lookup_file", "table_from_mapping"]

MAX_FILE_BYTES = 5 * 1024 * 1024
_MISSING = object()


class LookupTableError(ValueError):
    """The table (inline or file) cannot be used; the message says where and why."""


def key_text(value: Any) -> str | None:
    """The comparison form of a scalar (None for values that cannot be keys: objects, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, str):
        return value
    return None


@dataclass(frozen=True)
class LookupTable:
    entries: Mapping[str, Any]
    origin: str  # 'the lookup table' or "lookup file 'stages.csv'", for messages

    def find(self, value: Any) -> Any:
        """The mapped value, or `MISSING` when the table has no entry for it."""
        key = key_text(value)
        if key is None:
            return _MISSING
        return self.entries.get(key, _MISSING)

    def known(self, limit: int = 8) -> str:
        keys = list(self.entries)
        shown = ", ".join(repr(k) for k in keys[:limit])
        return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


MISSING = _MISSING


def table_from_mapping(table: Any, origin: str) -> LookupTable:
    if not isinstance(table, Mapping) or not table:
        raise LookupTableError(f"{origin} must be a non-empty mapping of input value -> output value")
    entries: dict[str, Any] = {}
    for key, value in table.items():
        text = key_text(key)
        if text is None:
            raise LookupTableError(f"{origin}: key {key!r} is not a string, number or boolean")
        if text in entries:
            raise LookupTableError(f"{origin}: key {text!r} appears twice")
        entries[text] = value
    return LookupTable(entries, origin)


def load_lookup_file(name: Any, base_dir: Path | None) -> LookupTable:
    if not isinstance(name, str) or not name.strip():
        raise LookupTableError(f"lookup_file must be a file name relative to the configuration file, got {name!r}")
    file = (base_dir or Path.cwd()) / name
    origin = f"lookup file {name!r}"
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise LookupTableError(f"{origin} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        text = file.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise LookupTableError(f"cannot read {origin} ({file}): {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise LookupTableError(f"{origin} is not UTF-8 text") from None
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return _csv_table(text, origin)
    if suffix in (".json", ".yaml", ".yml"):
        try:
            data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as e:
            raise LookupTableError(f"{origin} does not parse: {str(e).splitlines()[0]}") from None
        return table_from_mapping(data, origin)
    raise LookupTableError(f"{origin}: use a .csv, .json, .yaml or .yml file")


def _csv_table(text: str, origin: str) -> LookupTable:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise LookupTableError(f"{origin} needs a header row and at least one 'key,value' row")
    entries: dict[str, Any] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise LookupTableError(f"{origin}, row {number}: expected 2 columns (key,value), found {len(row)}")
        key, value = row[0].strip(), row[1].strip()
        if key in entries:
            raise LookupTableError(f"{origin}, row {number}: key {key!r} appears twice")
        entries[key] = value
    return LookupTable(entries, origin)
