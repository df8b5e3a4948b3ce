"""A wall-clock limit on a whole HTTP exchange: connect, send, headers and body together.

requests' `timeout` bounds each socket operation, so a destination trickling one byte per
second never trips it. Here a timer shuts the connection's socket down when the limit is
reached: the blocked read returns at once, requests raises, and `Watch.expired` tells the
caller that it was the limit, not the peer.

The connection is found through the session's adapter (`session()` mounts it): its
connection classes register themselves, on each request, with the watch of the calling
thread. A thread sends one request at a time, so a thread-local watch is exact.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


class Watch:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._done = False
        self._conn: Any = None
        self._sock: Any = None  # http.client drops conn.sock once a `Connection: close` response starts
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            self._sock = getattr(conn, "sock", None) or self._sock
            if self.expired:
                _shutdown(self._conn, self._sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            _shutdown(self._conn, self._sock)

    def _start(self) -> None:
        self._timer.start()

    def _finish(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shutdown(conn: Any, sock: Any) -> None:
    for s in {id(x): x for x in (getattr(conn, "sock", None), sock) if x is not None}.values():
        with contextlib.suppress(OSError):  # already closed
            s.shutdown(socket.SHUT_RDWR)


@contextmanager
def limit(seconds: float) -> Iterator[Watch]:
    """Bound every request this thread makes (and the body reads) inside the block to `seconds` in all."""
    watch = Watch(seconds)
    previous = getattr(_local, "watch", None)
    _local.watch = watch
    watch._start()
    try:
        yield watch
    finally:
        watch._finish()
        _local.watch = previous


def _attach(conn: Any) -> None:
    watch = getattr(_local, "watch", None)
    if watch is not None:
        watch.attach(conn)


class _Watched:
    """Mixed into urllib3's connection classes: the watchdog learns each socket as soon as it exists."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # the socket exists now (connected lazily)
        _attach(self)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def session(pool_size: int = 10) -> requests.Session:
    """A Session whose per-host pool holds `pool_size` connections, no retries, no cookies, under `limit`."""
    s = requests.Session()
    adapter = WatchedAdapter(pool_connections=16, pool_maxsize=max(pool_size, 1), max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return s


def read_limited(resp: requests.Response, max_bytes: int) -> tuple[bytes, bool]:
    """Up to `max_bytes` of a streamed body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False
