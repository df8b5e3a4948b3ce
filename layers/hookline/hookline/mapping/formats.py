"""How a mapped body is written for its destination: `destinations.<name>.format`.

- json (default), application/json: compact JSON.
- form, application/x-www-form-urlencoded: `a=1&customer[email]=x&tag=a&tag=b&items[0][sku]=A`;
  nested objects in brackets, lists of scalars as repeated keys, lists of objects indexed,
  true/false as words, null as an empty value.
- xml, application/xml: `<?xml ...?><ROOT>...</ROOT>`, ROOT = `xml_root` (default `root`); each
  key an element, a list as repeated elements named by its key, `@name` keys as attributes of
  their element, `#text` as an element's text, null as an empty element; a list body becomes
  repeated `<item>` elements.
- csv, text/csv; charset=utf-8: a header row (unless `csv_header: false`) and one line per object
  (a list body gives several lines); columns in the transform's field order, nested objects
  flattened to dotted names (`customer.email`), a missing field an empty cell, lists and objects
  as JSON text; CRLF line ends (RFC 4180). A cell (header included) that starts with `=`, `+`,
  `-`, `@`, a tab or a CR is written with a leading `'` (OWASP, CSV injection), so a spreadsheet
  opening the file shows an event's `=cmd|' /C calc'!A0` as text instead of running it; a plain
  number (`-5`, `"-12.50"`) is left as it is, since a spreadsheet reads it as a number anyway.
- ndjson, application/x-ndjson: one JSON document per line (a list body: one line per element).

Only mapped bodies are formatted: a route without a transform sends the original bytes with
their original Content-Type. A body a format cannot express (an XML element name that is not
an XML name, a list inside a list for XML, a form body that is not an object) is a `mapping`
failure naming what and where.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

import xmltodict

__all__ = ["CONTENT_TYPES", "FORMATS", "FormatError", "serialize", "xml_name_problem"]

CONTENT_TYPES = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "xml": "application/xml",
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
FORMATS = tuple(CONTENT_TYPES)
# An XML Name, kept to the ASCII-and-letters subset that every parser accepts (no namespace tricks).
_XML_NAME = re.compile(r"^[^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?$")


class FormatError(ValueError):
    """The mapped body cannot be written in the destination's format."""


def xml_name_problem(name: str) -> str | None:
    if not _XML_NAME.match(name):
        return f"{name!r} is not a valid XML name (letters, digits, '_', '-', '.'; not starting with a digit)"
    return None


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _json(body: Any) -> str:
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise FormatError(f"mapped body is not JSON: {e}") from None


# ---------------------------------------------------------------- form


def _form_pairs(value: Any, key: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _form_pairs(item, f"{key}[{name}]" if key else str(name), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                _form_pairs(item, f"{key}[{i}]", out)
            else:
                out.append((key, _scalar_text(item)))
    else:
        out.append((key, _scalar_text(value)))


def _form(body: Any) -> str:
    if not isinstance(body, dict):
        raise FormatError(f"a form body must be an object of fields, got {type(body).__name__}")
    pairs: list[tuple[str, str]] = []
    _form_pairs(body, "", pairs)
    return urlencode(pairs)


# ---------------------------------------------------------------- xml


def _check_xml(value: Any, where: str) -> Any:
    """Names checked, scalars as text: xmltodict writes what it is given, valid or not."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            name = str(name)
            here = f"{where}.{name}" if where else name
            if name == "#text":
                if isinstance(item, dict | list):
                    raise FormatError(f"XML text at {here} must be a scalar")
                out[name] = _scalar_text(item)
                continue
            bare = name[1:] if name.startswith("@") else name
            problem = xml_name_problem(bare)
            if problem:
                raise FormatError(f"field {here}: {problem}")
            if name.startswith("@"):
                if isinstance(item, dict | list):
                    raise FormatError(f"XML attribute {here} must be a scalar, got {type(item).__name__}")
                out[name] = _scalar_text(item)
            else:
                out[name] = _check_xml(item, here)
        return out
    if isinstance(value, list):
        items = []
        for i, item in enumerate(value):
            if isinstance(item, list):
                raise FormatError(f"field {where}[{i}]: a list inside a list has no XML form (wrap it in an object)")
            items.append(_check_xml(item, f"{where}[{i}]"))
        return items
    return None if value is None else _scalar_text(value)


def _xml(body: Any, root: str) -> str:
    problem = xml_name_problem(root)
    if problem:
        raise FormatError(f"xml_root: {problem}")
    content = {"item": body} if isinstance(body, list) else body
    if not isinstance(content, dict):
        content = {"#text": content}
    return xmltodict.unparse({root: _check_xml(content, "")}, encoding="utf-8")


# ---------------------------------------------------------------- csv


def _flat_columns(rows: Iterable[dict[str, Any]]) -> list[tuple[str, ...]]:
    seen: dict[tuple[str, ...], None] = {}

    def walk(obj: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for name, value in obj.items():
            if isinstance(value, dict) and value:
                walk(value, (*prefix, str(name)))
            else:
                seen.setdefault((*prefix, str(name)))

    for row in rows:
        walk(row, ())
    return list(seen)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def _inert(text: str) -> str:
    """The cell as a spreadsheet will show it, never evaluate it (OWASP CSV injection)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _cell(row: dict[str, Any], column: Sequence[str]) -> str:
    value: Any = row
    for name in column:
        if not isinstance(value, dict) or name not in value:
            return ""
        value = value[name]
    return _inert(_scalar_text(value))


def _csv(body: Any, columns: Sequence[Sequence[str]] | None, header: bool) -> str:
    rows = body if isinstance(body, list) else [body]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise FormatError(f"a csv row must be an object, got {type(row).__name__}"
                              f"{f' at [{i}]' if isinstance(body, list) else ''}")
    cols = [tuple(c) for c in columns] if columns else _flat_columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow([_inert(".".join(c)) for c in cols])
    for row in rows:
        writer.writerow([_cell(row, c) for c in cols])
    return out.getvalue()


# ---------------------------------------------------------------- entry point


def serialize(body: Any, fmt: str = "json", *, xml_root: str = "root", csv_header: bool = True,
              columns: Sequence[Sequence[str]] | None = None) -> tuple[bytes, str, str]:
    """(bytes to send, Content-Type, text to record for `dlq replay --dry-run`)."""
    if fmt == "json":
        text = _json(body)
        return text.encode("utf-8"), CONTENT_TYPES[fmt], text
    record = _json(body)  # the DLQ keeps the mapped JSON, whatever went on the wire
    if fmt == "form":
        text = _form(body)
    elif fmt == "xml":
        text = _xml(body, xml_root)
    elif fmt == "csv":
        text = _csv(body, columns, csv_header)
    elif fmt == "ndjson":
        text = "".join(_json(item) + "\n" for item in (body if isinstance(body, list) else [body]))
    else:
        raise FormatError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return text.encode("utf-8"), CONTENT_TYPES[fmt], record
