"""Running `hookline dev` as a subprocess: its output, its state, Ctrl-C; the test configuration."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.support.receiver import Receiver

REPO = Path(__file__).resolve().parents[2]
GITHUB_SECRET = "e2e-github-secret"
READY = re.compile(r"ready in ([\d.]+) s")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_a_sender_retries(send: Callable[[], T], status: Callable[[T], int], timeout: float = 20.0) -> T:
    """Send, and send again while the answer is 409 (in progress: `Retry-After: 1`), as real senders do."""
    deadline = time.monotonic() + timeout
    answer = send()
    while status(answer) == 409 and time.monotonic() < deadline:
        time.sleep(1)
        answer = send()
    return answer


def dev_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "HOOKLINE_CONFIG", "HOOKLINE_DEV_STATE")}
    env.update({"PYTHONUNBUFFERED": "1", "E2E_GITHUB_SECRET": GITHUB_SECRET}, **extra)
    return env


class DevProcess:
    """A running `hookline dev`: its output lines, collected as they come."""

    def __init__(self, cwd: Path, config: Path, port: int, *extra: str) -> None:
        self.cwd = cwd
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._cond = threading.Condition()
        cmd = [sys.executable, "-m", "hookline.cli", "dev", "--config", str(config), "--port", str(port), *extra]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=dev_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def log(self) -> str:
        """The functions' JSON logs and EMF metrics, which `hookline dev` writes to .hookline/dev.log."""
        try:
            return (self.cwd / ".hookline" / "dev.log").read_text()
        except OSError:
            return ""

    def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    break
                self._cond.wait(min(left, 0.2))
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output:\n{self.output()}")

    def wait_ready(self, timeout: float = 30.0) -> float:
        self.wait_for(READY.pattern, timeout)
        return time.perf_counter() - self.started

    def state(self) -> dict[str, Any]:
        return json.loads((self.cwd / ".hookline" / "dev.json").read_text())

    def interrupt(self, timeout: float = 10.0) -> tuple[int, float]:
        """Ctrl-C; returns (exit code, seconds to exit)."""
        start = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        took = time.perf_counter() - start  # the process is gone: draining its pipe below is the test's own time
        self._reader.join(2)
        return code, took

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def report(request: pytest.FixtureRequest, text: str) -> None:
    """A line on the terminal even when output is captured (not under xdist workers: then in -rP)."""
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None and not hasattr(request.config, "workerinput"):
        reporter.write_line(text)
    else:
        print(text)


def write_config(directory: Path, receivers: dict[str, Receiver]) -> Path:
    """github source; one route per destination, chosen by the X-GitHub-Event header; retries after 1 s, 1 s."""
    cfg = {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {name: {"url": f"{r.url}/{name}", "timeout_seconds": 5} for name, r in receivers.items()},
        "routes": [
            {"name": f"to-{name}", "source": "github", "destination": name,
             "when": f"headers.\"x-github-event\" == '{name}'",
             "transform": {"title": "body.issue.title", "number": {"path": "body.issue.number", "type": "string"}}}
            for name in receivers
        ],
        "retry": {"schedule_seconds": [1, 1]},
    }
    path = directory / "hookline.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


class Pipeline:
    def __init__(self, dev: DevProcess, receivers: dict[str, Receiver], config: Path) -> None:
        self.dev = dev
        self.receivers = receivers
        self.config = config


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These variables set for the block, the old values back after: dev_env() passes the test's environment
    to `hookline dev` and its functions, which is how secrets named `env:` reach them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def write_sources_config(directory: Path, sources: dict[str, Any], receiver: Receiver) -> Path:
    """Every source routed to one destination, the receiver's /ok; written as hookline.yaml."""
    config = {
        "sources": sources,
        "destinations": {"ok": {"url": f"{receiver.url}/ok", "timeout_seconds": 5}},
        "routes": [{"name": f"{name}-out", "source": name, "destination": "ok"} for name in sources],
    }
    path = directory / "hookline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def delivered(receiver: Receiver, marker: bytes, timeout: float = 30.0) -> list:
    """The requests the receiver got whose body holds the marker, once there is one."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [r for r in receiver.requests if marker in r.body]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"nothing with {marker!r} delivered within {timeout} s")
