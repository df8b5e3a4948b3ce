"""Raw webhook bodies -> the event envelope that `when` and `transform` see.

`parse_body` turns the bytes a sender posted into a Python value according to the
source's `format`:

- `json`: the decoded JSON value. Strict: NaN / Infinity are refused; UTF-8/16/32 and a
  BOM are accepted. Anything else, including an empty body, raises `BodyParseError`; so does
  JSON nested deeper than MAX_JSON_DEPTH (arrays and objects).
- `form`: `application/x-www-form-urlencoded` -> `dict[str, str]`; a repeated key becomes a
  `list` of its values in order; blank values are kept as `""`; an empty body is `{}`.
  Decoded with the Content-Type charset (default UTF-8).
- `xml`: a `dict` via xmltodict. The root element is the single top key, attributes are
  `@name`, text next to attributes or children is `#text`, an empty element is `None`, a
  repeated element is a `list` (a single one is not: map it with `each`, which accepts both);
  namespace prefixes are kept as written (`soap:Envelope`). Parsing is defused: entity
  declarations (billion laughs, XXE), external DTDs and external references are refused with
  `BodyParseError`, never expanded or fetched. A bare `<!DOCTYPE root>` is allowed. Documents
  nested deeper than MAX_XML_DEPTH or with more than MAX_XML_ELEMENTS elements are refused too.
  The parser is core/xml_body.py, loaded by the first XML body only.
- `text`: a `str` decoded with the Content-Type charset (default UTF-8); undecodable bytes
  become U+FFFD; an empty body is `""`.
- `auto`: chosen by Content-Type: `*/json` or `*+json` -> json,
  `application/x-www-form-urlencoded` -> form, `*/xml` or `*+xml` -> xml, anything else ->
  text. With no Content-Type (or `text/plain`, `application/octet-stream`) a body that looks
  like JSON (first non-blank byte `{` or `[`) is parsed as JSON when it is valid JSON and
  otherwise stays text. An empty body is `""` whatever the Content-Type. A body that does
  not match its declared Content-Type raises `BodyParseError`.

`build_envelope` assembles `{"id", "source", "type", "received_at", "headers", "body"}`
with `received_at` as an ISO-8601 UTC string with milliseconds (`2026-11-27T12:00:00.123Z`)
and header names lower-cased (repeated names, differing only in case, are joined with ", ").
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from hookline.core.depth import deeper_than

__all__ = ["FORMATS", "MAX_JSON_DEPTH", "BodyParseError", "build_envelope", "format_timestamp", "parse_body"]

FORMATS = ("json", "form", "xml", "text", "auto")
# A form body with more fields than this is refused rather than parsed (hash-flooding guard).
MAX_FORM_FIELDS = 10_000
# XML deeper or larger than this is refused: deep nesting breaks json.dumps and mapping (RecursionError)
# and element floods cost seconds of parsing; real webhook XML (SOAP, cXML) stays far below both.
MAX_XML_DEPTH = 100
MAX_XML_ELEMENTS = 100_000
# The same for JSON: 6 KB of brackets nest 3,000 deep, which the C decoder accepts and every recursive
# reader after it (redaction, mapping, the console) does not.
MAX_JSON_DEPTH = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BodyParseError(Exception):
    """The body does not match the format the source declares; the message says why."""


# ---------------------------------------------------------------- content type


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    """'Application/JSON; charset=UTF-8' -> ('application/json', 'utf-8')."""
    if not content_type:
        return "", None
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _codec(charset: str | None) -> str:
    """A usable codec name for `charset`, UTF-8 when it is absent or unknown."""
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


def _is_json_type(media: str) -> bool:
    return media.endswith("/json") or media.endswith("+json")


def _is_xml_type(media: str) -> bool:
    return media.endswith("/xml") or media.endswith("+xml")


# ---------------------------------------------------------------- parsers


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(raw: bytes, max_depth: int | None = MAX_JSON_DEPTH) -> Any:
    if not raw.strip():
        raise BodyParseError("body is not valid JSON: the body is empty")
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise BodyParseError(f"body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError as e:
        raise BodyParseError(f"body is not valid JSON: not UTF-8 ({e.reason} at byte {e.start})") from None
    except RecursionError:  # the decoder's own limit, thousands of levels
        raise BodyParseError(_too_deep(max_depth)) from None
    except ValueError as e:
        raise BodyParseError(f"body is not valid JSON: {e}") from None
    # Each level needs a bracket: a body with no more brackets than the limit needs no walk (most do not).
    if (max_depth is not None and isinstance(value, dict | list)
            and raw.count(b"[") + raw.count(b"{") > max_depth and deeper_than(value, max_depth)):
        raise BodyParseError(_too_deep(max_depth))
    return value


def _too_deep(max_depth: int | None) -> str:
    limit = f"{max_depth} levels" if max_depth is not None else "what Python's JSON decoder reads"
    return f"body is not accepted as JSON: arrays and objects nested deeper than {limit}; send a flatter document"


def _parse_form(raw: bytes, charset: str | None) -> dict[str, str | list[str]]:
    codec = _codec(charset)
    text = raw.decode(codec, errors="replace")
    try:
        # The charset applies to percent-escapes too: %FC is ü in ISO-8859-1.
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                          encoding=codec, errors="replace")
    except ValueError as e:
        raise BodyParseError(f"body is not a valid form: {e}") from None
    out: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)  # type: ignore[union-attr]
        else:
            out[key] = [out[key], value]  # type: ignore[list-item]
    return out


def _parse_xml(raw: bytes) -> Any:
    if not raw.strip():
        raise BodyParseError("body is not valid XML: the body is empty")
    # lazy: only XML bodies load it: xmltodict (with xml.sax) and defusedxml were ~2 ms of every ingress
    # cold start, JSON sources included (python -X importtime).
    from hookline.core.xml_body import XmlRefused, parse_xml

    try:
        return parse_xml(raw, max_depth=MAX_XML_DEPTH, max_elements=MAX_XML_ELEMENTS)
    except XmlRefused as e:
        raise BodyParseError(str(e)) from None


def _parse_text(raw: bytes, charset: str | None) -> str:
    return raw.decode(_codec(charset), errors="replace")


_JSON_START = re.compile(rb"^\s*[\[{]")


def parse_body(raw: bytes, content_type: str | None, fmt: str, *,
               max_json_depth: int | None = MAX_JSON_DEPTH) -> object:
    """Parse a webhook body according to the source's `format` (see the module docstring).

    `max_json_depth=None`: no cap of ours, for reading a body stored before the cap (a DLQ entry), whose
    readers are depth-safe."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    media, charset = _media_type(content_type)
    if fmt == "json":
        return _parse_json(raw, max_json_depth)
    if fmt == "form":
        return _parse_form(raw, charset)
    if fmt == "xml":
        return _parse_xml(raw)
    if fmt == "text":
        return _parse_text(raw, charset)
    if fmt != "auto":
        raise ValueError(f"unknown body format {fmt!r} (expected one of {', '.join(FORMATS)})")

    if not raw.strip():
        return ""
    if _is_json_type(media):
        return _parse_json(raw, max_json_depth)
    if media == "application/x-www-form-urlencoded":
        return _parse_form(raw, charset)
    if _is_xml_type(media):
        return _parse_xml(raw)
    if media in ("", "text/plain", "application/octet-stream") and _JSON_START.match(raw):
        try:
            return _parse_json(raw, max_json_depth)
        except BodyParseError:
            pass
    return _parse_text(raw, charset)


# ---------------------------------------------------------------- envelope


def format_timestamp(epoch_seconds: float) -> str:
    """Epoch seconds -> '2026-11-27T12:00:00.123Z' (UTC, millisecond precision)."""
    # Round to whole milliseconds first: 0.123 as a float is 0.12299999..., not .122.
    moment = _EPOCH + timedelta(milliseconds=round(epoch_seconds * 1000))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        key = str(name).lower()
        text = "" if value is None else str(value)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def build_envelope(*, event_id: str, source: str, type: str | None, received_at: float,
                   headers: Mapping[str, str] | None, body: object) -> dict[str, Any]:
    """The event as `when` and `transform` see it."""
    return {
        "id": event_id,
        "source": source,
        "type": type,
        "received_at": format_timestamp(received_at),
        "headers": _lower_headers(headers),
        "body": body,
    }
