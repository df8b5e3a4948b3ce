"""Field mapping: the `transform` of a route.

A transform is a mapping of *target field* -> *spec*. It is compiled once
(`compile_transform`, which validates the whole spec and reports every problem at once)
and applied to each event envelope (`Transform.apply`), producing the JSON object the
destination receives. Paths are JMESPath expressions over the envelope
`{"id", "source", "type", "received_at", "headers", "body"}`.

Spec language
-------------

**Target names.** The keys of the transform (and of every `fields:` mapping) are the
output field names; any string is allowed, including names such as `type`, `value` or
`path`. A dot nests: `customer.email: body.email` produces `{"customer": {"email": ...}}`,
and several dotted names with the same prefix build one object, in the order written.
Write `\\.` for a literal dot in a name (`"version\\.major"` -> key `version.major`). A
name may be defined only once: `customer` and `customer.email` side by side are an error.
Names must be strings (quote YAML's `on`, `yes`, `no` and numbers).

**Spec forms.** A spec is one of:

- `"body.issue.title"` — a string: a JMESPath expression. The field is the value found,
  or `null` when it is missing.
- `{path: EXPR, type: T, default: D, required: true|false, format: F}` — a path with
  options; only `path` is needed.
  - `type` converts the value (see *Types*); without it the value is copied as is.
  - `default` is used when the value is missing or `null` (a present `""`, `0` or
    `false` is kept). It is converted by `type` too, and checked when compiling; without
    `type` it must be JSON-compatible (with `type: datetime` an unquoted YAML date is fine).
  - `required: true` makes a missing value (with no default) a `MappingError`.
  - `format` (only with `type: datetime`) is a `strptime` pattern for the input.
- `{value: V}` — a constant: any JSON-compatible YAML value (quote dates: YAML reads an
  unquoted `2026-11-27` as a date, which is refused), copied into every result.
- `{template: "Issue #{body.issue.number}: {body.issue.title}", required: true|false}` —
  a string; each `{…}` is a JMESPath expression rendered like `type: string`; `{{` and
  `}}` are literal braces. A missing value renders as an empty string, or is a
  `MappingError` when `required: true`.
- `{fields: {name: spec, …}}` — a nested object; its keys follow the target-name rules.
- `{each: EXPR, fields: {name: spec, …}, default: [...], required: true|false}` — a list:
  one object per element of the list found at `each`. Inside `fields`, paths are relative
  to the element (`@` is the element itself). A single value that is not a list (an XML
  element that happened to appear once) is treated as a one-element list; a missing value
  gives `null`, the `default`, or a `MappingError` when `required`.
- `[spec, spec, …]` — a fixed list, one item per spec.

**Reserved keys.** A mapping used as a spec may contain only the reserved keys `path`,
`type`, `default`, `required`, `format`, `value`, `template`, `fields` and `each`, and
exactly one of `path`, `value`, `template`, `each` or `fields` (`each` takes `fields` as
its element shape). Any other key is an error — a mapping is never silently taken as a
nested object, so a typo such as `tpye: int` is reported (with a "did you mean"), and
nesting is always spelled with `fields:` or dotted names. Other scalars (`5`, `true`,
`null`) are not specs: write `{value: 5}`.

**The root `$`.** A path that is `$` or starts with `$.` (or `$[`) is evaluated against
the envelope root, wherever it appears (`$` is recognised only at the start of a path).
Inside `each` this reaches outside the element (e.g. `$.headers."x-shop-domain"`, `$.id`);
at the top level `$.body.x` and `body.x` are the same.

**Types.**

- `string`: strings as is; booleans as `true`/`false`; integers; floats (a whole float below
  2**53 renders without `.0`: `42.0` -> `"42"`); objects and lists as compact JSON. Never fails.
- `int`: integers; whole floats (`3.0`); numeric strings with a whole value (`"42"`, `" 7 "`,
  `"12.0"`, `"1e3"`). Fails on booleans (a bool is never silently an int), fractions,
  other strings, objects and lists.
- `float`: integers, floats, numeric strings (`"19.99"`, `"-1e-3"`). Fails on booleans,
  NaN/Infinity, other strings, objects and lists.
- `bool`: booleans; the numbers `0` and `1`; the strings `true/false`, `yes/no`, `on/off`,
  `1/0` (any case, surrounding blanks ignored). Fails on anything else.
- `datetime`: ISO-8601 strings (`2026-11-27T12:00:00Z`, `+02:00` offsets, plain dates);
  RFC 2822 / HTTP dates (`Fri, 27 Nov 2026 12:00:00 GMT`); epoch numbers or numeric
  strings, read as seconds, or as milliseconds when the magnitude is at least
  100,000,000,000; with `format`, a string (or integer) parsed by that `strptime` pattern
  (and nothing else). Fails on booleans, other values and out-of-range dates.

`datetime` always produces an ISO-8601 UTC string ending in `Z`: `2026-11-27T12:00:00Z`,
with `.123` or `.123456` only when there are fractional seconds. An input without a
timezone is taken as UTC.

**Errors.** `compile_transform` raises `MappingSpecError` whose `problems` lists every
`(location, message)` — invalid JMESPath (naming the expression), unknown types, bad spec
shapes, unbalanced template braces, `each` without `fields`, defaults that cannot be
converted, conflicting targets. The location is the position inside the transform as
written (`customer.email`, `items[0]`, `lines.fields.qty.type`).

`Transform.apply` raises `MappingError` for the event: a permanent failure (the event goes
to the DLQ). It names the full target field (`items[2].qty`), the path the value came
from and the value's type, e.g. `field 'amount': cannot cast str value 'abc' from
body.total to int (not a number)` or `field 'email': required value missing at
body.customer.email`.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from jmespath.exceptions import IncompleteExpressionError, JMESPathError, LexerError, ParseError

from hookline.expressions import compile_expression

__all__ = [
    "RESERVED_KEYS",
    "TYPES",
    "MappingError",
    "MappingSpecError",
    "Transform",
    "compile_transform",
    "render",
]

RESERVED_KEYS = ("path", "type", "default", "required", "format", "value", "template", "fields", "each")
TYPES = ("string", "int", "float", "bool", "datetime")
# The keys that say what kind of spec a mapping is, and the options each kind accepts.
_KINDS = ("path", "value", "template", "each", "fields")
_OPTIONS = {
    "path": ("type", "default", "required", "format"),
    "value": (),
    "template": ("required",),
    "each": ("fields", "default", "required"),
    "fields": (),
}
_TYPE_ALIASES = {
    "str": "string", "text": "string", "integer": "int", "number": "float", "double": "float",
    "decimal": "float", "boolean": "bool", "date": "datetime", "date-time": "datetime",
    "timestamp": "datetime", "time": "datetime",
}
_MAX_DEPTH = 32
# Epoch numbers at least this large are milliseconds (1e11 s is the year 5138).
_EPOCH_MS_THRESHOLD = 100_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_DOT = re.compile(r"(?<!\\)\.")


# ---------------------------------------------------------------- errors


class MappingSpecError(Exception):
    """The transform itself is invalid. `problems` lists every (location, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {loc or '<transform>'}: {msg}" for loc, msg in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in transform:\n{lines}")


