"""A tiny threaded HTTP forward proxy for tests: records each request line and Proxy-Authorization, forwards it.

Plain-http targets only (requests sends them to a proxy in absolute form: `POST http://host/path`); an https
target would need CONNECT, which this proxy does not offer.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from tests.support.receiver import LoopbackServer, QuietHandler


class ForwardProxy(LoopbackServer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # (method, absolute URL, Proxy-Authorization)
        proxy = self

        class Handler(QuietHandler):

            def _forward(self) -> None:
                proxy.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-authorization", "proxy-connection")}
                conn = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
                conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body,
                             headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.getheader("Content-Type") or "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_POST = do_PATCH = do_PUT = do_GET = do_DELETE = _forward

        super().__init__(Handler)
