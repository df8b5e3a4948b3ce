"""What hookline changes in jsonata-python, applied once when this module is imported.

Each change has a test in tests/unit/mapping/test_jsonata*.py and is listed in docs/JSONATA.md; the
library is pinned, and `_check_version` refuses an untested version rather than patching blind.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import math
from importlib.metadata import version
from typing import Any

import regex
from jsonata import functions, jsonata, parser, tokenizer, utils
from jsonata.constants import Constants

from hookline.mapping import jsonata_budget as _adapter

# `[a..b]` may hold at most this many numbers. JSONata's own limit (1e7) is ~400 MB once the
# range is materialised in Python; a mapping never needs a million generated numbers.
MAX_RANGE = 1_000_000

_TESTED_VERSIONS = ("0.7.1",)


def _check_version() -> None:
    found = version("jsonata-python")
    if found not in _TESTED_VERSIONS:
        raise RuntimeError(f"hookline's JSONata fixes were written for jsonata-python {', '.join(_TESTED_VERSIONS)}, "
                           f"found {found}: run tests/unit/mapping/test_jsonata*.py and add it to _TESTED_VERSIONS")


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
        if isinstance(repl, str):
            repl = _expand(repl)
        return self._run("sub", repl, string, count)

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self._run("split", string, maxsplit)

    def __getattr__(self, name: str) -> Any:  # groups, flags, groupindex...
        return getattr(self._pattern, name)


_GROUP = regex.compile(r"\\g<(\d+)>")


def _expand(template: str) -> Any:
    """The library turns JSONata's `$1` into `\\g<1>` and leaves the rest to `re`, which reads
    other backslashes as escapes and rejects a group the pattern lacks. JSONata keeps the text
    as written and reads `$12` as group 12 if it exists, else group 1 then "2"; a missing single
    digit group is "" (the library's retry loop did this from `re`'s error message, which the
    `regex` package words differently). A zero-length match is D1004, as in JSONata."""
    pieces = _GROUP.split(template)

    def replace(m: Any) -> str:
        if m.group() == "":
            raise _adapter._jexception("D1004")
        out = []
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                out.append(piece)
                continue
            digits, tail = piece, ""
            while len(digits) > 1 and int(digits) > len(m.groups()):
                digits, tail = digits[:-1], digits[-1] + tail
            if int(digits) <= len(m.groups()):
                out.append(m.group(int(digits)) or "")
            out.append(tail)
        return "".join(out)

    return replace


def bounded_regex_engine(pattern: str, flags: Any) -> _BoundedPattern:
    native = 0
    if flags.case_insensitive:
        native |= regex.IGNORECASE
    if flags.multiline:
        native |= regex.MULTILINE
    return _BoundedPattern(regex.compile(pattern, native))


# ----------------------------------------------------------------------------- errors
# The library raises RuntimeError with these texts (jsonata.constants) where JSONata has codes.
_RUNTIME_CODES = {
    "ERR_MSG_SEQUENCE_UNSUPPORTED": "D3130", "ERR_MSG_DIFF_DECIMAL_GROUP": "D3131",
    "ERR_MSG_UNKNOWN_COMPONENT_SPECIFIER": "D3132", "ERR_MSG_INVALID_NAME_MODIFIER": "D3133",
    "ERR_MSG_TIMEZONE_FORMAT": "D3134", "ERR_MSG_NO_CLOSING_BRACKET": "D3135",
    "ERR_MSG_MISSING_FORMAT": "D3136",
}


def _runtime_code(text: str) -> str | None:
    for name, code in _RUNTIME_CODES.items():
        template = getattr(Constants, name, "")
        head = template.split("%s")[0].split("{")[0]
        if head and text.startswith(head):
            return code
    return None


def describe_foreign(e: BaseException) -> str:
    """A non-JSONata exception from inside the library, told without Python class names."""
    text = str(e).strip() or "no detail"
    code = _runtime_code(text) if isinstance(e, RuntimeError) else None
    if code:
        return f"{text} ({code})"
    if isinstance(e, UnicodeError):
        return f"malformed URL or text: {text} (D3140)"
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


def _patch_partial_native(jsonata_cls: Any) -> None:
    """`$f(?, x)` parses a small trampoline when it is evaluated. The library parses it with the parser of
    the thread that compiled the expression (`self.parser`), so threads evaluating one cached expression
    at once shared a parser mid-parse (S0203). Each evaluation now parses with its own thread's parser."""

    def partial_apply_native_function(self: Any, native: Any, args: Any) -> Any:
        names = ["$" + chr(ord("a") + i) for i in range(min(len(args), native.get_number_of_args()))]
        body = f"function({', '.join(names)}){{${native.function_name}({', '.join(names)}) }}"
        return self.partial_apply_procedure(jsonata_cls.get_parser().parse(body), args)

    jsonata_cls.partial_apply_native_function = partial_apply_native_function


