"""`--where` (operations/archive_query.py): one query set, 30+ filter cases, through both translators.

DuckDB's translation is checked by its results: the ids each case finds in an archive built by
core/archive.py from real DeliveryTasks (as delivery writes it). Athena's is checked by its translation:
its SQL parses as Trino (sqlglot), holds no user value (every value is an ExecutionParameters entry), and,
transpiled by sqlglot to DuckDB and run on the same archive with the same values, finds the same ids.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlglot

from hookline.core.archive import attempt_record, event_record, line
from hookline.core.messages import DeliveryTask
from hookline.operations.archive_query import (
    ATHENA,
    DUCKDB,
    Search,
    WhereError,
    athena_literal,
    parse,
    search_sql,
)
from hookline.operations.archive_search import DuckDbArchive, hits

T0 = datetime(2026, 12, 5, 12, tzinfo=UTC).timestamp()
T_OLD = datetime(2026, 12, 3, 9, tzinfo=UTC).timestamp()

EVENTS = [  # (id, source, type, received_at, routes, headers, body)
    ("e1", "stripe", "customer.created", T0 + 60, ["crm"], {"x-request-id": "r1", "user-agent": "Stripe/1.0"},
     {"data": {"object": {"customer": "cus_123", "amount": 1000, "paid": True,
                          "metadata": {"note": "O'Reilly"}}}}),
    ("e2", "stripe", "invoice.paid", T0 + 120, ["crm"], {},
     {"data": {"object": {"customer": "cus_456", "amount": 250, "paid": False, "name": "Zoë ☃"}}}),
    ("e3", "github", "push", T0 + 180, ["ci"], {"x-github-event": "push"},
     {"repository": {"full_name": "acme/app"}, "commits": [{"id": "c1", "message": "fix: ünïcode"}]}),
    ("e4", "github", "pull_request", T0 + 240, ["ci"], {"x-github-event": "pull_request"},
     {"action": "opened", "number": 42, "pull_request": {"title": 'Add "quotes" support'}}),
    ("e5", "shopify", "orders/create", T0 + 300, ["erp"], {},
     {"id": 5001, "total_price": "19.99", "customer": {"email": "a@example.com"}, "tags": "vip, repeat"}),
    ("e6", "shopify", "orders/create", T0 + 360, ["erp"], {}, {"id": 5002, "total_price": "250.00", "customer": None}),
    ("e7", "stripe", "charge.succeeded", T0 + 420, ["crm"], {}, "plain text, not JSON"),
    ("e8", "stripe", "test_event", T0 + 480, ["crm"], {}, {"x": "1' OR '1'='1"}),
    ("e9", "orders", "order", T_OLD, ["erp"], {}, {"n": -5.5}),
    ("e10", "stripe", "customer.updated", T0 + 540, ["crm", "warehouse"], {},
     {"data": {"object": {"customer": "cus_123", "amount": 99}}}),
    ("e11", "custom", "login", T0 + 600, ["audit"], {"x-api-token": "tok_planted_secret"},
     {"password": "hunter2", "user": "bob"}),
    ("e12", "custom", "batch", T0 + 660, ["audit"], {}, [{"sku": "A"}, {"sku": "B"}]),
]
STRIPE = ["e1", "e2", "e7", "e8", "e10"]

CASES = [  # (where, ids found, oldest first)
    ('body.data.object.customer = "cus_123"', ["e1", "e10"]),
    ('body.data.object.customer != "cus_123"', ["e2"]),  # a missing field is not "different"
    ("body.data.object.amount > 500", ["e1"]),
    ("body.data.object.amount <= 250", ["e2", "e10"]),
    ("body.data.object.paid = true", ["e1"]),
    ("body.data.object.paid = false", ["e2"]),
    ('type = "orders/create"', ["e5", "e6"]),
    ('source = "github" and body.action = "opened"', ["e4"]),
    ("source = 'github' or source = 'shopify'", ["e3", "e4", "e5", "e6"]),
    ('not source = "stripe"', ["e9", "e3", "e4", "e5", "e6", "e11", "e12"]),
    ('source = "stripe" and type = "invoice.paid" or source = "orders"', ["e9", "e2"]),  # and binds tighter
    ('source = "stripe" and (type = "invoice.paid" or type = "charge.succeeded")', ["e2", "e7"]),
    ('not (source = "stripe" or source = "github")', ["e9", "e5", "e6", "e11", "e12"]),
    ('body.data.object.name = "Zoë ☃"', ["e2"]),  # unicode
    ('body.data.object.name = "Zo\\u00eb \\u2603"', ["e2"]),  # the same, escaped
    ('body.commits.0.message contains "ünï"', ["e3"]),  # array index, unicode
    ('body.pull_request.title = "Add \\"quotes\\" support"', ["e4"]),  # double quotes inside
    ("body.data.object.metadata.note = \"O'Reilly\"", ["e1"]),  # a single quote inside
    ("body.x = \"1' OR '1'='1\"", ["e8"]),  # injection attempt: only the literal text matches
    ("source = \"x'; DROP TABLE archive; --\"", []),  # injection attempt
    ("body.x = '1\\' OR \\'1\\'=\\'1'", ["e8"]),  # injection attempt, single-quoted and escaped
    ("body.nope = 1", []),  # missing field
    ('foo = "bar"', []),  # unknown field: empty, not an error
    ('not foo = "bar"', []),  # ... under not too (SQL's NULL)
    ('headers.x-github-event = "push"', ["e3"]),
    ('headers.X-Request-Id = "r1"', ["e1"]),  # header names in any case
    ('body.total_price contains "9.9"', ["e5"]),
    ('body.tags contains "vip"', ["e5"]),
    ('received_at < "2026-12-04T00:00:00Z"', ["e9"]),
    ("body.n < -5", ["e9"]),  # a negative number
    ('body.0.sku = "A"', ["e12"]),  # an array body
    ('body.customer.email contains "@example.com"', ["e5"]),
    ("body.id >= 5001 and body.id < 5002", ["e5"]),
    ('body.password = "hunter2"', []),  # redacted in the archive: never found by its value
    ('body.user = "bob"', ["e11"]),
    ('headers.x-api-token = "tok_planted_secret"', []),  # redacted
    ('type contains "customer."', ["e1", "e10"]),
    ('body.data.object.customer = "cus_123" and not body.data.object.amount < 100', ["e1"]),
]


def archive_lines() -> list[bytes]:
    lines = []
    for event_id, source, type_, received_at, routes, headers, body in EVENTS:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        for route in routes:
            task = DeliveryTask(event_id=event_id, source=source, route=route, type=type_, received_at=received_at,
                                headers=headers, body=text)
            lines.append(line(event_record(task, received_at + 1)))
            lines.append(line(attempt_record(task, status="delivered", attempt=1, status_code=200, latency_ms=12.5,
                                             reason=None, at=received_at + 2)))
    # e10's crm line archived twice (a crash between the put and the acknowledgement): still one event.
    lines.append(lines[[json.loads(x)["id"] for x in lines].index("e10")])
    # e6 failed once before it was delivered: its latest status wins.
    e6 = DeliveryTask(event_id="e6", source="shopify", route="erp", type="orders/create", received_at=T0 + 360,
                      body="{}")
    lines.append(line(attempt_record(e6, status="retrying", attempt=1, status_code=503, latency_ms=30.0,
                                     reason="http_5xx", at=T0 + 361)))
    return lines


@pytest.fixture(scope="module")
def con():
    data = b"".join(archive_lines())
    connection = DuckDbArchive(lambda since: iter([data])).connect(None)
    yield connection
    connection.close()


def _ids(con, sql: str, params: list) -> list[str]:
    return [h.id for h in hits(DuckDbArchive.rows(con, sql, params))]


def test_the_query_set_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(("where", "expected"), CASES, ids=[c[0] for c in CASES])
def test_duckdb_finds_the_expected_ids(con, where: str, expected: list[str]) -> None:
    assert _ids(con, *search_sql(Search(where=where), "archive", DUCKDB)) == expected


@pytest.mark.parametrize(("where", "expected"), CASES, ids=[c[0] for c in CASES])
def test_athena_sql_is_trino_keeps_values_out_and_finds_the_same_ids(con, where: str, expected: list[str]) -> None:
    sql, params = search_sql(Search(where=where), '"hookline"."archive"', ATHENA)
    sqlglot.parse_one(sql, read="trino")  # raises on SQL Trino's grammar does not take
    for value in params:
        if isinstance(value, str) and len(value) > 1:
            assert value not in sql, f"{value!r} is in the SQL text"
    assert sql.count("?") == len(params)
    literals = [athena_literal(p) for p in params]
    assert all(isinstance(x, str) for x in literals)
    # Run Athena's own SQL: transpiled by sqlglot from Trino to DuckDB, with the same values bound.
    local_sql, _ = search_sql(Search(where=where), "archive", ATHENA)
    transpiled = sqlglot.transpile(local_sql, read="trino", write="duckdb")[0]
    assert _ids(con, transpiled, params) == expected


def test_athena_literals_quote_strings_and_double_their_quotes() -> None:
    assert athena_literal("1' OR '1'='1") == "'1'' OR ''1''=''1'"
    assert athena_literal(5001.0) == "5001"
    assert athena_literal(-5.5) == "-5.5"


def test_athena_json_paths_use_brackets_for_names_with_dashes() -> None:
    sql, _ = search_sql(Search(where='headers.x-github-event = "push" and body.a.0.b-c = 1'), "t", ATHENA)
    assert """json_extract_scalar(headers, '$["x-github-event"]')""" in sql
    assert """json_extract_scalar(body, '$.a[0]["b-c"]')""" in sql


def test_source_route_status_and_since_narrow_the_search(con) -> None:
    def ids(**kw) -> list[str]:
        return _ids(con, *search_sql(Search(**kw), "archive", DUCKDB))

    assert ids(sources=("stripe",)) == STRIPE
    assert ids(routes=("warehouse",)) == ["e10"]
    assert ids(statuses=("delivered",)) == [e[0] for e in sorted(EVENTS, key=lambda e: e[3])]
    assert ids(since=T0) == [e[0] for e in EVENTS if e[0] != "e9"]
    assert ids(where='type = "order"', since=T0) == []  # e9 is older


def test_a_hit_has_each_route_and_its_latest_status(con) -> None:
    found = {h.id: h for h in hits(DuckDbArchive.rows(con, *search_sql(Search(), "archive", DUCKDB)))}
    assert sorted(found["e10"].routes) == ["crm", "warehouse"]
    assert found["e10"].routes["crm"]["status"] == "delivered"
    assert found["e6"].routes["erp"] == {"status": "delivered", "attempts": 2, "status_code": 200}


@pytest.mark.parametrize(("where", "message"), [
    ("body.x = ", "--where: expected a value at column 10"),
    ('source = "github" and body.x = ', "--where: expected a value at column 32"),
    ('body.x = "abc', "--where: a string is not closed (its quote has no match) at column 10"),
    ('(source = "a"', "--where: expected `)` at column 14"),
    ('source = "a" and', "--where: expected a field (body.…, headers.…, type, source, received_at) at column 17"),
    ("body.a b = 1", "--where: expected an operator (=, !=, <, <=, >, >=, contains) at column 8"),
    ("body.x == 1", "--where: expected a value at column 9"),
    ("body.a$b = 1", "--where: a field path's parts hold only letters, digits, _ and - (`a$b`) at column 6"),
    ('source = "a" "b"', "--where: expected `and`, `or` or the end, found `\"b\"` at column 14"),
    ("body.x contains 3", "--where: `contains` takes a quoted string at column 17"),
    ("", "--where: expected a field at column 1"),
    ("source = \"a\")", "--where: expected `and`, `or` or the end, found `)` without its `(` at column 13"),
])
def test_a_malformed_where_is_one_line_naming_the_column(where: str, message: str) -> None:
    with pytest.raises(WhereError) as e:
        parse(where)
    assert str(e.value) == message
    assert "\n" not in str(e.value)
