"""`{jsonata: EXPR}` field specs: JSONata (the query language of AWS Step Functions) for what
JMESPath cannot say — arithmetic, conditionals, string and date functions.

The engine is `jsonata-python` 0.7.1, a pure-Python port of jsonata-java, so the Lambda layer needs
no native wheel. It does not pass the whole official JSONata suite: through this module, on
expressions compiled once and evaluated again after the clock moved and from several threads,
1,650 of its 1,686 cases pass (97.9 %; tests/conformance/test_jsonata_suite.py holds the figure, and
tests/jsonata_suite/known_differences.txt the rest). `jsonata_compat` carries our fixes to the
library (exact large integers, `?:`, `$sort`, `$replace`, range size...); docs/JSONATA.md has the
measurements against the other engines on the registry and why this one was kept.

Expressions are parsed once, when the transform is compiled; a syntax error names its code and
character position. The library's own time box is not used: it starts when the expression is
built and its depth counter is shared by every thread, so a cached expression failed every
evaluation 2 s after compiling. Here each evaluation gets its own `_Budget` (time, nesting depth,
sequence items), bound into that evaluation's frame, and regexes run under the same deadline.

The expression's input is the current scope (the envelope at the top level, the element inside
`each`); `$envelope` is always the whole envelope.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hookline.mapping.jsonata_budget import JsonataEvalError, _active, _Budget, active_budget

__all__ = ["Clock", "JsonataEvalError", "JsonataExpression", "JsonataSyntaxError", "compile_jsonata"]

# Per evaluation: at most this long (ms) and this deeply nested, generous for mappings. Depth is
# the nesting of sub-expressions being evaluated at once (not the number of calls): a 150-key
# grouping is shallow, a runaway recursive lambda is not.
EVAL_TIMEOUT_MS = 2000
EVAL_MAX_DEPTH = 500
# Sequence items one evaluation may produce, summed over every step: a 10,000-element array
# mapped through several steps is far below it; `[1..1e6].[1..1e6]` stops after ten rows instead
# of filling memory for the whole time budget.
EVAL_MAX_ITEMS = 10_000_000


class Clock(Protocol):
    """Where evaluations read time: `monotonic` for budgets, `time` (epoch s) for `$now()`."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...


class _SystemClock:
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)


# Module-wide default; tests replace it (or pass clock= to compile_jsonata) to move time forward.
clock: Clock = _SystemClock()


class JsonataSyntaxError(ValueError):
    """The expression does not parse; the message has the code and position."""


def _describe(e: BaseException) -> str:
    # lazy: the jsonata library (~130 ms) loads on first use: routes without JSONata never load it.
    from jsonata.jexception import JException

    if isinstance(e, JException):
        code = getattr(e, "error", None)
        location = getattr(e, "location", -1)
        where = f" at position {location}" if isinstance(location, int) and location >= 0 else ""
        token = getattr(e, "current", None)
        syntax = isinstance(code, str) and code.startswith("S")
        near = f", near {token!r}" if syntax and token not in (None, "(end)") and where else ""
        return f"{str(e) or code}{f' ({code}{where}{near})' if code else ''}"
    # lazy: the jsonata library (~130 ms) loads on first use: routes without JSONata never load it.
    from hookline.mapping.jsonata_compat import describe_foreign

    return describe_foreign(e)


def _plain(value: Any, max_items: int) -> Any:
    """jsonata-python's sequences and objects as plain lists and dicts; functions are refused."""
    # lazy: the jsonata library (~130 ms) loads on first use: routes without JSONata never load it.
    from jsonata.jsonata import Jsonata

    if isinstance(value, list | tuple) and len(value) > max_items:
        raise JsonataEvalError(f"the result has {len(value):,} items, more than {max_items:,} (D2014)")
    if isinstance(value, dict):
        return {str(k): _plain(v, max_items) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, max_items) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Jsonata.JFunctionCallable):
        raise JsonataEvalError("the result is a function, not a JSON value (T0410: call it with (...))")
    raise JsonataEvalError(f"the result is not a JSON value (a {type(value).__name__})")


@dataclass(frozen=True)
class JsonataExpression:
    source: str
    compiled: Any
    clock: Clock | None = field(default=None, compare=False)

    def evaluate(self, current: Any, envelope: Any, bindings: Mapping[str, Any] | None = None) -> Any:
        """The result as plain JSON values (None for JSONata's `undefined`).

        `bindings` adds variables besides `$envelope` (the official suite's cases use it).
        """
        # lazy: the jsonata library (~130 ms) loads on first use: routes without JSONata never load it.
        from jsonata import functions, utils

        compiled = self.compiled
        now = self.clock or clock
        budget = _Budget(now, EVAL_TIMEOUT_MS, EVAL_MAX_DEPTH, EVAL_MAX_ITEMS)
        # What `Jsonata.evaluate` does, but in a frame of this evaluation's own: the library binds
        # `$` and its time box into the frame shared by every evaluation of the expression.
        frame = compiled.create_frame(compiled.environment)
        for name, value in (bindings or {}).items():
            frame.bind(name, value)
        frame.bind("envelope", envelope)
        frame.bind("__evaluate_entry", budget.enter)
        frame.bind("__evaluate_exit", budget.exit)
        frame.bind("$", current)
        if isinstance(current, list) and not utils.Utils.is_sequence(current):
            current = utils.Utils.create_sequence(current)
            current.outer_wrapper = True
        outer = active_budget()
        _active.budget = budget
        try:
            # `$now()` reads the timestamp of this thread's evaluator object, which the library
            # sets only when the thread first evaluates: a worker thread's `$now()` never moved.
            compiled.get_per_thread_instance().timestamp = round(now.time() * 1000)
            functions.Functions.validate_input(current)
            result = utils.Utils.convert_nulls(compiled.eval(compiled.ast, current, frame))
            return _plain(result, budget.max_items)
        except JsonataEvalError:
            raise
        except RecursionError:
            raise JsonataEvalError("nested too deeply for Python's stack (D1011)") from None
        except Exception as e:  # the library raises JException, ValueError, TypeError...
            raise JsonataEvalError(_describe(e)) from None
        finally:
            _active.budget = outer


def compile_jsonata(source: str, *, clock: Clock | None = None) -> JsonataExpression:
    """Parse once; raises JsonataSyntaxError with the position of the mistake."""
    # lazy: the jsonata library and its fixes (~130 ms) load on first use: routes without JSONata never load them.
    from jsonata import Jsonata
    from jsonata.jexception import JException

    from hookline.mapping.jsonata_compat import bounded_regex_engine

    try:
        # no timeout/stack here: the library's time box would start now and be shared (see above)
        compiled = Jsonata(source, bounded_regex_engine)
    except JException as e:
        raise JsonataSyntaxError(_describe(e)) from None
    except Exception as e:  # the parser trips over some malformed input (e.g. an unclosed comment)
        raise JsonataSyntaxError(f"the expression does not parse: {e} (S0201)") from None
    errors = compiled.get_errors()
    if errors:
        raise JsonataSyntaxError(_describe(errors[0]))
    return JsonataExpression(source, compiled, clock)