class MappingError(Exception):
    """One event could not be mapped: a permanent failure (retrying cannot fix it)."""

    permanent = True

    def __init__(self, field: str, reason: str, *, path: str | None = None,
                 value_type: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.path = path
        self.value_type = value_type
        super().__init__(f"field {field!r}: {reason}")


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


def _iso(moment: datetime) -> str:
    text = moment.replace(microsecond=0, tzinfo=None).isoformat()
    micro = moment.microsecond
    if micro and micro % 1000 == 0:
        text += f".{micro // 1000:03d}"
    elif micro:
        text += f".{micro:06d}"
    return text + "Z"


def _cast_datetime(value: Any, fmt: str | None = None) -> str:
    return _iso(_to_datetime(value, fmt))


_CASTS: dict[str, Callable[[Any, str | None], Any]] = {
    "string": _cast_string,
    "int": _cast_int,
    "float": _cast_float,
    "bool": _cast_bool,
    "datetime": _cast_datetime,
}


# ---------------------------------------------------------------- compiled nodes


@dataclass(frozen=True)
class _Scope:
    """Where paths are evaluated: `current` for relative paths, `root` for `$` paths.

    `base` is how the current element is named in messages (e.g. 'body.items[2]'),
    None at the top level.
    """

    root: Any
    current: Any
    base: str | None = None


@dataclass(frozen=True)
class _Path:
    source: str  # as written, e.g. '$.headers.x' or 'quantity'
    expression: Any  # compiled JMESPath
    from_root: bool

    def describe(self, scope: _Scope) -> str:
        """The path as shown in error messages, e.g. 'body.line_items[2].quantity'."""
        if self.from_root or scope.base is None:
            return self.source
        rel = self.source.strip()
        if rel == "@":
            return scope.base
        if rel.startswith("@."):
            rel = rel[2:]
        return scope.base + rel if rel.startswith("[") else f"{scope.base}.{rel}"

    def search(self, scope: _Scope, field: str) -> Any:
        try:
            return self.expression.search(scope.root if self.from_root else scope.current)
        except JMESPathError as e:
            where = self.describe(scope)
            raise MappingError(field, f"JMESPath expression {where!r} failed: {str(e).splitlines()[0]}",
                               path=where) from None


class _Node:
    def apply(self, scope: _Scope, field: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class _PathNode(_Node):
    path: _Path
    type: str | None = None
    format: str | None = None
    default: Any = None
    required: bool = False

    def apply(self, scope: _Scope, field: str) -> Any:
        value = self.path.search(scope, field)
        if value is None:
            if self.default is not None:
                return copy.deepcopy(self.default)
            if self.required:
                where = self.path.describe(scope)
                raise MappingError(field, f"required value missing at {where}", path=where)
            return None
        if self.type is None:
            return value
        try:
            return _CASTS[self.type](value, self.format)
        except _CastError as e:
            where = self.path.describe(scope)
            detail = f" ({e})" if str(e) else ""
            raise MappingError(
                field,
                f"cannot cast {_type_name(value)} value {_preview(value)} from {where} to {self.type}{detail}",
                path=where, value_type=_type_name(value)) from None


@dataclass(frozen=True)
class _ValueNode(_Node):
    value: Any

    def apply(self, scope: _Scope, field: str) -> Any:
        return copy.deepcopy(self.value)


@dataclass(frozen=True)
class _TemplateNode(_Node):
    parts: tuple[str | _Path, ...]
    required: bool = False

    def apply(self, scope: _Scope, field: str) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.search(scope, field)
            if value is None:
                if self.required:
                    where = part.describe(scope)
                    raise MappingError(field, f"required value missing at {where} (template placeholder)",
                                       path=where)
                continue
            out.append(_to_string(value))
        return "".join(out)


@dataclass(frozen=True)
class _ObjectNode(_Node):
    fields: tuple[tuple[str, _Node], ...]

    def apply(self, scope: _Scope, field: str) -> dict[str, Any]:
        return {name: node.apply(scope, f"{field}.{name}" if field else name) for name, node in self.fields}


@dataclass(frozen=True)
class _EachNode(_Node):
    path: _Path
    item: _ObjectNode
    default: Any = None
    required: bool = False

    def apply(self, scope: _Scope, field: str) -> list[Any] | None:
        value = self.path.search(scope, field)
        if value is None:
            if self.default is not None:
                return copy.deepcopy(self.default)
            if self.required:
                where = self.path.describe(scope)
                raise MappingError(field, f"required list missing at {where}", path=where)
            return None
        elements = value if isinstance(value, list) else [value]
        where = self.path.describe(scope)
        return [
            self.item.apply(_Scope(scope.root, element, f"{where}[{i}]"), f"{field}[{i}]")
            for i, element in enumerate(elements)
        ]


@dataclass(frozen=True)
class _ListNode(_Node):
    items: tuple[_Node, ...]

    def apply(self, scope: _Scope, field: str) -> list[Any]:
        return [node.apply(scope, f"{field}[{i}]") for i, node in enumerate(self.items)]


class Transform:
    """A compiled transform: `apply(envelope)` -> the mapped body."""

    def __init__(self, root: _ObjectNode, spec: Mapping[str, Any]) -> None:
        self._root = root
        self.spec = spec

    @property
    def targets(self) -> list[str]:
        """The top-level output field names, in order."""
        return [name for name, _ in self._root.fields]

    def apply(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Map one event envelope; raises MappingError (permanent) when it cannot."""
        return self._root.apply(_Scope(root=envelope, current=envelope), "")

    def __repr__(self) -> str:
        return f"Transform(targets={self.targets!r})"


# ---------------------------------------------------------------- compiler


def _loc(parent: str, key: object) -> str:
    return f"{parent}.{key}" if parent else str(key)


def _jmespath_detail(e: JMESPathError) -> str:
    if isinstance(e, IncompleteExpressionError):
        return "incomplete expression"
    if isinstance(e, LexerError):
        return f"{e.message} (column {e.lexer_position})"
    if type(e) is ParseError:
        return f"{e.msg} (column {e.lex_position})"
    return str(e).splitlines()[0]


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Leaf:
    """A target defined by a spec, while a field map is being assembled."""

    def __init__(self, node: _Node | None, key: str) -> None:
        self.node = node
        self.key = key


class _Branch:
    """An object implied by dotted target names (`customer.email`, `customer.name`)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.children: dict[str, _Leaf | _Branch] = {}

    def build(self) -> _ObjectNode:
        fields = []
        for name, child in self.children.items():
            node = child.build() if isinstance(child, _Branch) else child.node
            if node is not None:
                fields.append((name, node))
        return _ObjectNode(tuple(fields))


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, loc: str, message: str) -> None:
        self.problems.append((loc, message))

    # -- paths and templates

    def path(self, source: Any, loc: str) -> _Path | None:
        if not isinstance(source, str) or not source.strip():
            self.problem(loc, f"a path must be a non-empty JMESPath string, got {_type_name(source)} "
                              f"{_preview(source)}")
            return None
        expr, from_root = source.strip(), False
        if expr == "$":
            expr, from_root = "@", True
        elif expr.startswith("$."):
            expr, from_root = expr[2:], True
        elif expr.startswith("$["):
            expr, from_root = "@" + expr[1:], True
        try:
            compiled = compile_expression(expr)  # shared with the config checks: parsed once per process
        except JMESPathError as e:
            hint = " ('$' is recognised only at the start of a path: '$' or '$.body...')" if "$" in expr else ""
            self.problem(loc, f"invalid JMESPath expression {source!r}: {_jmespath_detail(e)}{hint}")
            return None
        return _Path(source, compiled, from_root)

    def template(self, source: Any, loc: str) -> tuple[str | _Path, ...] | None:
        if not isinstance(source, str):
            self.problem(loc, f"a template must be a string, got {_type_name(source)}")
            return None
        parts: list[str | _Path] = []
        literal: list[str] = []
        ok = True
        i, n = 0, len(source)
        while i < n:
            char = source[i]
            if char == "{" and source.startswith("{{", i):
                literal.append("{")
                i += 2
            elif char == "}" and source.startswith("}}", i):
                literal.append("}")
                i += 2
            elif char == "}":
                self.problem(loc, f"unbalanced '}}' at position {i} in template {source!r} "
                                  "(write '}}' for a literal brace)")
                ok = False
                i += 1
            elif char == "{":
                end = _placeholder_end(source, i + 1)
                if end < 0:
                    self.problem(loc, f"unbalanced '{{' at position {i} in template {source!r} "
                                      "(close it with '}', or write '{{' for a literal brace)")
                    return None
                expr = source[i + 1:end]
                if not expr.strip():
                    self.problem(loc, f"empty placeholder '{{}}' at position {i} in template {source!r}")
                    ok = False
                else:
                    path = self.path(expr.strip(), loc)
                    ok = ok and path is not None
                    if literal:
                        parts.append("".join(literal))
                        literal = []
                    if path is not None:
                        parts.append(path)
                i = end + 1
            else:
                literal.append(char)
                i += 1
        if literal:
            parts.append("".join(literal))
        return tuple(parts) if ok else None

    # -- specs

    def spec(self, spec: Any, loc: str, depth: int) -> _Node | None:
        if depth > _MAX_DEPTH:
            self.problem(loc, f"nested more than {_MAX_DEPTH} levels deep")
            return None
        if isinstance(spec, str):
            path = self.path(spec, loc)
            return _PathNode(path) if path else None
        if isinstance(spec, Mapping):
            return self.mapping_spec(spec, loc, depth)
        if isinstance(spec, list):
            if not spec:
                self.problem(loc, "an empty list: for a constant empty list write {value: []}")
                return None
            items = [self.spec(item, f"{loc}[{i}]", depth + 1) for i, item in enumerate(spec)]
            return _ListNode(tuple(items)) if all(item is not None for item in items) else None  # type: ignore[arg-type]
        if spec is None:
            self.problem(loc, "no spec given: write a JMESPath string, a mapping, or {value: null} for a constant null")
        elif _not_json(spec):
            self.problem(loc, f"expected a JMESPath string, a mapping or a list, got {_type_name(spec)} "
                              f"{_preview(spec)} (quote it in YAML)")
        else:
            self.problem(loc, f"expected a JMESPath string, a mapping or a list, got {_type_name(spec)} "
                              f"{spec!r}: for a constant write {{value: {json.dumps(spec)}}}")
        return None

    def mapping_spec(self, spec: Mapping[Any, Any], loc: str, depth: int) -> _Node | None:
        if not spec:
            self.problem(loc, "an empty mapping: give one of path, value, template, each or fields")
            return None
        ok = True
        for key in spec:
            if key in RESERVED_KEYS:
                continue
            ok = False
            hint = _did_you_mean(str(key), RESERVED_KEYS)
            if not hint:
                hint = (f" (a spec may only use {', '.join(RESERVED_KEYS)}; to build a nested object put its "
                        f"fields under 'fields:' or use dotted target names such as 'customer.email')")
            self.problem(_loc(loc, key), f"unknown key {key!r} in a field spec{hint}")

        kinds = [k for k in _KINDS if k in spec and not (k == "fields" and "each" in spec)]
        if len(kinds) > 1:
            self.problem(loc, f"{' and '.join(kinds)} cannot be combined: a spec is either a path, a constant "
                              "value, a template, a list (each) or an object (fields)")
            return None
        if not kinds:
            self.problem(loc, "a spec needs one of path, value, template, each or fields")
            return None
        kind = kinds[0]
        for key in spec:
            if key in RESERVED_KEYS and key != kind and key not in _OPTIONS[kind]:
                allowed = ", ".join(_OPTIONS[kind]) or "nothing else"
                article = "an" if kind == "each" else "a"
                self.problem(_loc(loc, key),
                             f"{key!r} does not apply to {article} {kind} spec (with {kind}: {allowed})")
                ok = False

        required = spec.get("required", False)
        if not isinstance(required, bool):
            self.problem(_loc(loc, "required"), f"must be true or false, got {_preview(required)}")
            ok = False

        node: _Node | None
        if kind == "path":
            node = self.path_spec(spec, loc, bool(required))
        elif kind == "value":
            why = _not_json(spec["value"])
            if why:
                self.problem(_loc(loc, "value"), f"a constant must be JSON: {why}")
            node = _ValueNode(copy.deepcopy(spec["value"])) if not why else None
        elif kind == "template":
            parts = self.template(spec["template"], _loc(loc, "template"))
            node = _TemplateNode(parts, bool(required)) if parts is not None else None
        elif kind == "fields":
            node = self.field_map(spec["fields"], _loc(loc, "fields"), depth + 1)
        else:
            node = self.each_spec(spec, loc, bool(required), depth)
        return node if ok else None

    def path_spec(self, spec: Mapping[str, Any], loc: str, required: bool) -> _Node | None:
        path = self.path(spec["path"], _loc(loc, "path"))
        type_name = spec.get("type")
        fmt = spec.get("format")
        ok = path is not None
        if type_name is not None and type_name not in TYPES:
            guess = _TYPE_ALIASES.get(str(type_name).lower())
            hint = f" (did you mean {guess!r}?)" if guess else _did_you_mean(str(type_name), TYPES)
            self.problem(_loc(loc, "type"), f"unknown type {type_name!r}{hint}; known types: {', '.join(TYPES)}")
            type_name, ok = None, False
        if fmt is not None:
            if spec.get("type") != "datetime":
                self.problem(_loc(loc, "format"), "format applies only to type: datetime")
                ok = False
            elif not isinstance(fmt, str) or "%" not in fmt:
                self.problem(_loc(loc, "format"),
                             f"expected a strptime pattern such as '%d/%m/%Y %H:%M', got {_preview(fmt)}")
                fmt, ok = None, False
        default = spec.get("default")
        if default is not None and type_name is None and _not_json(default):
            self.problem(_loc(loc, "default"), f"a default must be JSON: {_not_json(default)}")
            ok = False
        elif default is not None and type_name is not None:
            try:
                default = _CASTS[type_name](default, fmt)
            except _CastError as e:
                detail = f" ({e})" if str(e) else ""
                self.problem(_loc(loc, "default"),
                             f"default {_preview(default)} cannot be cast to {type_name}{detail}")
                ok = False
        if not ok or path is None:
            return None
        return _PathNode(path, type_name, fmt if isinstance(fmt, str) else None, copy.deepcopy(default), required)

    def each_spec(self, spec: Mapping[str, Any], loc: str, required: bool, depth: int) -> _Node | None:
        path = self.path(spec["each"], _loc(loc, "each"))
        default = spec.get("default")
        ok = path is not None
        if default is not None and not isinstance(default, list):
            self.problem(_loc(loc, "default"), f"the default of an each spec must be a list, got {_type_name(default)}")
            ok = False
        elif default is not None and _not_json(default):
            self.problem(_loc(loc, "default"), f"a default must be JSON: {_not_json(default)}")
            ok = False
        if "fields" not in spec:
            self.problem(loc, "each needs fields: the mapping applied to every element "
                              "(paths inside are relative to the element)")
            return None
        item = self.field_map(spec["fields"], _loc(loc, "fields"), depth + 1)
        if not ok or item is None or path is None:
            return None
        return _EachNode(path, item, copy.deepcopy(default), required)

    # -- field maps (the transform itself and every `fields:`)

    def field_map(self, fields: Any, loc: str, depth: int) -> _ObjectNode | None:
        if not isinstance(fields, Mapping):
            self.problem(loc, f"expected a mapping of target field -> spec, got {_type_name(fields)}")
            return None
        if not fields:
            self.problem(loc, "no target fields: list at least one (for a constant empty object write "
                              "{value: {}})")
            return None
        before = len(self.problems)
        root = _Branch("")
        for key, spec in fields.items():
            key_loc = _loc(loc, key)
            if not isinstance(key, str):
                self.problem(key_loc, f"target names must be strings, got {_type_name(key)} {key!r} "
                                      "(quote it: YAML reads on/off/yes/no as booleans)")
                continue
            names = self.target_names(key, key_loc)
            node = self.spec(spec, key_loc, depth + 1)
            if names is not None:
                self.place(root, names, _Leaf(node, key), key_loc)
        if len(self.problems) > before:
            return None
        return root.build()

    def target_names(self, key: str, loc: str) -> list[str] | None:
        names = [part.replace("\\.", ".") for part in _DOT.split(key)]
        if any(not name for name in names):
            self.problem(loc, f"target name {key!r} has an empty part (write '\\.' for a literal dot)")
            return None
        return names

    def place(self, root: _Branch, names: list[str], leaf: _Leaf, loc: str) -> None:
        branch = root
        for depth, name in enumerate(names[:-1]):
            child = branch.children.get(name)
            if child is None:
                child = branch.children[name] = _Branch(".".join(names[: depth + 1]))
            elif isinstance(child, _Leaf):
                self.problem(loc, f"target {leaf.key!r} conflicts with {child.key!r}, which is already a value "
                                  "(a target is either a value or an object of dotted fields)")
                return
            branch = child
        existing = branch.children.get(names[-1])
        if existing is not None:
            what = "an object of dotted fields" if isinstance(existing, _Branch) else "defined"
            self.problem(loc, f"target {leaf.key!r} conflicts with {existing.key!r}, which is already {what}")
            return
        branch.children[names[-1]] = leaf


def _placeholder_end(text: str, start: int) -> int:
    """Index of the '}' closing a template placeholder that starts at `start`, or -1.

    Braces inside the JMESPath expression (multi-select hashes, JSON literals, quoted
    strings) are skipped, so `{ {a: body.a} }` and `{body."x}"}` work.
    """
    depth, quote, i = 0, "", start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"`":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


def compile_transform(spec: Mapping[str, Any]) -> Transform:
    """Validate and compile a transform; raises MappingSpecError listing every problem."""
    compiler = _Compiler()
    if not isinstance(spec, Mapping):
        raise MappingSpecError([("", f"a transform must be a mapping of target field -> spec, "
                                     f"got {_type_name(spec)}")])
    root = compiler.field_map(spec, "", 0)
    if compiler.problems or root is None:
        raise MappingSpecError(compiler.problems)
    return Transform(root, spec)


_CACHE: dict[str, Transform] = {}
_CACHE_SIZE = 256


def render(spec: Mapping[str, Any] | Transform | None, envelope: Mapping[str, Any]) -> Any:
    """The body a destination receives: the original body without a transform, else the mapping.

    Compiled transforms are cached by their spec, so calling this per event is cheap.
    """
    if spec is None:
        return envelope.get("body")
    if isinstance(spec, Transform):
        return spec.apply(envelope)
    key = repr(spec)
    transform = _CACHE.get(key)
    if transform is None:
        transform = compile_transform(spec)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = transform
    return transform.apply(envelope)
