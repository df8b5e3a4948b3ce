"""Data of an already validated model back into that model, without validating it again.

The pre-validated configuration (prevalidated.py) was checked at deploy time; a cold start that validated
it again would pay for pydantic building every configuration model's validator (the models' import and
the load took ~100 ms of CPU with it, ~55 ms without, the models being `defer_build`). `construct`
rebuilds the same instances with `model_construct`, converting only what JSON cannot carry: nested models
and dates. The plan per class is read from the models' field annotations once, so a field added to the
model needs no change here; a type this module cannot rebuild raises TypeError when the plan is made
(tests/structure/test_cold_start.py builds every plan).
"""

from __future__ import annotations

import copy
import inspect
import types
import typing
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
Convert = Callable[[Any], Any]
# Types whose JSON form is the value itself (JSON numbers keep their int/float kind through a dump).
_AS_IS = (str, int, float, bool, type(None), Any)
_PLANS: dict[type[BaseModel], _Plan] = {}


def construct(cls: type[M], data: dict[str, Any]) -> M:
    """`cls` from the JSON form of a validated instance (`model_dump(mode="json", by_alias=True)`)."""
    plan = _plan(cls)
    values = {k: (plan.convert[k](v) if k in plan.convert and v is not None else v) for k, v in data.items()}
    given = {plan.names.get(k, k) for k in values}
    # Every default made here rather than by model_construct: it inspects each default_factory's signature
    # on every call (~0.1 ms for `list`: 2,000 routes took 290 ms instead of 30), and calls a model
    # class's factory, which validates (and builds that model's validator).
    values.update({key: make() for key, name, make in plan.defaults if name not in given})
    return cls.model_construct(_fields_set=given, **values)


class _Plan:
    def __init__(self, cls: type[BaseModel]) -> None:
        # Per key of the dumped form (a field's alias, else its name), how to rebuild its value; keys whose
        # JSON value is already the field's value are left out.
        self.convert: dict[str, Convert] = {}
        self.names: dict[str, str] = {}  # alias -> field name
        self.defaults: list[tuple[str, str, Callable[[], Any]]] = []  # (key, field name, fresh default)
        for name, field in cls.model_fields.items():
            key, where = field.alias or name, f"{cls.__name__}.{name}"
            self.names[key] = name
            convert = _converter(field.annotation, where)
            if convert is not None:
                self.convert[key] = convert
            if not field.is_required():
                self.defaults.append((key, name, _default(field.default, field.default_factory, where)))


def _default(value: Any, factory: Callable[..., Any] | None, where: str) -> Callable[[], Any]:
    if factory is None:
        if isinstance(value, (str, int, float, bool, type(None), tuple, frozenset)):
            return lambda: value
        return lambda: copy.deepcopy(value)  # as pydantic does: a mutable default is never shared
    if isinstance(factory, type) and issubclass(factory, BaseModel):
        return lambda: construct(factory, {})
    if factory in (list, dict, set) or not inspect.signature(factory).parameters:
        return factory
    raise TypeError(f"{where}: its default_factory takes the validated data; teach hookline/core/construct.py")


def _plan(cls: type[BaseModel]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


def _converter(annotation: Any, where: str) -> Convert | None:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _converter(args[0], where)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lambda v, model=annotation: construct(model, v)
    if annotation is date:
        return date.fromisoformat
    if annotation in _AS_IS or origin is Literal:
        return None
    if origin is list:
        item = _converter(args[0], where)
        return None if item is None else (lambda v: [item(x) for x in v])
    if origin is dict and args[0] is str:
        value = _converter(args[1], where)
        return None if value is None else (lambda v: {k: value(x) for k, x in v.items()})
    if origin in (typing.Union, types.UnionType):
        return _union(args, where)
    if origin in (dict, list) and not args:
        return None
    raise TypeError(f"{where}: cannot rebuild a {annotation!r} from its JSON form without validating; "
                    "teach hookline/core/construct.py this type")


def _union(members: tuple[Any, ...], where: str) -> Convert | None:
    """A union is told apart by the JSON value's kind: an object is the (one) model member, a string is a
    date if a member is one; every other member must need no conversion."""
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    dated = date in members
    for m in members:
        mapping = m is dict or typing.get_origin(m) is dict
        if (mapping and models) or (not mapping and m not in models and m is not date
                                    and _converter(m, where) is not None):
            raise TypeError(f"{where}: cannot tell {m!r} apart in a union; teach hookline/core/construct.py")
    if len(models) > 1:
        raise TypeError(f"{where}: a union of several models cannot be told apart without validating")
    if not models and not dated:
        return None
    model = models[0] if models else None

    def convert(v: Any) -> Any:
        if model is not None and isinstance(v, dict):
            return construct(model, v)
        if dated and isinstance(v, str):
            return date.fromisoformat(v)
        return v

    return convert
