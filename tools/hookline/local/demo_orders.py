"""A pretend shop API for the demo: paged orders that keep changing, for `syncs.orders` to pull.

    GET /orders?page=N&per_page=S[&updated_since=ISO]  ->  {"data": [...], "page": N}

Orders are sorted by (updated_at, id); `updated_since` keeps those updated at or after it;
an empty page ends the walk. Every `change_seconds` one order changes status (a new version:
the sync delivers it again) and a new order arrives. `hookline dev --demo-orders 8082` (what
`make dev` runs) starts it in the same process.

    python -m hookline.local.demo_orders [--port 8082]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STATUSES = ("pending", "paid", "shipped", "delivered")
MAX_PER_PAGE = 50


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DemoOrders:
    def __init__(self, host: str = "127.0.0.1", port: int = 8082, *, initial: int = 12,
                 change_seconds: float = 20.0, seed: int = 7) -> None:
        self._rng = random.Random(seed)  # nosec B311 - the demo API's made-up orders
        self._lock = threading.Lock()
        self.orders: list[dict[str, Any]] = []
        now = time.time() - 3600
        for i in range(initial):
            self._add(now + i)
        self.change_seconds = change_seconds
        self._stop = threading.Event()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, body = shop.handle(self.path)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/orders"
        self._threads = [threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                          name="demo-orders", daemon=True),
                         threading.Thread(target=self._churn, name="demo-orders-churn", daemon=True)]

    def _add(self, at: float) -> None:
        n = len(self.orders) + 1
        self.orders.append({"id": f"ord_{n:04d}", "customer": f"cus_{self._rng.randint(1, 9)}",
                            "total_cents": self._rng.randint(500, 25000), "currency": "eur",
                            "status": "pending", "updated_at": _iso(at)})

    def _churn(self) -> None:
        while not self._stop.wait(self.change_seconds):
            with self._lock:
                order = self._rng.choice(self.orders)
                i = STATUSES.index(order["status"])
                order["status"] = STATUSES[min(i + 1, len(STATUSES) - 1)]
                order["updated_at"] = _iso(time.time())
                self._add(time.time())

    def handle(self, path: str) -> tuple[int, Any]:
        url = urlparse(path)
        if url.path.rstrip("/") != "/orders":
            return 404, {"error": "GET /orders"}
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            page = max(int(q.get("page", "1")), 1)
            per_page = min(max(int(q.get("per_page", "10")), 1), MAX_PER_PAGE)
        except ValueError:
            return 400, {"error": "page and per_page are numbers"}
        since = q.get("updated_since")
        with self._lock:
            rows = sorted((dict(o) for o in self.orders if since is None or o["updated_at"] >= since),
                          key=lambda o: (o["updated_at"], o["id"]))
        start = (page - 1) * per_page
        return 200, {"data": rows[start:start + per_page], "page": page}

    def start(self) -> DemoOrders:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hookline.local.demo_orders", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args(argv)
    try:
        shop = DemoOrders(args.host, args.port)
    except OSError as e:
        print(f"demo orders: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"demo orders API on {shop.url}", flush=True)
    shop.start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        shop.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
