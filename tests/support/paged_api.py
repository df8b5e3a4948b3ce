"""A real paginated HTTP API on 127.0.0.1 for sync tests, in every pagination style.

    GET /cursor?cursor=T            {"data": [...], "next": T | null}
    GET /page?page=N&per_page=S     {"data": [...]}              (empty page at the end)
    GET /offset?offset=O&limit=L    {"data": [...]}
    GET /next_url[?after=K]         {"data": [...], "links": {"next": "/next_url?after=K2" | null}}
    GET /link[?p=N]                 {"data": [...]} and `Link: <http://.../link?p=N+1>; rel="next"`

Every style filters by `updated_since` (records with updated_at >= it), in (updated_at, id)
order, `page_size` records a page unless the request asks for fewer. Records live in
`api.records` (change one to simulate an update at the source). `api.faults` maps a request
number (1-based, over all requests) to a fault: 500, a 429 with Retry-After, a redirect, or
the page as usual but its body sent one byte every `trickle` seconds (a slow source API).
`api.requests` logs every request (path and query).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

STYLES = ("cursor", "page", "offset", "next_url", "link")


@dataclass
class Fault:
    status: int
    retry_after: str | None = None
    location: str | None = None
    trickle: float | None = None  # seconds between the body's bytes; the page itself is the usual one


@dataclass
class PagedApi:
    page_size: int = 3
    records: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[int, Fault] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: str | None = None  # required Authorization header value, when set

    def __post_init__(self) -> None:
        api = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                api._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, style: str) -> str:
        return f"{self.base}/{style}"

    def add(self, n: int, start: int = 1, updated_at: int = 100) -> None:
        for i in range(start, start + n):
            self.records.append({"id": i, "name": f"order-{i}", "updated_at": updated_at})

    def update(self, record_id: int, updated_at: int, **changes: Any) -> None:
        for r in self.records:
            if r["id"] == record_id:
                r.update(changes, updated_at=updated_at)

    # -- serving

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        interval = getattr(h, "trickle", None)
        if interval is not None:
            headers = {**(headers or {}), "Connection": "close"}
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if interval is None:
            h.wfile.write(raw)
            return
        h.close_connection = True
        try:
            for i in range(len(raw)):
                h.wfile.write(raw[i:i + 1])
                h.wfile.flush()
                time.sleep(interval)
        except OSError:  # the client hung up: what a cut-off page looks like from here
            pass

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        style = parsed.path.strip("/")
        with self._lock:
            self.requests.append({"style": style, "query": q, "auth": h.headers.get("Authorization")})
            n = len(self.requests)
            fault = self.faults.pop(n, None)
            records = sorted((dict(r) for r in self.records
                              if "updated_since" not in q or r["updated_at"] >= int(q["updated_since"])),
                             key=lambda r: (r["updated_at"], r["id"]))
        if self.auth is not None and h.headers.get("Authorization") != self.auth:
            return self._send(h, 401, {"error": "unauthorized"})
        if fault is not None and fault.trickle is not None:
            h.trickle = fault.trickle  # type: ignore[attr-defined]
        elif fault is not None:
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            if fault.location is not None:
                headers["Location"] = fault.location
            return self._send(h, fault.status, {"error": f"injected {fault.status}"}, headers)
        if style not in STYLES:
            return self._send(h, 404, {"error": "no such style"})
        keep = {k: v for k, v in q.items() if k == "updated_since"}
        size = self.page_size
        if style == "cursor":
            start = int(q.get("cursor", "0"))
            chunk = records[start:start + size]
            nxt = str(start + size) if start + size < len(records) else None
            return self._send(h, 200, {"data": chunk, "next": nxt})
        if style == "page":
            size = min(size, int(q.get("per_page", size)))
            start = (int(q.get("page", "1")) - 1) * size
            return self._send(h, 200, {"data": records[start:start + size]})
        if style == "offset":
            size = min(size, int(q.get("limit", size)))
            start = int(q.get("offset", "0"))
            return self._send(h, 200, {"data": records[start:start + size]})
        if style == "next_url":
            start = int(q.get("after", "0"))
            nxt = None
            if start + size < len(records):
                nxt = f"/next_url?{urlencode({**keep, 'after': start + size})}"
            return self._send(h, 200, {"data": records[start:start + size], "links": {"next": nxt}})
        p = int(q.get("p", "1"))
        start = (p - 1) * size
        headers = {}
        if start + size < len(records):
            nxt = f"{self.base}/link?{urlencode({**keep, 'p': p + 1})}"
            headers["Link"] = f'<{nxt}>; rel="next", <{self.base}/link>; rel="first"'
        return self._send(h, 200, {"data": records[start:start + size]}, headers)


def sync_spec(api: PagedApi, style: str, **extra: Any) -> dict[str, Any]:
    """A `syncs.<name>` block for this API in `style`, with a watermark on updated_at."""
    pagination: dict[str, Any] = {"style": style}
    if style == "cursor":
        pagination |= {"param": "cursor", "next_path": "next"}
    elif style == "page":
        pagination |= {"param": "page", "limit_param": "per_page", "limit": api.page_size}
    elif style == "offset":
        pagination |= {"param": "offset", "limit_param": "limit", "limit": api.page_size}
    elif style == "next_url":
        pagination |= {"next_path": "links.next"}
    spec = {"source": "shop", "url": api.url(style), "items_path": "data", "id_path": "id",
            "version_path": "updated_at", "pagination": pagination,
            "watermark": {"path": "updated_at", "param": "updated_since"}, "max_pages": 100, "every": "15m"}
    return spec | extra
