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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jmespath.exceptions import IncompleteExpressionError, JMESPathError, LexerError, ParseError

from hookline.core.expressions import compile_expression
from hookline.mapping import templates
from hookline.mapping.casts import _CASTS, _CastError, _not_json, _preview, _to_datetime, _type_name
from hookline.mapping.dates import DateOutput, date_output
from hookline.mapping.errors import MappingError, MappingSpecError
from hookline.mapping.jsonata import JsonataSyntaxError, compile_jsonata
from hookline.mapping.lookup import LookupTable, LookupTableError, load_lookup_file, table_from_mapping
from hookline.mapping.nodes import (
    Transform,
    _Conditional,
    _EachNode,
    _JsonataPath,
    _ListNode,
    _Node,
    _ObjectNode,
    _OmitNull,
    _Path,
    _PathNode,
    _TemplateNode,
    _ValueNode,
)

__all__ = [
    "RESERVED_KEYS",
    "TYPES",
    "MappingError",
    "MappingSpecError",
    "Transform",
    "compile_transform",
    "render",
]

RESERVED_KEYS = ("path", "type", "default", "required", "format", "value", "template", "fields", "each",
                 "jsonata", "lookup", "lookup_file", "output_format", "timezone", "when", "omit_null")
TYPES = ("string", "int", "float", "bool", "datetime")
# The keys that say what kind of spec a mapping is, and the options each kind accepts
# (besides `when` and `omit_null`, which every kind accepts).
_KINDS = ("path", "jsonata", "value", "template", "each", "fields")
_VALUE_OPTIONS = ("type", "default", "required", "format", "lookup", "lookup_file", "output_format", "timezone")
_OPTIONS = {
    "path": _VALUE_OPTIONS,
    "jsonata": _VALUE_OPTIONS,
    "value": (),
    "template": ("required",),
    "each": ("fields", "default", "required"),
    "fields": (),
}
_EVERY_KIND = ("when", "omit_null")
_TYPE_ALIASES = {
    "str": "string", "text": "string", "integer": "int", "number": "float", "double": "float",
    "decimal": "float", "boolean": "bool", "date": "datetime", "date-time": "datetime",
    "timestamp": "datetime", "time": "datetime",
}
_MAX_DEPTH = 32
_DOT = re.compile(r"(?<!\\)\.")



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
    def __init__(self, base_dir: Path | None = None, omit_null: bool = False) -> None:
        self.problems: list[tuple[str, str]] = []
        self.base_dir = base_dir  # lookup files are relative to the configuration file
        self.omit_null = omit_null  # the transform-wide default

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
        return templates.parse(source, lambda expr: self.path(expr, loc), lambda msg: self.problem(loc, msg))

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

    def jsonata(self, source: Any, loc: str) -> _JsonataPath | None:
        if not isinstance(source, str) or not source.strip():
            self.problem(loc, f"a jsonata spec needs a non-empty JSONata expression string, got {_type_name(source)} "
                              f"{_preview(source)}")
            return None
        try:
            return _JsonataPath(compile_jsonata(source))
        except JsonataSyntaxError as e:
            self.problem(loc, f"invalid JSONata expression {source!r}: {e}")
            return None

    def mapping_spec(self, spec: Mapping[Any, Any], loc: str, depth: int) -> _Node | None:
        node = self.kind_spec(spec, loc, depth)
        if node is None:
            return None
        omit = spec.get("omit_null")
        if omit is not None and not isinstance(omit, bool):
            self.problem(_loc(loc, "omit_null"), f"must be true or false, got {_preview(omit)}")
            return None
        if omit:
            node = _OmitNull(node)
        if "when" in spec:
            when = self.path(spec["when"], _loc(loc, "when"))
            if when is None:
                return None
            node = _Conditional(node, when)
        return node

    def kind_spec(self, spec: Mapping[Any, Any], loc: str, depth: int) -> _Node | None:
        if not spec:
            self.problem(loc, "an empty mapping: give one of path, jsonata, value, template, each or fields")
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
            self.problem(loc, f"{' and '.join(kinds)} cannot be combined: a spec is either a path, a JSONata "
                              "expression, a constant value, a template, a list (each) or an object (fields)")
            return None
        if not kinds:
            self.problem(loc, "a spec needs one of path, jsonata, value, template, each or fields")
            return None
        kind = kinds[0]
        for key in spec:
            if key in RESERVED_KEYS and key != kind and key not in _OPTIONS[kind] and key not in _EVERY_KIND:
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
        if kind in ("path", "jsonata"):
            node = self.path_spec(spec, loc, bool(required), kind)
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

    def path_spec(self, spec: Mapping[str, Any], loc: str, required: bool, kind: str = "path") -> _Node | None:
        path: _Path | _JsonataPath | None
        if kind == "jsonata":
            path = self.jsonata(spec["jsonata"], _loc(loc, "jsonata"))
        else:
            path = self.path(spec["path"], _loc(loc, "path"))
        type_name = spec.get("type")
        fmt = spec.get("format")
        ok = path is not None
        lookup = self.lookup(spec, loc)
        ok = ok and (lookup is not None or ("lookup" not in spec and "lookup_file" not in spec))
        output: DateOutput | None = None
        if "output_format" in spec or "timezone" in spec:
            if spec.get("type") != "datetime":
                key = "output_format" if "output_format" in spec else "timezone"
                self.problem(_loc(loc, key), f"{key} applies only to type: datetime")
                ok = False
            else:
                output, problems = date_output(spec.get("output_format"), spec.get("timezone"))
                for key, message in problems:
                    self.problem(_loc(loc, key), message)
                ok = ok and not problems
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
                if output is not None:
                    default = output.render(_to_datetime(default, fmt if isinstance(fmt, str) else None))
                else:
                    default = _CASTS[type_name](default, fmt)
            except _CastError as e:
                detail = f" ({e})" if str(e) else ""
                self.problem(_loc(loc, "default"),
                             f"default {_preview(default)} cannot be cast to {type_name}{detail}")
                ok = False
        if not ok or path is None:
            return None
        return _PathNode(path, type_name, fmt if isinstance(fmt, str) else None, copy.deepcopy(default), required,
                         lookup, output)

    def lookup(self, spec: Mapping[str, Any], loc: str) -> LookupTable | None:
        if "lookup" in spec and "lookup_file" in spec:
            self.problem(loc, "lookup and lookup_file cannot be combined: give the table inline or in a file")
            return None
        try:
            if "lookup" in spec:
                table = table_from_mapping(spec["lookup"], "the lookup table")
                bad = next(((k, _not_json(v)) for k, v in table.entries.items() if _not_json(v)), None)
                if bad:
                    self.problem(_loc(loc, "lookup"), f"the value for {bad[0]!r} must be JSON: {bad[1]}")
                    return None
                return table
            if "lookup_file" in spec:
                return load_lookup_file(spec["lookup_file"], self.base_dir)
        except LookupTableError as e:
            self.problem(_loc(loc, "lookup" if "lookup" in spec else "lookup_file"), str(e))
        return None

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
            if node is not None and self.omit_null and not (isinstance(spec, Mapping) and "omit_null" in spec):
                node = _OmitNull(node)
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


