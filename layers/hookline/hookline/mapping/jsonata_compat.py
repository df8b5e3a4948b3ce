"""What hookline changes in jsonata-python, applied once when this module is imported.

Each change has a test in tests/unit/test_jsonata*.py and is listed in docs/JSONATA.md; the
library is pinned, and `_check_version` refuses an untested version rather than patching blind.
"""

from __future__ import annotations

from typing import Any

import regex

from hookline.mapping import jsonata as _adapter

# `[a..b]` may hold at most this many numbers. JSONata's own limit (1e7) is ~400 MB once the
# range is materialised in Python; a mapping never needs a million generated numbers.
MAX_RANGE = 1_000_000

_TESTED_VERSIONS = ("0.7.1",)


def _check_version() -> None:
    from importlib.metadata import version

    found = version("jsonata-python")
    if found not in _TESTED_VERSIONS:
        raise RuntimeError(f"hookline's JSONata fixes were written for jsonata-python {', '.join(_TESTED_VERSIONS)}, "
                           f"found {found}: run tests/unit/test_jsonata*.py and add it to _TESTED_VERSIONS")


# ----------------------------------------------------------------------------- regexes
class _BoundedPattern:
    """A JSONata regex literal on the `regex` package, whose matching loop honours a timeout:
    the stdlib `re` cannot be interrupted, so `/^(a+)+$/` on 29 characters ran 26.8 s."""

    __slots__ = ("_pattern",)

    def __init__(self, pattern: Any) -> None:
        self._pattern = pattern

    @property
    def pattern(self) -> str:
        return self._pattern.pattern

    @staticmethod
    def _timeout() -> float | None:
        budget = _adapter.active_budget()
        return None if budget is None else budget.remaining()

    def _run(self, method: str, *args: Any, listed: bool = False) -> Any:
        try:
            result = getattr(self._pattern, method)(*args, timeout=self._timeout())
            return list(result) if listed else result
        except TimeoutError:
            budget = _adapter.active_budget()
            raise _adapter._jexception("D1012", budget.timeout_ms if budget else 0) from None

    def search(self, string: str, *args: Any) -> Any:
        return self._run("search", string, *args)

    def match(self, string: str, *args: Any) -> Any:
        return self._run("match", string, *args)

    def fullmatch(self, string: str, *args: Any) -> Any:
        return self._run("fullmatch", string, *args)

    def finditer(self, string: str, *args: Any) -> Any:
        # the iterator matches lazily; list it here so a time-out is raised inside our guard
        return iter(self._run("finditer", string, *args, listed=True))

    def findall(self, string: str, *args: Any) -> Any:
        return self._run("findall", string, *args)

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self._run("sub", repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self._run("split", string, maxsplit)

    def __getattr__(self, name: str) -> Any:  # groups, flags, groupindex...
        return getattr(self._pattern, name)


def bounded_regex_engine(pattern: str, flags: Any) -> _BoundedPattern:
    native = 0
    if flags.case_insensitive:
        native |= regex.IGNORECASE
    if flags.multiline:
        native |= regex.MULTILINE
    return _BoundedPattern(regex.compile(pattern, native))


# ----------------------------------------------------------------------------- errors
def describe_foreign(e: BaseException) -> str:
    """A non-JSONata exception from inside the library, told without Python class names."""
    text = str(e).strip() or "no detail"
    if isinstance(e, TimeoutError):
        return f"regular expression ran out of time ({text}) (D1012)"
    if isinstance(e, ZeroDivisionError | OverflowError):
        return f"the number is out of range: {text} (D1001)"
    if isinstance(e, TypeError | AttributeError | KeyError | IndexError):
        return f"an argument has the wrong type: {text} (T0410)"
    return f"evaluation failed: {text} (D3000)"


# ----------------------------------------------------------------------------- patches
def _patch_range(jsonata_cls: Any) -> None:
    original = jsonata_cls.evaluate_range_expression

    def evaluate_range_expression(self: Any, lhs: Any, rhs: Any) -> Any:
        if (isinstance(lhs, int) and isinstance(rhs, int) and not isinstance(lhs, bool)
                and not isinstance(rhs, bool) and rhs - lhs + 1 > MAX_RANGE):
            raise _adapter._jexception("D2014", f"{rhs - lhs + 1:,} (hookline's limit is {MAX_RANGE:,})")
        return original(self, lhs, rhs)

    jsonata_cls.evaluate_range_expression = evaluate_range_expression


def _apply() -> None:
    from jsonata import jsonata

    _check_version()
    _patch_range(jsonata.Jsonata)


_apply()
