"""Where `hookline dev`'s machine output goes: the functions' JSON logs and EMF metrics to a file, so the
console stream keeps only its readable lines.

On Lambda a function's stdout is its CloudWatch log stream; here every function shares this process's
stdout with the console. Powertools writes its JSON log lines through its logging handler and its EMF
documents with print(); hookline's own console lines are never JSON objects. So each complete line
written to stdout is sorted by its first character: `{` to the log file, anything else to the terminal.
Lines are assembled per thread, because print() writes the text and its newline in two calls and the
handlers, pollers and schedules print from many threads at once.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from hookline.observability import logger

LOG_NAME = "dev.log"


def is_machine_line(line: str) -> bool:
    """A JSON document (Powertools log line, EMF metrics), not a line written for a person."""
    return line.lstrip().startswith("{")


class LineRouter(io.TextIOBase):
    """A stdout that sends JSON lines to `log` and every other line to `console`."""

    def __init__(self, console: TextIO, log: TextIO) -> None:
        super().__init__()
        self.console = console
        self.log = log
        self._pending = threading.local()
        self._lock = threading.Lock()
        self.handler_stream: TextIO | None = None  # where the Powertools handler wrote before divert()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending: str = getattr(self._pending, "text", "") + text
        *lines, rest = pending.split("\n")
        self._pending.text = rest
        if lines:
            with self._lock:
                for line in lines:
                    (self.log if is_machine_line(line) else self.console).write(line + "\n")
                # Each line is seen at once, as print(..., flush=True) did before (stdout may be a pipe).
                self.console.flush()
                self.log.flush()
        return len(text)

    def flush(self) -> None:
        # A partial line meant for a person (a prompt, print(end="")) shows now; a partial JSON line waits
        # for its newline, so that it is never split between the two.
        rest: str = getattr(self._pending, "text", "")
        with self._lock:
            if self.console.closed:  # IOBase flushes again when the router is collected, maybe after its console
                return
            if rest and not is_machine_line(rest):
                self.console.write(rest)
                self._pending.text = ""
            self.console.flush()
            if not self.log.closed:  # and after restore() closed the log
                self.log.flush()

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.console, "encoding", "utf-8")


def open_log(path: Path, *, fresh: bool) -> TextIO:
    """The log file, appended to: `hookline sync run` in another shell writes to the same file, and with
    O_APPEND neither process's lines overwrite the other's. `fresh`: empty it first (each dev run starts one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        path.write_text("")
    return path.open("a", encoding="utf-8", buffering=1)


def powertools_to(stream: TextIO) -> TextIO | None:
    """Point hookline's Powertools logger at `stream` (its handler kept the stdout of the moment it was made);
    returns the stream it wrote to until now."""
    handler: Any = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        return None
    previous: TextIO = handler.stream
    if getattr(previous, "closed", False):
        handler.stream = stream  # setStream() would flush the closed one first, and raise
    else:
        handler.setStream(stream)
    return previous


def divert(path: Path) -> LineRouter:
    """From now on, this process's JSON lines go to `path` (emptied) and the rest to the terminal."""
    router = LineRouter(sys.stdout, open_log(path, fresh=True))
    sys.stdout = router
    router.handler_stream = powertools_to(router.log)
    return router


def restore(router: LineRouter | None) -> None:
    if router is None:
        return
    with contextlib.suppress(Exception):  # on the way out: the terminal may be gone
        router.flush()
    if sys.stdout is router:
        sys.stdout = router.console
    powertools_to(router.handler_stream or router.console)
    with contextlib.suppress(OSError):
        router.log.close()
