"""URLs built from event data: `{EXPR}` placeholders in a path, each value kept inside its own segment.

Every URL whose path takes a value from an event goes through `compile_url_template` (today
the enrichment steps' `path`). A value is URL-encoded (`/` becomes `%2F`), yet that is not
enough: `..` and `.` are left as they are by encoding, and the HTTP client removes dot
segments before sending, so `/customers/{body.customer}/profile` with customer `..` reached
`/profile` with the step's credentials. Some servers also decode `%2F` or treat `\\` as `/`.

The rule, in the path part (before the first literal `?` or `#`):

- a placeholder's value must not be empty, `.` or `..`, nor contain `/` or `\\`;
- the template's own literal path has no `.` or `..` segment (checked at compile time).

Together they keep every segment as written: a dot segment could only come from a value that
is empty or `.` itself (`/{a}{b}`, `/.{a}`), which the first rule refuses.

A value that breaks it is a `mapping` failure (MappingError): the event is dead-lettered with
a message naming the placeholder, and no request is made. Values in the query part are only
encoded, since `..` or `/` there cannot move the request to another resource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from hookline.mapping.casts import _to_string
from hookline.mapping.compiler import _Compiler
from hookline.mapping.errors import MappingError, MappingSpecError
from hookline.mapping.nodes import _Scope

__all__ = ["compile_url_template", "path_segment_problem"]

DOT_SEGMENTS = (".", "..")


def path_segment_problem(value: str) -> str | None:
    """Why `value` cannot be placed in a URL path segment, or None when it stays inside one."""
    if value == "":
        return "is empty"
    if value in DOT_SEGMENTS:
        return f"is {value!r}, which the HTTP client resolves as a relative path segment"
    for sep in ("/", "\\"):
        if sep in value:
            return f"contains {sep!r}, which a server may read as a path separator"
    return None


def compile_url_template(source: str) -> Callable[[Mapping[str, Any]], str]:
    """A URL path with `{EXPR}` placeholders (JMESPath over the envelope), each value URL-encoded.

    Raises MappingSpecError for a bad template (or a literal `.`/`..` path segment); the returned
    function raises MappingError when a placeholder's value is missing or would leave its segment.
    """

    compiler = _Compiler()
    parts = compiler.template(source, "")
    if compiler.problems or parts is None:
        raise MappingSpecError(compiler.problems)
    # Index of the first part past the path (a literal holding `?` or `#` ends the path).
    path_end = next((i for i, p in enumerate(parts) if isinstance(p, str) and ("?" in p or "#" in p)), len(parts))
    literal_path = _path_prefix("".join(p if isinstance(p, str) else "x" for p in parts[:path_end + 1]))
    if any(seg in DOT_SEGMENTS for seg in literal_path.split("/")):
        raise MappingSpecError([("", f"path {source!r} has a '.' or '..' segment; write the path it resolves to")])

    def render_url(envelope: Mapping[str, Any]) -> str:
        scope = _Scope(envelope, envelope)
        out: list[str] = []
        for i, part in enumerate(parts):
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.search(scope, "path")
            if value is None or value == "":
                raise MappingError("path", f"no value at {part.source} for the placeholder", path=part.source)
            text = _to_string(value)
            problem = path_segment_problem(text) if i < path_end else None
            if problem is not None:
                raise MappingError("path", f"the value at {part.source} {problem}; it must stay one path "
                                           "segment, so no request was made (correct the event's value, "
                                           "or move the placeholder into the query string)", path=part.source)
            out.append(quote(text, safe=""))
        return "".join(out)

    return render_url


def _path_prefix(text: str) -> str:
    return text.split("?", 1)[0].split("#", 1)[0]
