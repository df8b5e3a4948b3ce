"""A compiled `{jsonata:}` expression as a warm container uses it: evaluated again after the clock
moved on (seconds, minutes, hours), after hundreds of failures, from ten threads at once, and
against inputs built to exhaust it (a backtracking regex, a huge range).

Time is injected, never slept: `clock` replaces both hookline's clock and the `time` module the
jsonata library reads, so the same test exercises whichever of them measures the budget.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jsonata.timebox
import pytest

from hookline.mapping import jsonata as J
from hookline.mapping.compiler import MappingError, compile_transform
from hookline.mapping.jsonata import JsonataEvalError, compile_jsonata
from tests.support.aging import together

LATER = [2.5, 10 * 60.0, 6 * 3600.0]  # seconds, minutes, hours after compiling


class FakeClock:
    """Moves only when told (`tick`, if set, is added on every reading, for runaway loops)."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.tick = 0.0
        self._lock = threading.Lock()
        self._mono, self._wall = time.monotonic(), time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds

    def _read(self) -> float:
        with self._lock:
            self.offset += self.tick
            return self.offset

    def monotonic(self) -> float:
        return self._mono + self._read()

    def time(self) -> float:
        return self._wall + self._read()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(J, "clock", fake, raising=False)
    monkeypatch.setattr(jsonata.timebox, "time", fake)  # the library's own time box reads time.time()
    return fake


def env(body: Any) -> dict:
    return {"id": "evt_1", "body": body}


def evaluate(expr: J.JsonataExpression, body: Any) -> Any:
    e = env(body)
    return expr.evaluate(e, e)


# ------------------------------------------------------------------ the time budget
@pytest.mark.parametrize("later", LATER)
def test_a_compiled_expression_still_evaluates_after_the_clock_moves_on(clock: FakeClock, later: float) -> None:
    expr = compile_jsonata("body.amount / 100")
    assert evaluate(expr, {"amount": 1234}) == 12.34
    clock.advance(later)
    assert evaluate(expr, {"amount": 1234}) == 12.34
    clock.advance(later)
    assert evaluate(expr, {"amount": 99}) == 0.99


def test_a_mapping_route_delivers_every_event_of_a_long_running_container(clock: FakeClock) -> None:
    """The issue's reproduction: events at 0, 1, 5 and 10 s, then hours later."""
    transform = compile_transform({"amount": {"jsonata": "body.data.object.amount / 100"}})
    for pause in [0, 1, 5, 10, 3600, 6 * 3600]:
        clock.advance(pause)
        assert transform.apply(env({"data": {"object": {"amount": 129900}}})) == {"amount": 1299}


def test_each_evaluation_has_its_own_time_budget(clock: FakeClock) -> None:
    expr = compile_jsonata("$count($map([1..1000], function($v) { $v * 2 }))")
    clock.tick = 0.01  # every reading of the clock moves it 10 ms: this evaluation runs 1000 x 10 ms
    with pytest.raises(JsonataEvalError, match=r"D1012"):
        evaluate(expr, {})
    clock.tick = 0.0
    clock.advance(3600)
    assert evaluate(expr, {}) == 1000


# ------------------------------------------------------------------ the depth counter
def test_failed_evaluations_leave_the_depth_counter_as_it_was(clock: FakeClock) -> None:
    expr = compile_jsonata("$number(body.x) * 2")
    for _ in range(500):
        with pytest.raises(JsonataEvalError, match="T0410"):
            evaluate(expr, {"x": [1, "a"]})
    assert evaluate(expr, {"x": "21"}) == 42
    clock.advance(600)
    assert evaluate(expr, {"x": "4"}) == 8


def test_runaway_recursion_fails_each_time_and_the_next_event_is_fine(clock: FakeClock) -> None:
    # not a tail call (`1 + ...`), so each call nests one level deeper
    expr = compile_jsonata("body.deep ? ($f := function($n) { 1 + $f($n + 1) }; $f(0)) : body.n + 1")
    for _ in range(50):
        with pytest.raises(JsonataEvalError, match=r"D1011|nested too deeply"):
            evaluate(expr, {"deep": True})
    assert evaluate(expr, {"deep": False, "n": 1}) == 2


@pytest.mark.parametrize(("source", "expected"), [
    ('$each(body.props, function($v, $k) { {"name": $k, "value": $v} }){name: $sum(value)}',
     {f"k{i}": i for i in range(150)}),
    ('($x := body.props; $each($x, function($v, $k) { {"name": $k, "value": $v} }){name: value})',
     {f"k{i}": i for i in range(150)}),
    ("$map([1..300], function($v) { [$v, -$v] })", [[v, -v] for v in range(1, 301)]),
])
def test_depth_counts_nesting_not_calls(clock: FakeClock, source: str, expected: Any) -> None:
    """A 150-key grouping and a 300-element map are shallow. The library's counter, which skips
    frames flagged as parallel calls, drifted one level per element and failed them with D1011."""
    body = {"props": {f"k{i}": i for i in range(150)}}
    expr = compile_jsonata(source)
    assert evaluate(expr, body) == expected
    assert evaluate(expr, body) == expected
    clock.advance(3600)
    assert evaluate(expr, body) == expected


