"""A destination that misbehaves on purpose, repeatably: the chaos run's receiver.

Each request is answered by a fault drawn from `random.Random(f"{seed}:{key}:{n}")`, where `key`
is the Idempotency-Key and `n` counts the requests with that key: the same seed gives every
(event, route) the same fate whatever order the threads run in.

- `permanent_rate` of the keys always answer 422 (a permanent 4xx: straight to the DLQ);
- otherwise, while `faulty`, `fault_rate` of the requests fail, evenly: 500, 429 with
  Retry-After: 1, a timeout (no answer until the client gave up), a connection reset
  (RST, no answer), a slow body (200 whose body trickles past the client's timeout);
- every other request is answered 200.

An *effect* is a 2xx the receiver finished sending: the "duplicated effects" of the chaos run are
keys with more than one. A slow body the client cut off is not an effect (its writes fail).
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("http_500", "http_429", "timeout", "reset", "slow_body")


class ChaosReceiver:
    def __init__(self, seed: int, *, fault_rate: float = 0.30, permanent_rate: float = 0.02,
                 client_timeout: float = 1.0) -> None:
        self.seed = seed
        self.fault_rate = fault_rate
        self.permanent_rate = permanent_rate
        self.client_timeout = client_timeout
        self.faulty = True
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()          # key -> requests received
        self.effects: Counter[str] = Counter()           # key -> 2xx answered in full
        self.faults: Counter[str] = Counter()            # fault kind -> times injected
        self.broken_2xx: Counter[str] = Counter()        # key -> 2xx cut off by the client
        self.paths: dict[str, str] = {}
        self.answers: dict[str, list[str]] = defaultdict(list)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                key = self.headers.get("Idempotency-Key") or "<none>"
                receiver._answer(self, key)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- the fate of one request

    def is_permanent(self, key: str) -> bool:
        return random.Random(f"{self.seed}:{key}:permanent").random() < self.permanent_rate

    def fate(self, key: str, n: int) -> str:
        if self.is_permanent(key):
            return "http_422"
        rng = random.Random(f"{self.seed}:{key}:{n}")
        if self.faulty and rng.random() < self.fault_rate:
            return rng.choice(FAULTS)
        return "ok"

    def _answer(self, handler: BaseHTTPRequestHandler, key: str) -> None:
        with self._lock:
            self.requests[key] += 1
            n = self.requests[key]
            self.paths[key] = handler.path
        fate = self.fate(key, n)
        with self._lock:
            self.answers[key].append(fate)
            if fate not in ("ok", "http_422"):
                self.faults[fate] += 1
        if fate == "timeout":
            time.sleep(self.client_timeout + 1.0)
            handler.close_connection = True
            return
        if fate == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            return
        status, headers, body = 200, {}, b'{"ok": true}'
        if fate == "http_500":
            status, body = 500, b'{"error": "injected"}'
        elif fate == "http_429":
            status, headers, body = 429, {"Retry-After": "1"}, b'{"error": "slow down"}'
        elif fate == "http_422":
            status, body = 422, b'{"error": "this record is rejected for good"}'
        try:
            handler.send_response(status)
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Type", "application/json")
            if fate == "slow_body":
                body = b'{"ok": true, "pad": "' + b"." * 12 + b'"}'
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if fate == "slow_body":
                # One byte at a time, past the client's timeout: the client gives up mid-body.
                interval = (self.client_timeout * 3) / len(body)
                for i in range(len(body)):
                    handler.wfile.write(body[i:i + 1])
                    time.sleep(interval)
            else:
                handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            if 200 <= status <= 299:
                with self._lock:
                    self.broken_2xx[key] += 1
            handler.close_connection = True
            return
        if 200 <= status <= 299:
            with self._lock:
                self.effects[key] += 1

    # -- lifecycle

    def __enter__(self) -> ChaosReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
