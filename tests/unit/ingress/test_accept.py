"""Ingress's answers on in-memory fakes (tests/support/fakes.py): every status, and one event for ten copies.

Requests are signed with the providers' own means (the standardwebhooks SDK; GitHub's HMAC with the standard
library), never hookline's signer. The moto-backed tests (tests/integration/test_ingress*.py) stay the proof
against DynamoDB's and SQS's semantics and IAM.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from standardwebhooks import Webhook

from hookline.core.errors import StoreUnavailable
from hookline.core.signing import body_digest
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.validation import parse_config
from tests.support.aging import Clock, together
from tests.support.fakes import FakeEventLog, FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

SW_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
GH_SECRET = "github-webhook-secret"
CONFIG = {
    "sources": {"app": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:SW_SECRET"]}},
                "gh": {"verify": {"scheme": "github", "secrets": ["env:GH_SECRET"]}},
                "small": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:SW_SECRET"]},
                          "max_body_bytes": 1024},
                "vault": {"verify": {"scheme": "standard-webhooks", "secrets": ["env:MISSING"]}},
                # Shopify's HMAC has no timestamp; its id taken from the signed body: the record is the guard.
                "shop": {"verify": {"scheme": "shopify", "secrets": ["env:GH_SECRET"], "id_path": "id"},
                         "replay_guard_days": 90}},
    "destinations": {"crm": {"url": "http://crm.invalid/in"}},
    "routes": [{"name": "app-to-crm", "source": "app", "destination": "crm"},
               {"name": "gh-to-crm", "source": "gh", "destination": "crm"},
               {"name": "shop-to-crm", "source": "shop", "destination": "crm"}],
}


class Hub:
    def __init__(self, clock: Clock | None = None, window: int = 3600) -> None:
        self.clock = clock or Clock(time.time())
        table = MemoryTable()
        self.entries = FakeEventLogEntries(table, clock=self.clock)
        self.events = FakeEventLog(table, clock=self.clock)  # where delivery writes, in the same table
        self.queue = FakeQueue()
        self.ingress = Ingress(IngressDeps(
            config=parse_config(CONFIG), secrets=FakeSecrets({"SW_SECRET": SW_SECRET, "GH_SECRET": GH_SECRET}),
            publisher=self.queue, payloads=FakePayloadStore(), entries=self.entries, clock=self.clock,
            idempotency_window_seconds=window, in_flight_seconds=30))

    def app(self, msg_id: str, body: dict[str, Any] | bytes, source: str = "app", **headers: str) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        at = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        signature = Webhook(SW_SECRET).sign(msg_id, at, raw.decode())
        return self.ingress.accept(source, {"webhook-id": msg_id, "webhook-timestamp": str(int(self.clock())),
                                            "webhook-signature": signature, "content-type": "application/json",
                                            **headers}, raw)

    def delivered(self, event_id: str, route: str) -> None:
        """Delivery has begun: the route's item, with the event's received_at, as its first claim writes it."""
        received_at = self.entries.memory.get((event_id, "#event"))["received_at"]
        self.events.record_attempt(event_id=event_id, route=route, status="delivered", received_at=received_at)

    def github(self, delivery: str, body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(GH_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        return self.ingress.accept("gh", {"X-GitHub-Delivery": delivery, "X-GitHub-Event": "issues",
                                          "X-Hub-Signature-256": signature, "Content-Type": "application/json"}, raw)

    def shop(self, body: dict[str, Any]) -> Any:
        raw = json.dumps(body).encode()
        signature = base64.b64encode(hmac.new(GH_SECRET.encode(), raw, hashlib.sha256).digest()).decode()
        return self.ingress.accept("shop", {"X-Shopify-Hmac-Sha256": signature, "Content-Type": "application/json"},
                                   raw)


ORDER = {"type": "order.created", "id": 1001}


def test_a_new_event_is_accepted_recorded_and_queued_for_its_route() -> None:
    hub = Hub()
    resp = hub.app("msg-1", ORDER)
    assert (resp.status, resp.body) == (202, {"status": "accepted", "id": "msg-1"})
    [task] = hub.queue.tasks
    assert (task.event_id, task.route, task.source) == ("msg-1", "app-to-crm", "app")
    assert hub.entries.memory.get(("msg-1", "#event"))["routes"] == ["app-to-crm"]
    assert hub.entries.requests == 1  # one conditional write


def test_a_copy_is_a_duplicate_answered_200_and_counted_never_queued_again() -> None:
    hub = Hub()
    assert hub.app("msg-1", ORDER).status == 202
    early = hub.app("msg-1", ORDER)  # nothing yet shows the first was queued: come back
    assert (early.status, early.headers) == (409, {"Retry-After": "1"})
    hub.delivered("msg-1", "app-to-crm")
    resp = hub.app("msg-1", ORDER)
    assert (resp.status, resp.body) == (200, {"status": "duplicate", "id": "msg-1"})
    assert len(hub.queue.tasks) == 1
    assert hub.entries.memory.get(("msg-1", "#event"))["duplicates"] == 1


def test_another_body_under_a_recorded_id_is_refused_409_and_not_queued() -> None:
    hub = Hub()
    assert hub.app("msg-1", ORDER).status == 202
    resp = hub.app("msg-1", {**ORDER, "id": 666})
    assert resp.status == 409
    assert "already received with a different body" in resp.body["error"] and "new id" in resp.body["error"]
    assert len(hub.queue.tasks) == 1


def test_a_copy_while_the_first_is_still_queueing_waits_409_then_queues_it_after_queue_by() -> None:
    hub = Hub()
    hub.queue.fail = 1  # the first invocation's queueing fails ...
    first = hub.app("msg-1", ORDER)
    assert first.status == 503 and "nothing was recorded" in first.body["error"]
    assert hub.entries.memory.get(("msg-1", "#event")) is None  # ... and its record is released
    # A record whose invocation died between its write and its queueing (no release):
    now = hub.clock()
    hub.entries.claim(event_id="msg-2", source="app", type="order.created", received_at=now, routes=["app-to-crm"],
                      queue_by=now + 30, token="dead", window_start=now - 3600,
                      body_sha256=body_digest(json.dumps(ORDER).encode()))
    copy = hub.app("msg-2", ORDER)
    assert (copy.status, copy.body, copy.headers) == (409, {"status": "in_progress", "id": "msg-2"},
                                                       {"Retry-After": "1"})
    assert hub.queue.tasks == []
    hub.clock.advance(31)  # that invocation is certainly over: the copy queues the event
    assert hub.app("msg-2", ORDER).status == 200
    assert [t.event_id for t in hub.queue.tasks] == ["msg-2"]
    assert hub.app("msg-1", ORDER).status == 202  # the released one is new to its sender's retry


def test_a_bad_signature_is_401_an_unknown_source_404_a_large_body_413_and_a_bad_body_400() -> None:
    hub = Hub()
    bad = hub.ingress.accept("app", {"webhook-id": "m", "webhook-timestamp": str(int(hub.clock())),
                                     "webhook-signature": "v1,AAAA", "content-type": "application/json"}, b"{}")
    assert bad.status == 401
    assert hub.ingress.accept("nope", {}, b"{}").status == 404
    big = hub.app("msg-big", {"pad": "x" * 2000}, source="small")
    assert big.status == 413 and "exceeds the 1024-byte limit" in big.body["error"]
    broken = hub.app("msg-broken", b"{not json")
    assert broken.status == 400
    assert hub.queue.tasks == [] and hub.entries.memory.items == {}


def test_an_unresolvable_signing_secret_is_503_without_its_reference_or_value() -> None:
    hub = Hub()
    resp = hub.app("msg-1", ORDER, source="vault")
    assert resp.status == 503 and resp.body == {"error": "signing secret unavailable; retry later"}
    assert hub.entries.memory.items == {}


def test_github_bytes_replayed_under_a_new_delivery_id_are_a_duplicate_of_the_first() -> None:
    hub = Hub()
    assert hub.github("d-1", {"action": "opened"}).status == 202
    hub.delivered("d-1", "gh-to-crm")
    replay = hub.github("d-forged", {"action": "opened"})
    assert (replay.status, replay.body) == (200, {"status": "duplicate", "id": "d-1"})
    assert [t.event_id for t in hub.queue.tasks] == ["d-1"]


def test_after_the_window_the_same_id_is_a_new_event() -> None:
    hub = Hub(window=3600)
    assert hub.app("msg-1", ORDER).status == 202
    hub.clock.advance(3601)
    assert hub.app("msg-1", ORDER).status == 202
    assert len(hub.queue.tasks) == 2


def test_an_id_from_the_signed_body_is_recorded_with_one_write_and_its_bytes_stay_once_for_the_guard_days() -> None:
    hub = Hub(window=3600)
    first = {"id": "order-7", "total": 5}
    assert hub.shop(first).status == 202
    # One item, as one conditional write: no replay guard item beside it (and so no transaction).
    assert [key for key in hub.entries.memory.items] == [("order-7", "#event")]
    hub.delivered("order-7", "shop-to-crm")
    hub.clock.advance(2 * 86400)  # past the idempotency window, inside replay_guard_days
    replay = hub.shop(first)
    assert (replay.status, replay.body) == (200, {"status": "duplicate", "id": "order-7"})
    assert hub.shop({"id": "order-7", "total": 6}).status == 202  # other bytes under that id, past the window
    hub.clock.advance(91 * 86400)  # past the guard's window: the first bytes are a new event again
    assert hub.shop(first).status == 202
    assert [t.event_id for t in hub.queue.tasks] == ["order-7"] * 3


@pytest.mark.parametrize("sender", ["app", "github"])
def test_ten_concurrent_copies_are_accepted_exactly_once(sender: str) -> None:
    hub = Hub()

    def send(i: int) -> Any:
        return hub.app("msg-10", ORDER) if sender == "app" else hub.github("d-10", {"action": "opened"})

    statuses = sorted(r.status for r in together(send))
    assert statuses.count(202) == 1
    assert set(statuses) <= {200, 202, 409}
    assert len(hub.queue.tasks) == 1


def test_an_event_store_that_fails_is_503_and_the_senders_retry_is_accepted() -> None:
    hub = Hub()
    real = hub.entries.claim

    def throttled(**kwargs: Any) -> Any:
        hub.entries.claim = real  # type: ignore[method-assign]  # once
        raise StoreUnavailable("ProvisionedThroughputExceededException: PutItem: slow down")

    hub.entries.claim = throttled  # type: ignore[method-assign]
    resp = hub.app("msg-1", ORDER)
    assert (resp.status, resp.body) == (503, {"error": "event store or queue unavailable; nothing was recorded, "
                                                       "retry later"})
    assert hub.queue.tasks == []
    assert hub.app("msg-1", ORDER).status == 202
