"""`--where`: the event archive's filter language, parsed once and translated for Athena and for DuckDB.

    expr    := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" or ")" | field OP value
    field   := type | source | received_at | body.SEG(.SEG)* | headers.NAME
    OP      := = | != | < | <= | > | >= | contains
    value   := "text" | 'text' | number | true | false

A field path's segments hold letters, digits, `_` and `-` only (a segment of digits is an array index), so a
path can be written into the SQL after that check; every value is a bound parameter, never SQL text. A field
the archive does not have (`foo`, `body.nope`) is NULL: its comparisons match nothing (`!=` and `not`
included, as in SQL), which makes an unknown field an empty result, not an error (docs/events.md).

The two engines differ only in how a JSON path is written: Trino (Athena) takes `$["x-a"].b`, DuckDB
`$."x-a".b`. `body` and `headers` are archived as JSON text (core/archive.py), read with the engines'
json_extract_scalar (DuckDB: `->>`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

OPS = ("=", "!=", "<", "<=", ">", ">=", "contains")
COLUMNS = ("type", "source", "received_at")
JSON_FIELDS = ("body", "headers")
SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
ATHENA, DUCKDB = "athena", "duckdb"
_TABLE = re.compile(r'^(?:"?[A-Za-z0-9_-]+"?\.)?"?[A-Za-z0-9_-]+"?$')


class WhereError(ValueError):
    """A malformed `--where`: one line naming what was expected and the column (1-based)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"--where: {message} at column {column}")
        self.column = column


@dataclass(frozen=True)
class Field:
    root: str  # a column, "body", "headers", or "" (a field the archive does not have)
    path: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str
    value: str | float | bool


@dataclass(frozen=True)
class Not:
    inner: Any


