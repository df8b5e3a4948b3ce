"""A pretend CRM for the demo: prints every request it receives and answers 200.

    python -m hookline.local.demo_crm [--port 8081]

`hookline dev --demo-crm 8081` (what `make dev` runs) starts it in the same process.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Printer = Callable[[str], None]


def _default_print(line: str) -> None:
    print(line, flush=True)


def describe(method: str, path: str, body: bytes) -> str:
    try:
        shown = json.dumps(json.loads(body), separators=(", ", ": "), ensure_ascii=False)
    except ValueError:
        shown = body.decode("utf-8", "replace")
    return f"CRM received {method} {path}: {shown}"


class DemoCrm:
    def __init__(self, host: str = "127.0.0.1", port: int = 8081, printer: Printer = _default_print) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                printer(describe(self.command, self.path, body))
                answer = json.dumps({"ok": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="demo-crm", daemon=True)

    def start(self) -> DemoCrm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hookline.local.demo_crm", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    try:
        crm = DemoCrm(args.host, args.port)
    except OSError as e:
        print(f"demo CRM: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"demo CRM listening on {crm.url}", flush=True)
    try:
        crm.server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        crm.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