def compile_transform(spec: Mapping[str, Any], base_dir: Path | None = None) -> Any:
    """Validate and compile a transform; raises MappingSpecError listing every problem.

    Returns a Transform, or a PythonTransform for `{python: "transforms.module:function"}`
    (both have `apply(envelope)`, `targets` and `columns`). `base_dir` is the configuration
    file's folder: lookup files and the transforms/ package are found there.
    """
    # lazy: the python-transform loader (importlib machinery, ~9 ms) loads only for {python: ...} transforms.
    from hookline.mapping.python_hook import PythonHookError, is_python_transform, load_python_transform

    if not isinstance(spec, Mapping):
        raise MappingSpecError([("", f"a transform must be a mapping of target field -> spec, "
                                     f"got {_type_name(spec)}")])
    if is_python_transform(spec):
        try:
            return load_python_transform(spec, base_dir)
        except PythonHookError as e:
            raise MappingSpecError([("python", str(e))]) from None
    # `omit_null: true|false` at the top is the transform-wide option (a boolean is never a field spec).
    omit_null = spec.get("omit_null")
    fields = spec
    if isinstance(omit_null, bool):
        fields = {k: v for k, v in spec.items() if k != "omit_null"}
    compiler = _Compiler(base_dir, omit_null is True)
    root = compiler.field_map(fields, "", 0)
    if compiler.problems or root is None:
        raise MappingSpecError(compiler.problems)
    return Transform(root, spec)


_CACHE: dict[str, Any] = {}
_CACHE_SIZE = 256


def render(spec: Mapping[str, Any] | Transform | None, envelope: Mapping[str, Any],
           base_dir: Path | None = None) -> Any:
    """The body a destination receives: the original body without a transform, else the mapping.

    Compiled transforms are cached by their spec, so calling this per event is cheap.
    """
    if spec is None:
        return envelope.get("body")
    if isinstance(spec, Transform):
        return spec.apply(envelope)
    key = f"{base_dir}|{spec!r}"
    transform = _CACHE.get(key)
    if transform is None:
        transform = compile_transform(spec, base_dir)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = transform
    return transform.apply(envelope)