# ------------------------------------------------------------------ threads
def test_ten_threads_evaluate_one_compiled_expression_at_once(clock: FakeClock) -> None:
    expr = compile_jsonata('{"total": $sum(body.items.(qty * price)), "who": $uppercase(body.name), '
                           '"n": $count(body.items), "ok": body.name in ["t0","t1","t2","t3","t4","t5","t6","t7",'
                           '"t8","t9"]}')
    failing = compile_jsonata("$number(body.items) + 1")

    def work(i: int) -> list[Any]:
        out = []
        for round_ in range(60):
            if round_ % 3 == 0:
                with pytest.raises(JsonataEvalError):
                    evaluate(failing, {"items": [1, "x"]})
            items = [{"qty": q, "price": i + 1} for q in range(round_ % 7 + 1)]
            out.append(evaluate(expr, {"name": f"t{i}", "items": items}))
        return out

    for later in [0.0, *LATER]:
        clock.advance(later)
        results = together(work)
        for i, out in enumerate(results):
            for round_, r in enumerate(out):
                n = round_ % 7 + 1
                assert r == {"total": (i + 1) * n * (n - 1) // 2, "who": f"T{i}", "n": n, "ok": True}


def test_partial_application_of_a_native_function_from_ten_threads(clock: FakeClock) -> None:
    # The library parses a trampoline for `$f(?, x)` at evaluation time, with the parser of the thread that
    # compiled the expression: threads evaluating at once shared it and got S0203 parse errors (found by
    # the official suite's 4-thread run, function-applications/case009).
    expr = compile_jsonata('($domain := $substringAfter(?, "@") ~> $substringBefore(?, "."); '
                           '$domain(body.email))')

    def work(i: int) -> list[Any]:
        return [evaluate(expr, {"email": f"u{i}@site{n}.example"}) for n in range(150)]

    for out in together(work):
        assert out == [f"site{n}" for n in range(150)]


def test_now_follows_the_clock_on_every_thread(clock: FakeClock) -> None:
    expr = compile_jsonata("$millis()")
    first = together(lambda i: evaluate(expr, {}))
    clock.advance(3600)
    second = together(lambda i: evaluate(expr, {}))
    assert all(3600_000 - 5 <= b - a <= 3600_000 + 5 for a, b in zip(first, second, strict=True))
    assert all(abs(b - clock.time() * 1000) < 5 for b in second)


# ------------------------------------------------------------------ hostile inputs
def test_a_backtracking_regex_fails_within_the_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(J, "EVAL_TIMEOUT_MS", 300)
    expr = compile_jsonata("$contains(body.s, /^(a|aa)+$/)")
    started = time.monotonic()
    with pytest.raises(JsonataEvalError, match="D1012"):
        evaluate(expr, {"s": "a" * 40 + "!"})  # stdlib re: about 2**28 steps
    assert time.monotonic() - started < 1.5
    assert evaluate(expr, {"s": "aaaa"}) is True


def test_the_issues_regex_bomb_answers_at_once() -> None:
    expr = compile_jsonata("$contains(body.s, /^(a+)+$/)")
    started = time.monotonic()
    assert evaluate(expr, {"s": "a" * 29 + "!"}) is False  # stdlib re ran this for 26.8 s
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("source", ["[1..1e7]", "$count([1..1e7])", "$count([1..1e6].[1..1e6])",
                                    "$string([1..5e6])"])
def test_a_huge_sequence_fails_cleanly_with_a_jsonata_code(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(JsonataEvalError, match="D2014") as e:
        evaluate(compile_jsonata(source), {})
    assert "hookline's limit" in str(e.value)
    assert time.monotonic() - started < 1.5


def test_a_range_within_the_limit_still_works() -> None:
    assert evaluate(compile_jsonata("$count([1..1e5])"), {}) == 100_000


# ------------------------------------------------------------------ JSONata as users expect it
BIG_ID = 5890840712243076


@pytest.mark.parametrize(("source", "body", "expected"), [
    ("$string(5890840712243076)", {}, "5890840712243076"),
    ("$string(body.id)", {"id": BIG_ID}, "5890840712243076"),
    ('"cus_" & body.id', {"id": BIG_ID}, "cus_5890840712243076"),
    ("$string(body.id)", {"id": 2**63 - 1}, "9223372036854775807"),
    ("body.id", {"id": 2**63 - 1}, 2**63 - 1),
    ("body.ids[1]", {"ids": [1, 10**20 + 1]}, 10**20 + 1),
    ('{"ref": body.id}', {"id": 2**63 - 1}, {"ref": 2**63 - 1}),
    ('$string({"id": body.id})', {"id": 2**63 - 1}, '{"id":9223372036854775807}'),
    ('$number("5890840712243076123")', {}, 5890840712243076123),
    ("$max(body.ids)", {"ids": [1, 2**63 - 1]}, 2**63 - 1),
    ("$string(0.1 + 0.2)", {}, "0.3"),
    ("$string(1e21)", {}, "1e+21"),
    ("$string(-1.5e-7)", {}, "-1.5e-7"),
])
def test_large_integers_keep_every_digit(source: str, body: Any, expected: Any) -> None:
    assert evaluate(compile_jsonata(source), body) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("-5 ?: 99", -5),
    ("body.n ?: 99", -3),
    ("[1,2,3][-1] ?: 42", 3),
    ("body.xs[-1] ?: 42", 30),
    ("body.missing ?: 42", 42),
    ("0 ?: 42", 42),
])
def test_the_default_operator_with_negative_numbers_and_indexes(source: str, expected: Any) -> None:
    assert evaluate(compile_jsonata(source), {"n": -3, "xs": [10, 20, 30]}) == expected


