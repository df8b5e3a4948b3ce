"""A raw-socket HTTP server that answers slowly on purpose: headers or body one byte at a time."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any


class TrickleServer:
    """Each connection: read the request, then send `head` and `body` one byte every `interval` s."""

    def __init__(self, *, head: bytes, body: bytes = b"", interval: float = 0.2, trickle_head: bool = False) -> None:
        self.head, self.body, self.interval, self.trickle_head = head, body, interval, trickle_head
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.trickle_head:
                self._drip(conn, self.head + self.body)
            else:
                conn.sendall(self.head)
                self._drip(conn, self.body)
        except OSError:
            pass
        finally:
            conn.close()

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self._stop.is_set():
                return
            conn.sendall(data[i:i + 1])
            time.sleep(self.interval)

    def __enter__(self) -> TrickleServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.sock.close()
