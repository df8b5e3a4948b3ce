"""What a provider signs, as a template: literal text and placeholders, compiled once, rendered per request.

Placeholders: {body} {timestamp} {id} {url} {method} {form_sorted} {header:Name} {field:JMESPATH};
{{ and }} are literal braces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

import jmespath

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z_]+)(?::([^{}]+))?\}|[{}]")
SIMPLE = ("body", "timestamp", "id", "url", "method", "form_sorted")
WITH_ARGUMENT = ("header", "field")


class Missing(Exception):
    """A value the template needs is not in the request (the message says which, for a SignatureError)."""


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[tuple[str, Any], ...]  # ("text", bytes) | (placeholder, argument)

    @cached_property
    def _kinds(self) -> frozenset[str]:
        return frozenset(kind for kind, _ in self.parts)

    def uses(self, name: str) -> bool:
        return name in self._kinds  # asked several times per request: a set, built once per entry

    def render(self, values: Values) -> bytes:
        if len(self.parts) == 1 and self.parts[0][0] == "body":
            return values.body  # the common case (GitHub, Shopify ...): no copy
        return b"".join(arg if kind == "text" else values.get(kind, arg) for kind, arg in self.parts)


def compile_template(text: str) -> Template:
    parts: list[tuple[str, Any]] = []
    literal: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        literal.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        name, arg = m.group(1), m.group(2)
        if name is None:
            raise ValueError(f"unbalanced brace at character {m.start()} (write {{{{ or }}}} for a literal one)")
        if name in SIMPLE and arg is None:
            argument: Any = None
        elif name in WITH_ARGUMENT and arg:
            argument = arg.lower() if name == "header" else _jmespath(arg)
        else:
            known = ", ".join([f"{{{n}}}" for n in SIMPLE] + ["{header:Name}", "{field:JMESPATH}"])
            raise ValueError(f"unknown placeholder {token} (known: {known})")
        if "".join(literal):  # no empty text part: "{body}" alone stays render's no-copy case
            parts.append(("text", "".join(literal).encode()))
        literal = []
        parts.append((name, (arg, argument) if name == "field" else argument))
    literal.append(text[pos:])
    if "".join(literal):
        parts.append(("text", "".join(literal).encode()))
    return Template(text, tuple(parts))


def _jmespath(expr: str) -> Any:
    try:
        return jmespath.compile(expr)
    except Exception as e:  # jmespath raises several kinds of parse errors
        raise ValueError(f"{{field:{expr}}} is not a valid JMESPath expression: {e}") from None


def text_of(value: object) -> str | None:
    """A scalar body value as text (numbers as written in JSON), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


class Values:
    """One request's values for a template; the body is parsed only if a placeholder needs it."""

    def __init__(self, body: bytes, headers: dict[str, str], *, method: str = "POST", url: str | None = None,
                 timestamp: str | None = None, event_id: str | None = None,
                 parsed: Callable[[], object] | None = None) -> None:
        self.body = body
        self.headers = headers
        self.method = method
        self.url = url
        self.timestamp = timestamp
        self.event_id = event_id
        self._parsed = parsed

    def get(self, kind: str, arg: Any) -> bytes:
        if kind == "body":
            return self.body
        if kind == "timestamp":
            return _need(self.timestamp, "timestamp").encode()
        if kind == "id":
            return _need(self.event_id, "event id").encode()
        if kind == "method":
            return self.method.upper().encode()
        if kind == "url":
            return _need(self.url, "public URL (set the source's public_url)").encode()
        if kind == "header":
            return _need(self.headers.get(arg), f"header {arg}").encode()
        if kind == "form_sorted":
            return form_sorted(self.body).encode()
        if kind == "field":
            expr, compiled = arg
            value = text_of(compiled.search(self._parsed() if self._parsed else None))
            return _need(value, f"body field {expr}").encode()
        raise AssertionError(kind)


def _need(value: str | None, what: str) -> str:
    if value is None or value == "":
        raise Missing(f"missing {what}")
    return value


def form_sorted(body: bytes) -> str:
    """Twilio's way: form parameters by name, each name followed by its value, every value of a repeated name
    in order (https://www.twilio.com/docs/usage/webhooks/webhooks-security)."""
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    grouped: dict[str, set[str]] = {}
    for k, v in pairs:
        grouped.setdefault(k, set()).add(v)
    return "".join(k + v for k in sorted(grouped) for v in sorted(grouped[k]))


def parse_body(body: bytes) -> object:
    """JSON, else form parameters (first value of each), else None: what {field:...} and paths search."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return None
    form: dict[str, str] = {}
    for k, v in pairs:
        form.setdefault(k, v)
    return form