def test_sort_with_a_comparator_puts_a_after_b_when_it_answers_true() -> None:
    body = {"items": [{"sku": "a", "price": 30}, {"sku": "b", "price": 10}, {"sku": "c", "price": 20},
                      {"sku": "d", "price": 10}]}
    ascending = compile_jsonata("$sort(body.items, function($a, $b) { $a.price > $b.price }).sku")
    descending = compile_jsonata("$sort(body.items, function($a, $b) { $a.price < $b.price }).sku")
    assert evaluate(ascending, body) == ["b", "d", "c", "a"]  # stable: b before d
    assert evaluate(descending, body) == ["a", "c", "b", "d"]
    assert evaluate(compile_jsonata("body.items^(>price).sku"), body) == ["a", "c", "b", "d"]


def test_replace_with_a_function_gets_the_capture_groups() -> None:
    expr = compile_jsonata('$replace(body.s, /(\\d+)F\\b/, '
                           'function($m) { $string(($number($m.groups[0]) - 32) * 5 / 9) & "C" })')
    assert evaluate(expr, {"s": "68F today, 212F tomorrow"}) == "20C today, 100C tomorrow"
    assert evaluate(compile_jsonata('$replace("265USD", /([0-9]+)USD/, "$1 $$ $2")'), {}) == "265 $ "


def test_contains_with_nothing_is_undefined_not_a_python_error() -> None:
    assert evaluate(compile_jsonata("$contains(body.s, nothing)"), {"s": "abc"}) is None
    assert evaluate(compile_jsonata("$contains(body.s, body.missing)"), {"s": "abc"}) is None


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert evaluate(compile_jsonata('$length("\\uD834\\uDD1E")'), {}) == 1


@pytest.mark.parametrize(("source", "body", "code"), [
    ("body.s + 1", {"s": "x"}, "T2001"),
    ("$number(body.s)", {"s": "33 1/2"}, "D3030"),
    ("$power(-2, 1/3)", {}, "D3061"),
    ("$sort(body.xs)", {"xs": [1, "a"]}, "D3070"),
    ('$replace("hello", "", "bye")', {}, "D3010"),
    ('$replace("abracadabra", /.*?/, "$1")', {}, "D1004"),
    ("$string(body.f)", {"f": float("inf")}, "D3001"),
    ("$number(body.xs)", {"xs": [1, "a"]}, "T0410"),
    ('$decodeUrl("%E0%A4%A")', {}, "D3140"),
    ("$substring(body.s, 'a')", {"s": "abc"}, "T0410"),
])
def test_every_failure_names_a_jsonata_code_and_no_python_exception(source: str, body: Any, code: str) -> None:
    transform = compile_transform({"x": {"jsonata": source}})
    with pytest.raises(MappingError) as e:
        transform.apply(env(body))
    message = str(e.value)
    assert f"({code}" in message, message
    for python_name in ("Error:", "Exception", "Traceback", "NoneType", "object has no attribute"):
        assert python_name not in message, message


def test_calling_a_value_that_is_not_a_function_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The library printed `Proc not found <the value>` to stdout: event data in the logs."""
    with pytest.raises(JsonataEvalError, match="T1006"):
        evaluate(compile_jsonata("body.token()"), {"token": "sk_live_0123456789"})
    captured = capsys.readouterr()
    assert "sk_live" not in captured.out + captured.err
