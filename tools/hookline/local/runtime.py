"""Load a template function's handler from its CodeUri + Handler and invoke it like Lambda does.

Each *execution environment* is a fresh import of the handler module under a unique
module name (its cold start). An environment serves one invocation at a time; concurrent
invocations get more environments, up to `max_environments`, as Lambda scales out. An
invocation that outlives the function's Timeout is reported as timed out and its
environment is discarded (Lambda would kill it); the thread cannot be killed, so it is
left to finish in the background.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hookline.local.context import DEFAULT_ACCOUNT_ID, LocalLambdaContext

Handler = Callable[[Any, Any], Any]
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024  # synchronous Invoke request (and response) payload, bytes
_module_ids = itertools.count(1)


class HandlerLoadError(Exception):
    """The handler module cannot be imported, or has no such function (an init error in Lambda)."""


@dataclass
class Invocation:
    request_id: str
    result: Any = None
    error: BaseException | None = None
    error_trace: str = ""
    timed_out: bool = False
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def describe_error(self) -> str:
        if self.timed_out:
            return "Task timed out"
        if self.error is None:
            return ""
        return f"{type(self.error).__name__}: {self.error}"


def load_handler(code_dir: Path, handler: str, module_name: str | None = None) -> Handler:
    """Import `code_dir/<module>.py` under a unique module name and return `<function>` from it."""
    module_part, _, function_part = handler.rpartition(".")
    if not module_part or not function_part:
        raise HandlerLoadError(f"Handler {handler!r} is not of the form module.function")
    path = code_dir / (module_part.replace(".", "/") + ".py")
    if not path.is_file():
        raise HandlerLoadError(f"{path} does not exist (CodeUri {code_dir}, Handler {handler})")
    name = module_name or f"_hookline_local_{module_part.replace('.', '_')}_{next(_module_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerLoadError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    # Lambda puts the function's code directory on sys.path (sibling modules import by name).
    if str(code_dir) not in sys.path:
        sys.path.append(str(code_dir))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(name, None)
        raise HandlerLoadError(f"{path}: {type(e).__name__}: {e}") from e
    fn = getattr(module, function_part, None)
    if not callable(fn):
        sys.modules.pop(name, None)
        raise HandlerLoadError(f"{path} has no function {function_part!r}")
    return fn


class LocalFunction:
    """One template function: its handler environments, its name, timeout and memory."""

    def __init__(
        self,
        logical_id: str,
        code_dir: Path,
        handler: str,
        *,
        function_name: str,
        timeout: float,
        memory_mb: int = 128,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        max_environments: int = 4,
    ) -> None:
        self.logical_id = logical_id
        self.code_dir = code_dir
        self.handler = handler
        self.function_name = function_name
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.region = region
        self.account_id = account_id
        self.max_environments = max(1, max_environments)
        self._idle: list[Handler] = []
        self._count = 0
        self._cond = threading.Condition()

    def load(self) -> None:
        """Create the first environment now, so import errors show at start-up (Lambda: init phase)."""
        with self._cond:
            if self._count == 0:
                self._idle.append(load_handler(self.code_dir, self.handler))
                self._count = 1

    def context(self) -> LocalLambdaContext:
        return LocalLambdaContext(function_name=self.function_name, memory_limit_in_mb=self.memory_mb,
                                  timeout_seconds=self.timeout, region=self.region, account_id=self.account_id)

    def _acquire(self) -> Handler:
        with self._cond:
            while not self._idle and self._count >= self.max_environments:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return load_handler(self.code_dir, self.handler)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, env: Handler | None) -> None:
        with self._cond:
            if env is None:
                self._count -= 1  # discarded (timed out): a new one is made on demand
            else:
                self._idle.append(env)
            self._cond.notify()

    def invoke(self, event: Any, *, wait_seconds: float | None = None) -> Invocation:
        """Run the handler with a fresh context; give up waiting after `wait_seconds` (default: Timeout)."""
        env = self._acquire()
        ctx = self.context()
        inv = Invocation(request_id=ctx.aws_request_id)
        done = threading.Event()

        def run() -> None:
            try:
                inv.result = env(event, ctx)
            except BaseException as e:  # the handler's failure is the invocation's result
                inv.error = e
                inv.error_trace = traceback.format_exc()
            finally:
                done.set()

        start = time.perf_counter()
        worker = threading.Thread(target=run, name=f"{self.logical_id}-{ctx.aws_request_id[:8]}", daemon=True)
        worker.start()
        finished = done.wait(self.timeout if wait_seconds is None else wait_seconds)
        inv.duration_ms = (time.perf_counter() - start) * 1000
        if not finished:
            inv.timed_out = True
            self._release(None)
        else:
            self._release(env)
        return inv
