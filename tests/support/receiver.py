"""A real HTTP server standing in for a destination (CRM, warehouse, ...).

It records every request and answers from a script: a list of statuses (the last one
repeats), optional delay, optional extra headers. Runs on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None = None  # set when the script's `respond` chose it

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    statuses: list[int] = field(default_factory=lambda: [200])
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    # Answers computed from the request (a search endpoint): (status, body). Overrides statuses/body.
    responder: Callable[[Received], tuple[int, bytes]] | None = None
    # Decides the status from the request instead of `statuses` (e.g. fail one record's first requests).
    respond: Callable[[Received], int] | None = None


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 at a free port, serving while its `with` block runs."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


class Receiver(LoopbackServer):
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            # Buffered, so headers and body leave in one send (flushed after each request): two small
            # writes on a kept-alive connection stall the next request ~40 ms (Nagle + delayed ACK).
            wbufsize = 64 * 1024

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                    body, time.time())
                with receiver._lock:
                    receiver.requests.append(received)
                    n = len(receiver.requests)
                script = receiver.script
                status = script.statuses[min(n - 1, len(script.statuses) - 1)]
                answer = script.body
                if script.responder is not None:
                    status, answer = script.responder(received)
                if script.respond is not None:
                    status = script.respond(received)
                    received.status = status
                if script.delay_seconds:
                    time.sleep(script.delay_seconds)
                self.send_response(status)
                for k, v in script.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET = _handle

        super().__init__(Handler)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.requests) >= count:
                return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} request(s) within {timeout}s, got {len(self.requests)}")
