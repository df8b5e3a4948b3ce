"""`provider:` sources through Ingress.accept, on the in-memory fakes: the catalog's verdict becomes the same
answers and dedupe rules as `verify:` sources. Requests are signed with slack-sdk, or with the providers'
documented recipes computed by the standard library, never with hookline's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from slack_sdk.signature import SignatureVerifier

from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.providers import Request
from hookline.validation import parse_config
from tests.support.aging import Clock
from tests.support.fakes import FakeEventLog, FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO_TOKEN = "12345"
CONFIG = {
    "sources": {
        "slack": {"provider": "slack", "secrets": ["env:OLD", "env:SLACK"]},
        "gh": {"provider": "github", "secrets": ["env:GH"]},
        "sms": {"provider": "twilio", "secrets": ["env:TWILIO"], "format": "form",
                "public_url": "https://hooks.example.com/in/sms"},
        "vault": {"provider": "slack", "secrets": ["env:MISSING"]},
    },
    "destinations": {"crm": {"url": "http://crm.invalid/in"}},
    "routes": [{"name": n, "source": n, "destination": "crm"} for n in ("slack", "gh", "sms")],
}


class Hub:
    def __init__(self) -> None:
        self.clock = Clock(1_760_000_000.0)
        table = MemoryTable()
        self.records = FakeEventLogEntries(table, clock=self.clock)
        self.events = FakeEventLog(table, clock=self.clock)  # where delivery writes, in the same table
        self.queue = FakeQueue()
        self.ingress = Ingress(IngressDeps(
            config=parse_config(CONFIG), publisher=self.queue, payloads=FakePayloadStore(), entries=self.records,
            secrets=FakeSecrets({"SLACK": SLACK_SECRET, "OLD": "rotated-out", "GH": "gh-secret",
                                 "TWILIO": TWILIO_TOKEN}),
            clock=self.clock, idempotency_window_seconds=3600, in_flight_seconds=30))

    def slack(self, body: dict[str, Any], at: float | None = None) -> Any:
        raw = json.dumps(body).encode()
        ts = str(int(self.clock() if at is None else at))
        sig = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=ts, body=raw)
        headers = {"x-slack-signature": sig, "x-slack-request-timestamp": ts, "content-type": "application/json"}
        return self.ingress.accept("slack", headers, raw, request=Request(headers=headers, body=raw))


    def delivered(self, event_id: str, route: str) -> None:
        """Delivery has begun (its first claim writes the route's item): a copy is then a plain duplicate."""
        received_at = self.records.memory.get((event_id, "#event"))["received_at"]
        self.events.record_attempt(event_id=event_id, route=route, status="delivered", received_at=received_at)


EVENT = {"type": "event_callback", "event_id": "Ev123", "event": {"type": "app_mention", "text": "hi"}}


def test_a_slack_event_is_accepted_under_its_signed_id_and_a_copy_is_a_duplicate() -> None:
    hub = Hub()
    resp = hub.slack(EVENT)
    assert (resp.status, resp.body) == (202, {"status": "accepted", "id": "Ev123"})
    [task] = hub.queue.tasks
    assert (task.event_id, task.source, task.type) == ("Ev123", "slack", "app_mention")
    assert "x-slack-signature" not in task.headers  # signatures prove nothing downstream
    hub.delivered("Ev123", "slack")
    hub.clock.advance(60)
    resp = hub.slack(EVENT)  # Slack's retry: a new timestamp and signature, the same event id
    assert (resp.status, resp.body) == (200, {"status": "duplicate", "id": "Ev123"})
    assert len(hub.queue.tasks) == 1


def test_slack_rejections_are_401_with_the_reason_and_a_stale_capture_expires() -> None:
    hub = Hub()
    stale = hub.slack(EVENT, at=hub.clock() - 301)
    assert stale.status == 401
    assert "outside the 300 s tolerance (X-Slack-Request-Timestamp)" in stale.body["error"]
    resp = hub.ingress.accept("slack", {"x-slack-request-timestamp": str(int(hub.clock()))}, b"{}")
    assert (resp.status, resp.body) == (401, {"error": "missing header X-Slack-Signature"})
    assert hub.queue.tasks == []


def test_a_secret_that_cannot_be_read_is_503_nothing_recorded() -> None:
    hub = Hub()
    raw = json.dumps(EVENT).encode()
    resp = hub.ingress.accept("vault", {"x-slack-signature": "v0=00", "x-slack-request-timestamp": "1"}, raw)
    assert resp.status == 503 and "retry" in resp.body["error"]
    assert hub.queue.tasks == [] and hub.records.requests == 0


def test_an_unsigned_id_header_is_guarded_by_the_signed_bytes() -> None:
    # GitHub signs the body only: a capture replayed under a new X-GitHub-Delivery is the same event.
    hub = Hub()
    raw = b'{"action":"opened"}'
    sig = "sha256=" + hmac.new(b"gh-secret", raw, hashlib.sha256).hexdigest()
    first = hub.ingress.accept("gh", {"x-hub-signature-256": sig, "x-github-delivery": "d-1",
                                      "x-github-event": "issues"}, raw)
    assert (first.status, first.body["id"]) == (202, "d-1")
    hub.delivered("d-1", "gh")
    replay = hub.ingress.accept("gh", {"x-hub-signature-256": sig, "x-github-delivery": "d-2"}, raw)
    assert (replay.status, replay.body) == (200, {"status": "duplicate", "id": "d-1"})
    assert len(hub.queue.tasks) == 1


def test_the_public_url_setting_is_the_url_a_url_signing_provider_signs() -> None:
    # Twilio's documented recipe: HMAC-SHA1 (base64) of the URL it called followed by the sorted form parameters.
    hub = Hub()
    raw = b"From=%2B14158675309&Body=hello&MessageSid=SM1"
    signed_url = "https://hooks.example.com/in/sms?x=1"
    content = signed_url + "Bodyhello" + "From+14158675309" + "MessageSidSM1"
    sig = base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), content.encode(), hashlib.sha1).digest()).decode()
    headers = {"x-twilio-signature": sig, "content-type": "application/x-www-form-urlencoded"}
    # API Gateway saw its own domain and path; the source's public_url (plus the query) is what Twilio called.
    seen = Request(headers=headers, body=raw, query={"x": "1"},
                   url="https://abc.execute-api.us-east-1.amazonaws.com/webhooks/sms?x=1")
    resp = hub.ingress.accept("sms", headers, raw, request=seen)
    assert resp.status == 202, resp.body
    other = Request(headers=headers, body=raw, url="https://abc.execute-api.us-east-1.amazonaws.com/webhooks/sms?x=2")
    assert hub.ingress.accept("sms", headers, raw, request=other).status == 401
