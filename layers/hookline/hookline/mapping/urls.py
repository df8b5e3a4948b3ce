"""URLs built from event data: `{EXPR}` placeholders in a path, each value kept inside its own segment.

Every URL whose path takes a value from an event goes through `compile_url_template`: the
enrichment steps' `path`, and a destination's own `url` with its `method` choice
(`compile_request_line`, for upserts: PATCH the record found, else POST). A value is
URL-encoded (`/` becomes `%2F`), yet that is not enough: `..` and `.` are left as they are
by encoding, and the HTTP client removes dot segments before sending, so
`/customers/{body.customer}/profile` with customer `..` reached `/profile` with the step's
credentials. Some servers also decode `%2F` or treat `\\` as `/`.

The rule, in the path part (before the first literal `?` or `#`):

- a placeholder's value must not be empty, `.` or `..`, nor contain `/` or `\\` — nor be any of
  these once percent-decoded (`%2e%2e`, `%2F`), since some servers and proxies decode twice;
- in a full URL (a destination's `url`) no placeholder comes before the path: the scheme, host
  and port are the configuration's, never an event's; there `{/EXPR}` (RFC 6570's path-segment
  form) adds `/value` when EXPR has a value and nothing when it has none, so one destination
  can PATCH `/contacts/{id}` and POST `/contacts`;
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
from urllib.parse import quote, unquote

from hookline.core.expressions import compile_expression, evaluate
from hookline.mapping import templates
from hookline.mapping.casts import _to_string
from hookline.mapping.compiler import _Compiler
from hookline.mapping.errors import MappingError, MappingSpecError
from hookline.mapping.nodes import _Scope

__all__ = ["RequestLine", "compile_request_line", "compile_url_template", "path_segment_problem", "request_line",
           "request_line_problems", "resolve_request"]

DOT_SEGMENTS = (".", "..")
MAX_DECODES = 4  # layers of percent-encoding looked through; deeper is refused, not guessed at


def path_segment_problem(value: str) -> str | None:
    """Why `value` cannot be placed in a URL path segment, or None when it stays inside one."""
    if value == "":
        return "is empty"
    seen = value
    for _ in range(MAX_DECODES):
        if seen in DOT_SEGMENTS:
            how = "" if seen == value else f" once percent-decoded ({value!r})"
            return f"is {seen!r}{how}, which the HTTP client or server resolves as a relative path segment"
        for sep in ("/", "\\"):
            if sep in seen:
                how = "" if seen == value else f" once percent-decoded ({value!r})"
                return f"contains {sep!r}{how}, which a server may read as a path separator"
        decoded = unquote(seen)
        if decoded == seen:
            return None
        if decoded == "":
            return f"is empty once percent-decoded ({value!r})"
        seen = decoded
    return f"is percent-encoded more than {MAX_DECODES} times over ({value!r})"


def compile_url_template(source: str, *, full_url: bool = False) -> Callable[[Mapping[str, Any]], str]:
    """A URL path with `{EXPR}` placeholders (JMESPath over the envelope), each value URL-encoded.

    Raises MappingSpecError for a bad template (or a literal `.`/`..` path segment, or with
    `full_url` a placeholder in the scheme or host); the returned function raises MappingError
    when a placeholder's value is missing or would leave its segment.
    """

    compiler = _Compiler()
    optional: set[int] = set()  # ids of `{/EXPR}` placeholders (full URLs only)

    def compile_path(expr: str) -> Any:
        if full_url and expr.startswith("/"):
            path = compiler.path(expr[1:], "")
            if path is not None:
                optional.add(id(path))
            return path
        return compiler.path(expr, "")

    parts = templates.parse(source, compile_path, lambda msg: compiler.problem("", msg))
    if compiler.problems or parts is None:
        raise MappingSpecError(compiler.problems)
    if full_url:
        head = parts[0] if parts and isinstance(parts[0], str) else ""
        _scheme, sep, rest = head.partition("://")
        if not sep or "/" not in rest:
            raise MappingSpecError([("", f"url {source!r}: placeholders may fill the path only; write the "
                                         "scheme and host out, e.g. https://crm.example/contacts/{EXPR}")])
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
                if id(part) in optional:
                    continue  # RFC 6570's `{/var}`: no value, no segment (POST to the collection)
                raise MappingError("path", f"no value at {part.source} for the placeholder", path=part.source)
            if id(part) in optional:
                out.append("/")
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


class RequestLine:
    """A destination's method and URL for one event: fixed, or filled from the envelope (upserts)."""

    def __init__(self, url: str, method: Any) -> None:
        self.templated = "{" in url
        self._url = url
        self._render = compile_url_template(url, full_url=True) if self.templated else None
        if isinstance(method, str):
            self._method, self._when = method, None
        else:  # a MethodChoice: {when, then, else}
            self._when = compile_expression(method.when).parsed
            self._method = (method.then, method.else_)
        self.source_when = None if isinstance(method, str) else method.when

    @property
    def dynamic(self) -> bool:
        return self.templated or self._when is not None

    def resolve(self, scope: Mapping[str, Any]) -> tuple[str, str]:
        """(method, url) for `scope` (the envelope with `enriched` and `mapped`); raises MappingError."""
        url = self._render(scope) if self._render is not None else self._url
        if self._when is None:
            return str(self._method), url
        then, otherwise = self._method
        try:
            chosen = bool(evaluate(self._when, scope))
        except Exception as e:  # a type error in the expression: as a route filter's, a property of this event
            raise MappingError("method", f"the method's when {self.source_when!r} failed on this event "
                                         f"({type(e).__name__}: {e}); no request was made") from None
        return (then if chosen else otherwise), url


def compile_request_line(url: str, method: Any) -> RequestLine:
    """The RequestLine of a destination's `url` and `method` (raises MappingSpecError for a bad template)."""
    return RequestLine(url, method)


_LINES: dict[tuple[str, str], RequestLine] = {}  # bounded by the configuration's destinations


def request_line(dest: Any) -> RequestLine:
    """The compiled RequestLine of a destination (`url`, `method`), once per process."""
    key = (dest.url or "", repr(dest.method))
    line = _LINES.get(key)
    if line is None:
        line = _LINES[key] = RequestLine(dest.url or "", dest.method)
    return line


def resolve_request(dest: Any, envelope: Mapping[str, Any], mapped: Any = None) -> tuple[str, str]:
    """(method, url) of `dest` for this event: `envelope` (with `enriched`) and the mapped body.

    Raises MappingError (no request may be made) and MappingSpecError (a template validate refuses).
    """
    line = request_line(dest)
    if not line.dynamic:
        return line.resolve(envelope)
    return line.resolve({**envelope, "mapped": mapped})


def request_line_problems(dest: Any, path: str) -> list[tuple[str, str, str]]:
    """(path, message, hint) for a destination's url template and method choice (`hookline validate`)."""
    problems: list[tuple[str, str, str]] = []
    if dest.type != "http" or not dest.url:
        return problems
    try:
        RequestLine(dest.url, "POST")
    except MappingSpecError as e:
        for _, message in e.problems:
            problems.append((f"{path}.url", message, "placeholders fill the path: https://host/items/{body.id}"))
    if not isinstance(dest.method, str):
        try:
            compile_expression(dest.method.when)
        except Exception as e:  # jmespath's parse errors: the first line names the position
            problems.append((f"{path}.method.when", f"invalid JMESPath expression {dest.method.when!r}: "
                             f"{str(e).splitlines()[0]}", "e.g. when: enriched.contact.id"))
    return problems
