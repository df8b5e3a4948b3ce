"""ports.ArchiveSink in memory: each put's lines kept in order; `fail` makes the next puts raise or refuse."""

from __future__ import annotations

import json
import threading
from typing import Any


class FakeArchive:
    def __init__(self) -> None:
        self.calls: list[list[bytes]] = []
        self.lock = threading.Lock()
        self.raise_error: Exception | None = None  # the call fails whole, as a ClientError would
        self.refuse = 0  # this many lines answered FailedPutCount

    def put(self, lines: list[bytes]) -> int:
        with self.lock:
            if self.raise_error is not None:
                raise self.raise_error
            self.calls.append(list(lines))
            return min(self.refuse, len(lines))

    def records(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(line) for call in self.calls for line in call]