# JSON numbers as JSONata writes them: JSON.stringify of the value after toPrecision(15) for
# fractions; integers below 1e21 keep every digit (ids such as 5890840712243076 must survive
# `$string` and `&`; JavaScript itself would round a Python int above 2**53).
def js_number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) < 10**21:
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        raise _adapter._jexception("D3001", value)
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    value = float(f"{value:.15g}")
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    sign, digits, exponent = decimal.Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    k, n = len(text), len(digits) + int(exponent)  # n: where the decimal point goes
    minus = "-" if sign else ""
    if k <= n <= 21:
        return minus + text + "0" * (n - k)
    if 0 < n <= 21:
        return f"{minus}{text[:n]}.{text[n:]}"
    if -6 < n <= 0:
        return f"{minus}0.{'0' * -n}{text}"
    mantissa = text[0] + (f".{text[1:]}" if k > 1 else "")
    return f"{minus}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def _to_json(value: Any, indent: str | None, level: int = 0) -> str:
    if value is None or value is utils.Utils.NULL_VALUE:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, jsonata.Jsonata.JFunctionCallable | parser.Parser.Symbol):
        return '""'
    if isinstance(value, dict):
        items = [(json.dumps(str(k), ensure_ascii=False), v) for k, v in value.items()]
        opening, closing, colon = "{", "}", ": " if indent else ":"
        parts = [f"{k}{colon}{_to_json(v, indent, level + 1)}" for k, v in items]
    elif isinstance(value, list | tuple):
        opening, closing = "[", "]"
        parts = [_to_json(v, indent, level + 1) for v in value]
    else:
        return json.dumps(str(value), ensure_ascii=False)
    if not parts:
        return opening + closing
    if not indent:
        return opening + ",".join(parts) + closing
    inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
    return opening + inner + ("," + inner).join(parts) + outer + closing


def _string(arg: Any, prettify: bool) -> str:
    if isinstance(arg, jsonata.Jsonata.JFunctionCallable | parser.Parser.Symbol):
        return ""
    return _to_json(arg, "  " if prettify else None)


_JSON_NUMBER = regex.compile(r"-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?")  # JSONata allows leading zeros
_PREFIXED = regex.compile(r"0[xX][0-9A-Fa-f]+|0[oO][0-7]+|0[bB][01]+")


def number(arg: Any) -> Any:
    """`$number`: JSONata accepts a JSON number or 0x/0o/0b in a string, else D3030. An integer
    string becomes an exact int (JS would round past 2**53; an id must not)."""
    if arg is None:
        return None
    if arg is utils.Utils.NULL_VALUE:
        raise _adapter._jexception("T0410")
    if isinstance(arg, bool):
        return int(arg)
    if isinstance(arg, int | float):
        return arg
    if isinstance(arg, str):
        s = arg.strip()
        if _JSON_NUMBER.fullmatch(s):
            value = int(s) if s.lstrip("-").isdigit() else float(s)
            if isinstance(value, float) and not math.isfinite(value):
                raise _adapter._jexception("D3030", arg)
            return utils.Utils.convert_number(value) if isinstance(value, float) else value
        if _PREFIXED.fullmatch(s):
            return int(s, 0)
    raise _adapter._jexception("D3030", arg)


def power(arg: Any, exp: Any) -> Any:
    """`$power`: D3061 when the result is not a real, finite number (the library raised a Python
    error for `$power(-2, 1/3)` and an overflow code for `$power(100, 1000)`)."""
    if arg is None:
        return None
    try:
        result = math.pow(arg, exp)
    except (ValueError, OverflowError):
        raise _adapter._jexception("D3061", arg, exp) from None
    if not math.isfinite(result):
        raise _adapter._jexception("D3061", arg, exp)
    return utils.Utils.convert_number(result)


def contains(string: Any, token: Any) -> Any:
    """`$contains(x, nothing)` is undefined, as in JSONata (the library raised a RuntimeError)."""
    if token is None:
        return None
    return _original["contains"](string, token)


def to_jsonata_match(m: Any) -> dict[str, Any]:
    """The match object a `$replace` function receives: `groups` are the capture groups only
    (the library put the whole match first, so `$m.groups[0]` was the match)."""
    return {"match": m.group(), "index": m.start(), "groups": [g if g is not None else "" for g in m.groups()]}


