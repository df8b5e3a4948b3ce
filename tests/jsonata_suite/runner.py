"""Run the official JSONata test suite (vendored here, MIT, see LICENSE and README.md) through an
engine, the way a warm route uses it.

Every case is compiled once. Its compiled form is evaluated at the start, again after the
injected clock moved on 3 s, then 2 h, and then from THREADS threads at once; a case passes only
if every one of those evaluations matches the expected result or error code.

`python -m tests.jsonata_suite.runner` prints hookline's pass rate and the failing cases;
benchmarks/bench_jsonata_engines.py runs the same cases through other engines.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
THREADS = 4
LATER = (3.0, 2 * 3600.0)
# The JS runner's time box raises U1001; engines raise their own runaway codes for the same thing.
RUNAWAY_CODES = {"U1001", "D1011", "D1012", "D2014"}
_UNDEFINED = object()


@dataclass(frozen=True)
class Engine:
    """How to run one engine: `compile(expr)` -> handle, `evaluate(handle, input, bindings)`.

    Both raise on failure; `code_of(exception)` reads the JSONata error code from what they raise.
    """

    name: str
    compile: Callable[[str], Any]
    evaluate: Callable[[Any, Any, dict], Any]
    code_of: Callable[[BaseException], str | None]
    advance: Callable[[float], None] = lambda seconds: None


def load() -> tuple[list[dict], dict[str, Any]]:
    cases = json.loads((HERE / "cases.json").read_text())
    datasets = json.loads((HERE / "datasets.json").read_text())
    return cases, datasets


def case_input(case: dict, datasets: dict[str, Any]) -> Any:
    if "data" in case:
        return case["data"]
    if case.get("dataset") is None:
        return None
    return datasets[case["dataset"]]


def _code_in_text(e: BaseException) -> str | None:
    found = re.search(r"\b([A-Z]\d{4})\b", str(e))
    return getattr(e, "code", None) or (found.group(1) if found else None)


def same(a: Any, b: Any) -> bool:
    """JSON equality as the JS runner's deep-equal sees it: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (math.isclose(a, b, rel_tol=1e-15) and not (a != a or b != b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _unordered_same(a: Any, b: Any) -> bool:
    if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
        return same(a, b)
    rest = list(b)
    for x in a:
        match = next((i for i, y in enumerate(rest) if same(x, y)), None)
        if match is None:
            return False
        rest.pop(match)
    return True


def check(case: dict, outcome: tuple[str, Any]) -> str | None:
    """None if `outcome` ("ok", value) or ("error", code) is what the case expects, else why not."""
    kind, got = outcome
    expected_code = case.get("code") or (case.get("error") or {}).get("code")
    if expected_code:
        if kind == "error" and (got == expected_code or (expected_code == "U1001" and got in RUNAWAY_CODES)):
            return None
        return f"expected error {expected_code}, got {kind} {got!r:.200}"
    if kind == "error":
        return f"unexpected error {got}"
    if "undefinedResult" in case:
        return None if got is None else f"expected undefined, got {got!r:.200}"
    if "result" in case:
        matches = _unordered_same if case.get("unordered") else same
        # a route has no `undefined`: JSONata's null and undefined both reach the mapping as None
        return None if matches(got, case["result"]) else f"expected {case['result']!r:.200}, got {got!r:.200}"
    return "nothing to check"


def _evaluate(engine: Engine, handle: Any, case: dict, data: Any) -> tuple[str, Any]:
    try:
        return "ok", engine.evaluate(handle, data, dict(case.get("bindings") or {}))
    except Exception as e:
        return "error", engine.code_of(e)


def run(engine: Engine, cases: list[dict] | None = None, datasets: dict[str, Any] | None = None,
        threads: int = THREADS, later: tuple[float, ...] = LATER) -> dict[str, str]:
    """Every case's failure reason, keyed by case id (absent = passed).

    A case that has failed is not evaluated again (a runaway case costs its whole time budget).
    In the threaded round each case is evaluated by two of the threads at the same moment.
    """
    if cases is None or datasets is None:
        cases, datasets = load()
    failures: dict[str, str] = {}
    compiled: list[tuple[dict, Any, Any]] = []

    def record(case: dict, why: str | None, when: str) -> None:
        if why and case["id"] not in failures:
            failures[case["id"]] = f"{when}: {why}"

    for case in cases:  # "fresh": evaluated as soon as it is compiled
        try:
            handle = engine.compile(case["expr"])
        except Exception as e:
            why = check(case, ("error", engine.code_of(e)))
            if why:
                failures[case["id"]] = f"compile: {why}"
            continue
        compiled.append((case, handle, case_input(case, datasets)))
        record(case, check(case, _evaluate(engine, handle, case, data=compiled[-1][2])), "fresh")

    for when, seconds in ((f"+{s:g}s", s) for s in later):
        engine.advance(seconds)
        for case, handle, data in compiled:
            if case["id"] not in failures:
                record(case, check(case, _evaluate(engine, handle, case, data)), when)
    if threads <= 1:
        return failures

    lock = threading.Lock()
    gate = threading.Barrier(threads)

    def worker(n: int) -> None:
        mine = [c for i, c in enumerate(compiled) if i % threads in (n, (n + 1) % threads)]
        gate.wait()
        for case, handle, data in mine:
            if case["id"] in failures:
                continue
            why = check(case, _evaluate(engine, handle, case, data))
            with lock:
                record(case, why, f"{threads} threads")

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return failures


def hookline_engine() -> Engine:
    """hookline's `{jsonata:}` path: compile_jsonata, then JsonataExpression.evaluate."""
    from hookline.mapping.jsonata import JsonataEvalError, JsonataSyntaxError, compile_jsonata

    class Clock:  # real time plus what the run has advanced, so runaway cases still time out
        offset = 0.0

        def monotonic(self) -> float:
            return time.monotonic() + self.offset

        def time(self) -> float:
            return time.time() + self.offset

    clock = Clock()

    def advance(seconds: float) -> None:
        clock.offset += seconds

    def code_of(e: BaseException) -> str | None:
        if isinstance(e, JsonataEvalError | JsonataSyntaxError):
            found = re.search(r"\(([A-Z]\d{4})\b", str(e))
            return found.group(1) if found else None
        return f"{type(e).__name__} escaped the adapter: {e}"

    return Engine("hookline (jsonata-python + fixes)", lambda expr: compile_jsonata(expr, clock=clock),
                  lambda handle, data, bindings: handle.evaluate(data, data, bindings), code_of, advance)


def main() -> None:
    cases, datasets = load()
    started = time.monotonic()
    failures = run(hookline_engine(), cases, datasets)
    took = time.monotonic() - started
    for case_id, why in sorted(failures.items()):
        print(f"{case_id}\t{why}")
    passed = len(cases) - len(failures)
    print(f"{passed}/{len(cases)} passed ({100 * passed / len(cases):.1f}%) in {took:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
