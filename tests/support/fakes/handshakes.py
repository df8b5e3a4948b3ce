"""Fakes of the handshake ports: Asana's secret store (write-once, as the SSM adapter's Overwrite=False) and
an HTTPS fetcher answering from a dict (tests that need real TLS use ingress.sns.HttpsGetter on a local server)."""

from __future__ import annotations

import threading


class FakeHookSecrets:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lock = threading.Lock()

    def put_new(self, name: str, value: str) -> str | None:
        with self.lock:
            if name in self.values:
                return self.values[name]
            self.values[name] = value
            return None


class FakeFetcher:
    def __init__(self, pages: dict[str, bytes] | None = None) -> None:
        self.pages = dict(pages or {})
        self.requested: list[str] = []

    def get(self, url: str) -> bytes:
        self.requested.append(url)
        if url not in self.pages:
            raise OSError(f"GET {url} answered 404")
        return self.pages[url]
