"""Lambda functions that `type: lambda` destinations invoke, run in this process (emulated, not moto's).

moto runs a Lambda function only inside Docker, which `hookline dev` does without. Here a function that a
handler is registered for runs in-process instead, as Lambda's Python runtime would call it:

- `RequestResponse` (sync): the handler's return value, JSON-encoded, is the payload; an exception it raises
  answers `X-Amz-Function-Error: Unhandled` with `{"errorMessage", "errorType", "stackTrace"}`, the runtime's
  shape, so the deliver function sees exactly what Lambda would send it.
- `Event` (async): Lambda answers 202 at once and runs the handler on its own thread. Lambda's own retries of
  a failed async invocation (twice) and its on-failure destinations are not emulated: the error is printed.

What is emulated is the invocation contract, not the runtime: no cold start, no memory or time limit, no
separate process. A function with no registered handler falls back to moto's own behaviour.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

Handler = Callable[[Any, Any], Any]

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()
_installed = False


def register(function_name: str, handler: Handler) -> None:
    """Run `handler(event, context)` when the emulator's function `function_name` is invoked."""
    install()
    with _lock:
        _handlers[function_name] = handler


def unregister(function_name: str) -> None:
    with _lock:
        _handlers.pop(function_name, None)


def load(spec: str, base: Path | None = None) -> Handler:
    """`path/to/file.py:function` -> the function (the path relative to `base`)."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise ValueError(f"{spec!r}: expected FILE.py:FUNCTION (e.g. handlers/orders.py:handler)")
    path = Path(path_text)
    path = path if path.is_absolute() or base is None else base / path
    if not path.is_file():
        raise ValueError(f"{spec!r}: no such file {path}")
    module_spec = importlib.util.spec_from_file_location(f"hookline_dev_target_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"{spec!r}: cannot load {path} as Python")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    handler = getattr(module, name, None)
    if not callable(handler):
        raise ValueError(f"{spec!r}: {path} has no function {name!r}")
    return handler  # type: ignore[no-any-return]


def _header(headers: Any, name: str, default: str) -> str:
    for key in (name, name.lower(), name.title()):
        value = headers.get(key) if headers is not None else None
        if value:
            return str(value)
    return default


def _context(function: Any) -> Any:
    return SimpleNamespace(function_name=function.function_name, invoked_function_arn=function.function_arn,
                           memory_limit_in_mb=getattr(function, "memory_size", 128), aws_request_id="local",
                           get_remaining_time_in_millis=lambda: 30_000)


def _run(handler: Handler, event: Any, context: Any) -> tuple[bytes, bool]:
    """(payload, failed) as Lambda's Python runtime answers."""
    try:
        return json.dumps(handler(event, context)).encode(), False
    except Exception as e:
        return json.dumps({"errorMessage": str(e), "errorType": type(e).__name__,
                           "stackTrace": traceback.format_tb(e.__traceback__)}).encode(), True


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        # lazy: moto (0.2-3 s a service, measured) loads when the emulator starts, not on import.
        from moto.awslambda.models import LambdaFunction

        original = LambdaFunction.invoke

        @functools.wraps(original)
        def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
            with _lock:
                handler = _handlers.get(self.function_name)
            if handler is None:
                return original(self, body, request_headers, response_headers)
            text = body.decode() if isinstance(body, bytes) else body
            event = json.loads(text) if text else {}
            if _header(request_headers, "X-Amz-Invocation-Type", "RequestResponse") == "Event":
                def run_async() -> None:
                    payload, failed = _run(handler, event, _context(self))
                    if failed:
                        print(f"lambda {self.function_name} (async): {payload.decode()[:300]}", flush=True)

                threading.Thread(target=run_async, daemon=True, name=f"lambda {self.function_name}").start()
                return b""
            payload, failed = _run(handler, event, _context(self))
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return payload

        LambdaFunction.invoke = invoke  # type: ignore[method-assign]
        _installed = True
