"""A `hookline console` subprocess for the browser tests: its banner, its login link, its output."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.e2e.helpers import dev_env

LOGIN = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)")


class Console:
    """A running `hookline console` subprocess."""

    def __init__(self, cwd: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "hookline.cli", "console", "--port", "0", *extra]
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=dev_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)
        self._first: list[str] = []
        self.output: list[str] = []  # every line it printed (its request log included)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for n, line in enumerate(self.proc.stdout):  # drained to the end, so it never blocks on a full pipe
            self.output.append(line)
            if n == 0:
                self._first.append(line)

    def started(self, timeout: float = 30.0) -> Console:
        """Wait for its banner line; sets `url`, `port`, `banner`, `login_url` (the one-time link) and `token`."""
        deadline = time.monotonic() + timeout
        while not self._first and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        match = LOGIN.search(self._first[0] if self._first else "")
        if not match:
            self.stop()
            raise AssertionError(f"the console did not print its login link: {self._first}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"
        self.login_url, self.token = match.group(0), match.group(2)
        self.banner = self._first[0]
        return self

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
