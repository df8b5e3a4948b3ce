"""Handlers loaded from CodeUri + Handler and invoked like Lambda: context, timeouts, environments."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path

import pytest

from hookline.local.context import LocalLambdaContext
from hookline.local.runtime import HandlerLoadError, LocalFunction, load_handler


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_context_counts_down_from_the_timeout() -> None:
    clock = FakeClock()
    ctx = LocalLambdaContext(function_name="hookline-dev-DeliverFunction", memory_limit_in_mb=512,
                             timeout_seconds=30, clock=clock)
    assert ctx.get_remaining_time_in_millis() == 30_000
    clock.now += 12.5
    assert ctx.get_remaining_time_in_millis() == 17_500
    clock.now += 60
    assert ctx.get_remaining_time_in_millis() == 0


def test_context_has_what_the_lambda_runtime_passes() -> None:
    ctx = LocalLambdaContext(function_name="fn", region="eu-west-1", account_id="111122223333")
    assert ctx.invoked_function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:fn"
    assert ctx.function_version == "$LATEST" and ctx.log_group_name == "/aws/lambda/fn"
    assert "[$LATEST]" in ctx.log_stream_name
    assert len(ctx.aws_request_id) == 36 and ctx.aws_request_id != LocalLambdaContext("fn").aws_request_id


MODULE = '''
import threading, time
from helper import VALUE  # a sibling module, as Lambda allows
LOADS = []
LOADS.append(1)
gate = threading.Event()

def handler(event, context):
    return {"value": VALUE, "event": event, "remaining": context.get_remaining_time_in_millis(),
            "environment": id(LOADS)}

def wait(event, context):
    gate.wait(event.get("seconds", 1))
    return id(LOADS)

def sleepy(event, context):
    time.sleep(0.5)
    return "done"

def fails(event, context):
    raise ValueError("no")
'''


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "helper.py").write_text("VALUE = 42\n")
    return tmp_path


def test_handler_is_imported_from_its_code_directory(code: Path) -> None:
    fn = LocalFunction("F", code, "app.handler", function_name="stack-F", timeout=3)
    fn.load()
    inv = fn.invoke({"x": 1})
    assert inv.ok and inv.result["value"] == 42 and inv.result["event"] == {"x": 1}
    assert 2000 < inv.result["remaining"] <= 3000
    assert inv.duration_ms >= 0 and inv.request_id


@pytest.mark.parametrize(("handler", "message"), [
    ("missing.handler", "does not exist"),
    ("app.nothing", "has no function 'nothing'"),
    ("handler", "module.function"),
])
def test_load_errors_name_the_problem(code: Path, handler: str, message: str) -> None:
    with pytest.raises(HandlerLoadError, match=message):
        load_handler(code, handler)


def test_an_import_error_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(HandlerLoadError, match="ModuleNotFoundError"):
        load_handler(tmp_path, "app.handler")


def test_errors_and_timeouts_are_results(code: Path) -> None:
    inv = LocalFunction("F", code, "app.fails", function_name="f", timeout=3).invoke({})
    assert not inv.ok and inv.describe_error() == "ValueError: no" and "Traceback" in inv.error_trace
    inv = LocalFunction("F", code, "app.sleepy", function_name="f", timeout=0.1).invoke({})
    assert inv.timed_out and not inv.ok and inv.describe_error() == "Task timed out"


def test_concurrent_invocations_get_their_own_environments(code: Path) -> None:
    fn = LocalFunction("F", code, "app.wait", function_name="f", timeout=5, max_environments=2)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(fn.invoke({"seconds": 0.3}).result))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 2  # two module instances: two cold starts
    # Sequential invocations reuse a warm environment.
    assert fn.invoke({"seconds": 0}).result in results