def sort(arr: Any, comparator: Any) -> Any:
    """`$sort` as JSONata defines it: a stable merge sort where `comparator($a, $b)` true means
    $a goes after $b. The library fed the boolean to cmp_to_key as -1/1, which is not a
    consistent ordering, so Python's sort returned another order."""
    if comparator is not None and not isinstance(comparator, jsonata.Jsonata.JFunctionCallable | parser.Parser.Symbol):
        # the `^(...)` operator passes a Python cmp function, which the library's sort handles
        return _original["sort"](arr, comparator)
    if arr is None:
        return None
    items = list(arr)
    if len(items) <= 1:
        return arr
    if comparator is None:
        if not (all(isinstance(v, int | float) and not isinstance(v, bool) for v in items)
                or all(isinstance(v, str) for v in items)):
            raise _adapter._jexception("D3070")

        def swap(a: Any, b: Any) -> bool:
            return a > b
    else:
        def swap(a: Any, b: Any) -> bool:
            result = functions.Functions.func_apply(comparator, [a, b])
            return bool(result) and result is not utils.Utils.NULL_VALUE

    def merge_sort(part: list[Any]) -> list[Any]:
        if len(part) <= 1:
            return part
        middle = len(part) // 2
        left, right = merge_sort(part[:middle]), merge_sort(part[middle:])
        out, i, j = [], 0, 0
        while i < len(left) and j < len(right):
            if swap(left[i], right[j]):
                out.append(right[j])
                j += 1
            else:
                out.append(left[i])
                i += 1
        return out + left[i:] + right[j:]

    return utils.Utils.create_sequence(merge_sort(items)) if utils.Utils.is_sequence(arr) else merge_sort(items)


def replace(string: Any, pattern: Any, replacement: Any, limit: Any) -> Any:
    """`$replace`: an empty pattern is D3010 and a negative limit D3011, as in JSONata."""
    if string is not None and pattern == "":
        raise _adapter._jexception("D3010")
    if string is not None and isinstance(limit, int | float) and limit < 0:
        raise _adapter._jexception("D3011")
    return _original["replace"](string, pattern, replacement, limit)


_original: dict[str, Any] = {}


def _rebind(name: str, implementation: Any) -> None:
    """Replace a built-in: the static frame holds the method object it bound at import."""
    _original[name] = getattr(functions.Functions, name)
    setattr(functions.Functions, name, staticmethod(implementation))
    jsonata.Jsonata.static_frame.lookup(name).method = implementation


def _patch_elvis(parser_cls: Any) -> None:
    """`a ?: b` is parsed as a condition whose test and result are the same node, and the
    post-parse pass then processed that node twice: `-5 ?: 99` gave 5 and `[1,2,3][-1] ?: 42`
    gave 2. Process it once and use it for both."""
    original = parser_cls.process_ast

    def process_ast(self: Any, expr: Any) -> Any:
        if getattr(expr, "type", None) != "condition" or expr.then is not expr.condition:
            return original(self, expr)
        result = parser_cls.Symbol(self)
        result.type, result.position = "condition", expr.position
        result.condition = self.process_ast(expr.condition)
        self.push_ancestry(result, result.condition)
        result.then = result.condition
        if expr._else is not None:
            result._else = self.process_ast(expr._else)
            self.push_ancestry(result, result._else)
        if expr.keep_array:
            result.keep_array = True
        return result

    parser_cls.process_ast = process_ast


def _patch_surrogates(tokenizer_cls: Any) -> None:
    """`"\\uD834\\uDD1E"` in an expression is one character (U+1D11E) in JSONata, as in JSON; the
    library kept the two UTF-16 halves, so `$length` said 2 and the text could not be encoded."""
    original = tokenizer_cls.create

    def create(self: Any, type_: Any, value: Any) -> Any:
        if type_ == "string" and isinstance(value, str) and any("\ud800" <= c <= "\udfff" for c in value):
            with contextlib.suppress(UnicodeDecodeError):  # a lone half stays, as in JavaScript
                value = value.encode("utf-16", "surrogatepass").decode("utf-16")
        return original(self, type_, value)

    tokenizer_cls.create = create


def _patch_convert_number(utils_cls: Any) -> None:
    """Every function result passes through `convert_number`, which compared `int(n) == float(n)`:
    false for an int above 2**53, so `$number("5890840712243076123")`, `$max` or `$abs` of an id
    came back as a rounded float. An int is already what that function is trying to produce."""
    original = utils_cls.convert_number

    def convert_number(n: Any) -> Any:
        if isinstance(n, int) and not isinstance(n, bool):
            return n
        return original(n)

    utils_cls.convert_number = staticmethod(convert_number)


def _quiet(*_args: Any, **_kwargs: Any) -> None:
    """The library prints `Proc not found <value>` to stdout when an expression calls a value
    that is not a function: event data (a token, an email) in the function's log. The T1006
    error it raises next says what went wrong."""


def _apply() -> None:
    _check_version()
    jsonata.print = _quiet  # module-level name lookup: only the library's own prints are affected
    _patch_convert_number(utils.Utils)
    _patch_surrogates(tokenizer.Tokenizer)
    _patch_range(jsonata.Jsonata)
    _patch_partial_native(jsonata.Jsonata)
    _patch_elvis(parser.Parser)
    functions.Functions._string = staticmethod(_string)
    functions.Functions.to_jsonata_match = staticmethod(to_jsonata_match)
    for name, implementation in (("number", number), ("power", power), ("contains", contains), ("sort", sort),
                                 ("replace", replace)):
        _rebind(name, implementation)


_apply()
