"""Local fakes of the providers' event-listing APIs (real HTTP servers on 127.0.0.1), for reconciliation.

- `FakeStripe`: `GET /v1/events` as Stripe's API reference describes it (created[gte], limit, starting_after,
  newest first, `{"object": "list", "data": [...], "has_more": ...}`), Bearer key checked; each event built
  on the published Event object example (docs.stripe.com/api/events/object, a setup_intent.created event).
- `FakeGitHub`: a hook's `GET .../deliveries` (newest first, the next page in a Link header's cursor) and
  `POST .../deliveries/ID/attempts` (202), delivery objects shaped as GitHub's REST reference shows them.
Faults: `fail_next` = [(status, headers)] answered before the next GETs (429 + Retry-After ...).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

# docs.stripe.com/api/events/object (API version 2024-06-20): the Event object's example, ids varied per event.
STRIPE_EVENT = {
    "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "api_version": "2019-02-19", "created": 1686089970,
    "data": {"object": {
        "id": "seti_1NG8Du2eZvKYlo2C9XMqbR0x", "object": "setup_intent", "application": None,
        "automatic_payment_methods": None, "cancellation_reason": None, "created": 1686089970, "customer": None,
        "description": None, "flow_directions": None, "last_setup_error": None, "latest_attempt": None,
        "livemode": False, "mandate": None, "metadata": {}, "next_action": None, "on_behalf_of": None,
        "payment_method": "pm_1NG8Du2eZvKYlo2CYzzldNr7",
        "payment_method_options": {"acss_debit": {
            "currency": "cad", "mandate_options": {"interval_description": "First day of every month",
                                                   "payment_schedule": "interval", "transaction_type": "personal"},
            "verification_method": "automatic"}},
        "payment_method_types": ["acss_debit"], "single_use_mandate": None, "status": "requires_confirmation",
        "usage": "off_session"}},
    "livemode": False, "pending_webhooks": 0, "request": {"id": None, "idempotency_key": None},
    "type": "setup_intent.created",
}


def stripe_event(n: int, created: int) -> dict[str, Any]:
    e = copy.deepcopy(STRIPE_EVENT)
    e["id"], e["created"] = f"evt_{n:06d}reconcileTest", created
    e["data"]["object"].update(id=f"seti_{n:06d}", created=created, metadata={"n": str(n)})
    return e


class _Server:
    key = "sk_test_reconcile"

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer._serve(self, "GET")

            def do_POST(self) -> None:
                outer._serve(self, "POST")

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(h.path)
        with self._lock:
            self.requests.append({"method": method, "path": url.path, "query": parse_qs(url.query),
                                  "auth": h.headers.get("Authorization")})
            fault = self.fail_next.pop(0) if self.fail_next and method == "GET" else None
        if fault:
            status, body, headers = fault[0], {"error": {"message": "slow down"}}, fault[1]
        elif h.headers.get("Authorization") != f"Bearer {self.key}":
            status, body, headers = 401, {"error": {"message": "Invalid API Key provided"}}, {}
        else:
            status, body, headers = self.answer(method, url.path, parse_qs(url.query))
        raw = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(raw)

    def answer(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError


class FakeStripe(_Server):
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = sorted(events, key=lambda e: (-e["created"], e["id"]))  # newest first, as Stripe lists
        super().__init__()

    def answer(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        if (method, path) != ("GET", "/v1/events"):
            return 404, {"error": {"message": f"Unrecognized request URL ({method}: {path})"}}, {}
        gte = int(query.get("created[gte]", ["0"])[0])
        limit = min(int(query.get("limit", ["10"])[0]), 100)
        listed = [e for e in self.events if e["created"] >= gte]
        after = query.get("starting_after", [None])[0]
        if after:
            listed = listed[[e["id"] for e in listed].index(after) + 1:]
        page = listed[:limit]
        return 200, {"object": "list", "data": page, "has_more": len(listed) > limit, "url": "/v1/events"}, {}


class FakeGitHub(_Server):
    """A repository hook's deliveries (`/repos/o/r/hooks/1/deliveries`), `page_size` a page."""

    def __init__(self, deliveries: list[dict[str, Any]], page_size: int = 3) -> None:
        self.deliveries = deliveries  # newest first, as GitHub lists them
        self.page_size = page_size
        self.redelivered: list[int] = []
        super().__init__()

    def answer(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        base = "/repos/o/r/hooks/1/deliveries"
        if method == "POST" and path.startswith(base + "/") and path.endswith("/attempts"):
            self.redelivered.append(int(path[len(base) + 1:-len("/attempts")]))
            return 202, {}, {}
        if (method, path) != ("GET", base):
            return 404, {"message": "Not Found"}, {}
        start = int(query.get("cursor", ["0"])[0])
        page = self.deliveries[start:start + self.page_size]
        more = start + self.page_size < len(self.deliveries)
        link = {"Link": f'<{self.url}{base}?per_page=100&cursor={start + self.page_size}>; rel="next"'} if more else {}
        return 200, page, link


def delivery(id_: int, guid: str, at: str, status_code: int, redelivery: bool = False) -> dict[str, Any]:
    """docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook: one item's fields."""
    return {"id": id_, "guid": guid, "delivered_at": at, "redelivery": redelivery, "duration": 0.27,
            "status": "OK" if status_code < 300 else "Internal Server Error", "status_code": status_code,
            "event": "issues", "action": "opened", "installation_id": None, "repository_id": 42,
            "throttled_at": None}


@contextmanager
def serving(server: _Server) -> Iterator[Any]:
    try:
        yield server
    finally:
        server.stop()
