"""The soak run's destinations: `Receiver`s (tests/support/receiver.py) that can go down and come back.

A destination is healthy, down (answering 503, or refusing connections: its listening socket is
closed and rebound later on the same port), or throttling (429 + Retry-After to the first request
of some keys). Its answers are decided per request by `respond`, so every `Received` carries the
status it was given; an *effect* is a 2xx, counted per Idempotency-Key.
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from tests.support.receiver import Received, Receiver, Script

UP, ANSWER_503, REFUSE = "up", "503", "refuse"


def idempotency_key(received: Received) -> str:
    return received.headers.get("idempotency-key", "<none>")


class Destination(Receiver):
    """A receiver whose status comes from `decide(received, nth request of its key)` while up.

    Down destinations answer `Connection: close` to every request, so that once the socket is
    closed no kept-alive connection outlives the outage: the next request is refused.
    """

    def __init__(self, decide: Callable[[Received, int], int] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.decide = decide or (lambda _received, _n: 200)
        self.mode = UP
        self._seen: dict[str, int] = defaultdict(int)
        self._count_lock = threading.Lock()
        super().__init__(Script(headers=dict(headers or {}), respond=self._respond))

    def _respond(self, received: Received) -> int:
        key = idempotency_key(received)
        with self._count_lock:
            self._seen[key] += 1
            n = self._seen[key]
        if self.mode != UP:  # a request on a connection made just before the socket closed
            return 503
        return self.decide(received, n)

    def go_down(self, mode: str) -> None:
        """503 answers, or no listening socket at all (connections refused)."""
        if mode == REFUSE and self.mode != REFUSE:
            self.server.shutdown()
            self.server.server_close()
        self.mode = mode

    def come_back(self) -> None:
        if self.mode == REFUSE:
            # The same port: the configuration points at it. HTTPServer sets SO_REUSEADDR.
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.server.RequestHandlerClass)
            self.server.daemon_threads = True
            self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()
        self.mode = UP

    def __exit__(self, *exc: Any) -> None:
        if self.mode == REFUSE:
            return  # already closed
        super().__exit__(*exc)

    # -- what it saw

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def effects(self) -> dict[str, list[Received]]:
        """Idempotency-Key -> the 2xx answers it was given, in order."""
        out: dict[str, list[Received]] = defaultdict(list)
        for r in self.snapshot():
            if r.status is not None and 200 <= r.status <= 299:
                out[idempotency_key(r)].append(r)
        return out

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for r in self.snapshot():
            counts[r.status or 0] += 1
        return dict(counts)


def throttled_first(retry_after: str = "1") -> tuple[Callable[[Received, int], int], dict[str, str]]:
    """429 to the first request of every other key (by a stable hash), then 200; `Retry-After` goes
    with every answer (the receiver's headers are fixed) and means something only on the 429."""
    def decide(received: Received, n: int) -> int:
        return 429 if n == 1 and zlib.crc32(idempotency_key(received).encode()) % 2 == 0 else 200
    return decide, {"Retry-After": retry_after}


def refusing(marker: bytes, status: int = 422) -> Callable[[Received, int], int]:
    """A permanent refusal for bodies containing `marker`; 200 otherwise."""
    return lambda received, _n: status if marker in received.body else 200
