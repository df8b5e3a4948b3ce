"""JMESPath expressions, parsed once per process and evaluated without re-parsing.

`jmespath.search(expr, data)` parses `expr` on every call unless it is in jmespath's own
cache, which holds 128 expressions and is emptied at random when full: with a few hundred
routes every request parsed every `when` again. Every expression hookline evaluates comes
from the configuration, so a plain dict bounded by the configuration's size keeps them all.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

_COMPILED: dict[str, ParsedResult] = {}
# One interpreter for all searches: ParsedResult.search builds a new one (and its method cache) per call.
_INTERPRETER = TreeInterpreter()


def compile_expression(expr: str) -> ParsedResult:
    """jmespath.compile, memoised; raises jmespath's errors for an invalid expression."""
    compiled = _COMPILED.get(expr)
    if compiled is None:
        compiled = _COMPILED[expr] = jmespath.compile(expr)
    return compiled


def evaluate(ast: dict[str, Any], data: Any) -> Any:
    """Evaluate a parsed AST (`ParsedResult.parsed`, or a node of it) against `data`."""
    return _INTERPRETER.visit(ast, data)


def search(expr: str, data: Any) -> Any:
    """jmespath.search without a parse after the first call for `expr`."""
    return _INTERPRETER.visit(compile_expression(expr).parsed, data)