@dataclass(frozen=True)
class Both:
    kind: str  # "and" | "or"
    left: Any
    right: Any


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<paren>[()])
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.-]))
  | (?P<word>[^\s()=!<>"']+)
""", re.VERBOSE)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # op | paren | string | number | word | end
    text: str
    column: int
    value: Any = None


def _unquote(text: str, column: int) -> str:
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6] or ""):
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise WhereError(f"unknown escape \\{nxt} in a string", column + i + 1)
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        column = pos + 1
        if m is None:  # an unclosed quote is the only text no alternative takes
            raise WhereError("a string is not closed (its quote has no match)", column)
        kind = m.lastgroup or ""
        piece = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "string":
            out.append(_Tok("string", piece, column, _unquote(piece, column)))
        elif kind == "number":
            out.append(_Tok("number", piece, column, float(piece)))
        else:
            out.append(_Tok(kind, piece, column))
    out.append(_Tok("end", "", len(text) + 1))
    return out


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokens(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Any:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            what = "`)` without its `(`" if tok.text == ")" else f"`{tok.text}`"
            raise WhereError(f"expected `and`, `or` or the end, found {what}", tok.column)
        return node

    def or_(self) -> Any:
        node = self.and_()
        while self.keyword("or"):
            node = Both("or", node, self.and_())
        return node

    def and_(self) -> Any:
        node = self.unary()
        while self.keyword("and"):
            node = Both("and", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.keyword("not"):
            return Not(self.unary())
        tok = self.peek()
        if tok.kind == "paren" and tok.text == "(":
            self.take()
            node = self.or_()
            close = self.take()
            if close.text != ")":
                raise WhereError("expected `)`", close.column)
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        tok = self.take()
        if tok.kind != "word" or tok.text.lower() in ("and", "or", "not", "contains", "true", "false"):
            raise WhereError("expected a field (body.…, headers.…, type, source, received_at)", tok.column)
        field = parse_field(tok.text, tok.column)
        op_tok = self.take()
        op = op_tok.text.lower() if op_tok.kind in ("op", "word") else ""
        if op not in OPS:
            raise WhereError("expected an operator (=, !=, <, <=, >, >=, contains)", op_tok.column)
        value_tok = self.take()
        if value_tok.kind in ("string", "number"):
            value: str | float | bool = value_tok.value
        elif value_tok.kind == "word" and value_tok.text.lower() in ("true", "false"):
            value = value_tok.text.lower() == "true"
        else:
            raise WhereError("expected a value", value_tok.column)
        if op == "contains" and not isinstance(value, str):
            raise WhereError("`contains` takes a quoted string", value_tok.column)
        if isinstance(value, float) and not math.isfinite(value):
            raise WhereError("expected a finite number", value_tok.column)
        return Compare(field, op, value)


def parse_field(text: str, column: int) -> Field:
    parts = text.split(".")
    root = parts[0].lower()
    if root in COLUMNS and len(parts) == 1:
        return Field(root, (), text)
    offset = column
    for part in parts:
        if not SEGMENT.match(part):
            raise WhereError(f"a field path's parts hold only letters, digits, _ and - (`{part or '.'}`)", offset)
        offset += len(part) + 1
    if root in JSON_FIELDS and len(parts) > 1:
        path = tuple(p.lower() for p in parts[1:]) if root == "headers" else tuple(parts[1:])
        if root == "headers" and len(path) != 1:
            return Field("", (), text)  # headers are flat: headers.a.b is no header
        return Field(root, path, text)
    return Field("", (), text)  # not in the archive: matches nothing


def parse(text: str) -> Any:
    """The `--where` expression's tree; raises WhereError naming the column of the first problem."""
    if not text.strip():
        raise WhereError("expected a field", 1)
    return _Parser(text).parse()


# ---------------------------------------------------------------- translation


def json_path(path: tuple[str, ...], engine: str) -> str:
    """`$.a["x-b"][0]` (Trino) or `$.a."x-b"[0]` (DuckDB): segments are checked by parse_field, so none
    holds a quote."""
    out = "$"
    for seg in path:
        if seg.isdigit():
            out += f"[{int(seg)}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", seg):
            out += f".{seg}"
        else:
            out += f'["{seg}"]' if engine == ATHENA else f'."{seg}"'
    return out


def _operand(field: Field, engine: str) -> str:
    if field.root in COLUMNS:
        return field.root
    if not field.root:
        return "CAST(NULL AS VARCHAR)"
    path = json_path(field.path, engine)
    if "'" in path:  # parse_field lets no quote through: never reached, never concatenated
        raise ValueError(f"a field path with a quote: {path!r}")
    if engine == DUCKDB:
        return f"({field.root} ->> '{path}')"
    return f"json_extract_scalar({field.root}, '{path}')"


def _epoch(value: str | float | bool) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def to_sql(node: Any, engine: str) -> tuple[str, list[Any]]:
    """The condition's SQL and its parameters, in order (`?` placeholders)."""
    if isinstance(node, Both):
        left, lp = to_sql(node.left, engine)
        right, rp = to_sql(node.right, engine)
        return f"({left} {node.kind.upper()} {right})", lp + rp
    if isinstance(node, Not):
        inner, params = to_sql(node.inner, engine)
        return f"(NOT {inner})", params
    field, op, value = node.field, node.op, node.value
    operand = _operand(field, engine)
    if field.root == "received_at":
        when = _epoch(value)
        if when is None or op == "contains":
            return "(1 = 0)", []  # received_at is a time: a value that is none matches nothing
        return f"({operand} {'<>' if op == '!=' else op} ?)", [when]
    if op == "contains":
        return f"(strpos({operand}, ?) > 0)", [value]
    if isinstance(value, bool):
        return f"({operand} {'<>' if op == '!=' else '='} ?)" if op in ("=", "!=") else "(1 = 0)", \
            ([("true" if value else "false")] if op in ("=", "!=") else [])
    if isinstance(value, float):
        return f"(TRY_CAST({operand} AS DOUBLE) {'<>' if op == '!=' else op} ?)", [value]
    return f"({operand} {'<>' if op == '!=' else op} ?)", [value]


def athena_literal(value: Any) -> str:
    """An ExecutionParameters entry: Athena reads each as one literal, strings in single quotes (a quote
    inside doubled, as SQL writes it)."""
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else str(int(value))
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Search:
    """What `hookline events search` asks for."""

    where: str | None = None
    since: float | None = None  # epoch seconds
    until: float | None = None
    sources: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    limit: int = 1000


def search_sql(search: Search, table: str, engine: str) -> tuple[str, list[Any]]:
    """One query over the archive table: the events (DISTINCT: a line archived twice counts once) that match,
    each route's latest attempt status joined on (`received` when none), oldest first."""
    if not _TABLE.match(table):  # the stack's own names; checked since they are written into the SQL
        raise ValueError(f"not a table name: {table!r}")
    where, params = ["kind = 'event'"], []
    attempts_where, attempt_params = ["kind = 'attempt'"], []
    if search.since is not None:
        # dt (the partition) first: Athena reads only the days asked for.
        for clauses, values in ((where, params), (attempts_where, attempt_params)):
            clauses.append("dt >= ?")
            values.append(datetime.fromtimestamp(search.since, tz=UTC).strftime("%Y-%m-%d"))
        where.append("received_at >= ?")
        params.append(float(search.since))
    if search.until is not None:
        where.append("received_at <= ?")
        params.append(float(search.until))
    for column, values in (("source", search.sources), ("route", search.routes)):
        if values:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    if search.where:
        condition, more = to_sql(parse(search.where), engine)
        where.append(condition)
        params.extend(more)
    outer, outer_params = "", []
    if search.statuses:
        outer = f"WHERE coalesce(a.status, 'received') IN ({', '.join('?' for _ in search.statuses)}) "
        outer_params = list(search.statuses)
    # Only this module's clauses, checked field paths and the checked table: every value is a `?` parameter.
    sql = (
        "SELECT e.id, e.source, e.type, e.received_at, e.route, coalesce(a.status, 'received') AS status, "  # noqa: S608  # nosec B608 - every value is a ? parameter
        "coalesce(a.attempts, 0) AS attempts, a.status_code "
        f"FROM (SELECT DISTINCT id, source, type, received_at, route FROM {table} WHERE {' AND '.join(where)}) e "
        "LEFT JOIN (SELECT id, route, max_by(status, \"at\") AS status, max_by(status_code, \"at\") AS status_code, "
        f"count(*) AS attempts FROM {table} WHERE {' AND '.join(attempts_where)} GROUP BY id, route) a "
        "ON a.id = e.id AND a.route = e.route "
        f"{outer}ORDER BY e.received_at, e.id, e.route LIMIT {int(search.limit)}"
    )
    return sql, params + attempt_params + outer_params
