"""Template strings: literal text with `{EXPR}` placeholders, for `template:` specs and destination URL paths.

`{{` and `}}` are literal braces. A placeholder's expression is compiled by the caller (a JMESPath
over the envelope), and braces inside it (multi-select hashes, JSON literals, quoted strings)
do not end it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

P = TypeVar("P")


def parse(source: str, compile_path: Callable[[str], P | None],
          problem: Callable[[str], None]) -> tuple[str | P, ...] | None:
    """The template's literal parts and compiled placeholders in order; None after reporting a problem."""
    parts: list[str | P] = []
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
            problem(f"unbalanced '}}' at position {i} in template {source!r} (write '}}' for a literal brace)")
            ok = False
            i += 1
        elif char == "{":
            end = placeholder_end(source, i + 1)
            if end < 0:
                problem(f"unbalanced '{{' at position {i} in template {source!r} "
                        "(close it with '}', or write '{{' for a literal brace)")
                return None
            expr = source[i + 1:end]
            if not expr.strip():
                problem(f"empty placeholder '{{}}' at position {i} in template {source!r}")
                ok = False
            else:
                path = compile_path(expr.strip())
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


def placeholder_end(text: str, start: int) -> int:
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
