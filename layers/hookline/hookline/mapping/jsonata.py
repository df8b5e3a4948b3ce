"""`{jsonata: EXPR}` field specs: JSONata (the query language of AWS Step Functions) for what
JMESPath cannot say — arithmetic, conditionals, string and date functions.

The engine is `jsonata-python` (a pure-Python port of the jsonata-java reference implementation,
which passes the JSONata test suite): pure Python, so the Lambda layer needs no native wheel.
Expressions are parsed once, when the transform is compiled; a syntax error names its code and
character position. Each evaluation is bounded in time and depth, so a runaway expression fails
one event instead of hanging the function.

The expression's input is the current scope (the envelope at the top level, the element inside
`each`); `$envelope` is always the whole envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["JsonataEvalError", "JsonataExpression", "JsonataSyntaxError", "compile_jsonata"]

# Per evaluation: at most this long (ms) and this deep (nested calls), generous for mappings.
EVAL_TIMEOUT_MS = 2000
EVAL_MAX_DEPTH = 200


class JsonataSyntaxError(ValueError):
    """The expression does not parse; the message has the code and position."""


class JsonataEvalError(ValueError):
    """The expression failed on one input (a type error, a bad function argument, a time-out)."""


def _describe(e: Exception) -> str:
    from jsonata.jexception import JException

    if isinstance(e, JException):
        code = getattr(e, "error", None)
        location = getattr(e, "location", -1)
        where = f" at position {location}" if isinstance(location, int) and location >= 0 else ""
        token = getattr(e, "current", None)
        syntax = isinstance(code, str) and code.startswith("S")
        near = f", near {token!r}" if syntax and token not in (None, "(end)") and where else ""
        return f"{str(e) or code}{f' ({code}{where}{near})' if code else ''}"
    return f"{type(e).__name__}: {e}"


def _plain(value: Any) -> Any:
    """jsonata-python's sequences and objects as plain lists and dicts; functions are refused."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise JsonataEvalError(f"the result is a {type(value).__name__}, not a JSON value (a function?)")


@dataclass(frozen=True)
class JsonataExpression:
    source: str
    compiled: Any

    def evaluate(self, current: Any, envelope: Any) -> Any:
        """The result as plain JSON values (None for JSONata's `undefined`)."""
        try:
            result = self.compiled.evaluate(current, {"envelope": envelope})
        except RecursionError:
            raise JsonataEvalError("nested too deeply") from None
        except Exception as e:  # the library raises JException, ValueError, TypeError...
            raise JsonataEvalError(_describe(e)) from None
        return _plain(result)


def compile_jsonata(source: str) -> JsonataExpression:
    """Parse once; raises JsonataSyntaxError with the position of the mistake."""
    from jsonata import Jsonata  # imported on first use: routes without JSONata never load it

    try:
        compiled = Jsonata(source, timeout=EVAL_TIMEOUT_MS, stack=EVAL_MAX_DEPTH)
    except Exception as e:
        raise JsonataSyntaxError(_describe(e)) from None
    errors = compiled.get_errors()
    if errors:
        raise JsonataSyntaxError(_describe(errors[0]))
    return JsonataExpression(source, compiled)
