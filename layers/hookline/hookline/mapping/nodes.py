"""The compiled form of a transform: a tree of nodes, each applied to a scope of the envelope."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jmespath.exceptions import JMESPathError

from hookline.mapping.casts import _CASTS, _CastError, _preview, _to_datetime, _to_string, _type_name
from hookline.mapping.dates import DateOutput
from hookline.mapping.errors import MappingError
from hookline.mapping.jsonata import JsonataEvalError, JsonataExpression
from hookline.mapping.lookup import MISSING, LookupTable


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


@dataclass(frozen=True)
class _JsonataPath:
    """A `{jsonata: EXPR}` source: the same interface as _Path, evaluated by JSONata."""

    expression: JsonataExpression

    def describe(self, scope: _Scope) -> str:
        return f"jsonata {self.expression.source!r}"

    def search(self, scope: _Scope, field: str) -> Any:
        try:
            return self.expression.evaluate(scope.current, scope.root)
        except JsonataEvalError as e:
            where = self.describe(scope)
            raise MappingError(field, f"{where} failed: {e}", path=where) from None


class _Omit:
    """Returned by a field that is left out of its object (`when` false, or `omit_null`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OMIT = _Omit("OMIT")  # `when` was false
# `omit_null` left the value out. An object whose fields are all left out, one at least by this,
# is left out of its parent too: `omit_null` is meant to leave no `"customer": {}` behind.
OMIT_NULL = _Omit("OMIT_NULL")


class _Node:
    def apply(self, scope: _Scope, field: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class _Conditional(_Node):
    """`when: EXPR`: the field exists only when EXPR is truthy (JMESPath truthiness)."""

    node: _Node
    when: _Path

    def apply(self, scope: _Scope, field: str) -> Any:
        test = self.when.search(scope, field)
        if test is None or test is False or test in ("", [], {}):
            return OMIT
        return self.node.apply(scope, field)


@dataclass(frozen=True)
class _OmitNull(_Node):
    node: _Node

    def apply(self, scope: _Scope, field: str) -> Any:
        value = self.node.apply(scope, field)
        return OMIT_NULL if value is None else value


@dataclass(frozen=True)
class _PathNode(_Node):
    path: _Path | _JsonataPath
    type: str | None = None
    format: str | None = None
    default: Any = None
    required: bool = False
    lookup: LookupTable | None = None
    output: DateOutput | None = None

    def apply(self, scope: _Scope, field: str) -> Any:
        value = self.path.search(scope, field)
        if value is not None and self.lookup is not None:
            found = self.lookup.find(value)
            if found is MISSING:
                if self.default is not None:
                    return copy.deepcopy(self.default)
                where = self.path.describe(scope)
                raise MappingError(
                    field, f"value {_preview(value)} from {where} is not in {self.lookup.origin} "
                           f"(known: {self.lookup.known()}); add it to the table or give the field a default",
                    path=where, value_type=_type_name(value))
            value = found
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
            if self.output is not None:  # type: datetime with output_format / timezone
                return self.output.render(_to_datetime(value, self.format))
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

    def apply(self, scope: _Scope, field: str) -> dict[str, Any] | _Omit:
        """The object; OMIT_NULL when every field was left out and `omit_null` left out one at least."""
        out = {}
        null_left_out = False
        for name, node in self.fields:
            value = node.apply(scope, f"{field}.{name}" if field else name)
            if isinstance(value, _Omit):
                null_left_out = null_left_out or value is OMIT_NULL
            else:
                out[name] = value
        return OMIT_NULL if null_left_out and not out else out

    def value(self, scope: _Scope, field: str) -> dict[str, Any]:
        """As a whole (the transform, a list element): an object emptied by `omit_null` stays `{}`."""
        out = self.apply(scope, field)
        return {} if isinstance(out, _Omit) else out

    def columns(self, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """The leaf fields in the order written (nested objects flattened): CSV columns."""
        out: list[tuple[str, ...]] = []
        for name, node in self.fields:
            while isinstance(node, _Conditional | _OmitNull):
                node = node.node
            if isinstance(node, _ObjectNode):
                out += node.columns((*prefix, name))
            else:
                out.append((*prefix, name))
        return out


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
            self.item.value(_Scope(scope.root, element, f"{where}[{i}]"), f"{field}[{i}]")
            for i, element in enumerate(elements)
        ]


@dataclass(frozen=True)
class _ListNode(_Node):
    items: tuple[_Node, ...]

    def apply(self, scope: _Scope, field: str) -> list[Any]:
        values = (node.apply(scope, f"{field}[{i}]") for i, node in enumerate(self.items))
        return [value for value in values if not isinstance(value, _Omit)]


class Transform:
    """A compiled transform: `apply(envelope)` -> the mapped body."""

    def __init__(self, root: _ObjectNode, spec: Mapping[str, Any]) -> None:
        self._root = root
        self.spec = spec

    @property
    def targets(self) -> list[str]:
        """The top-level output field names, in order."""
        return [name for name, _ in self._root.fields]

    @property
    def columns(self) -> list[tuple[str, ...]]:
        """Every leaf field as a path of names, in the order written (the CSV column order)."""
        return self._root.columns()

    def apply(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Map one event envelope; raises MappingError (permanent) when it cannot."""
        return self._root.value(_Scope(root=envelope, current=envelope), "")

    def __repr__(self) -> str:
        return f"Transform(targets={self.targets!r})"

