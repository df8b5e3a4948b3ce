"""`sources.x.auth` through Ingress.accept on the in-memory fakes: basic, api_key, bearer, hmac, provider,
ip_allowlist and all_of. Every refusal is 401 {"error": "authentication failed"} with the reason in the log
and never a secret; a secret that cannot be read is 503. The hmac and provider cases are signed by the
standard library's hmac following the configured recipe and by Stripe's own SDK, never by hookline."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import stripe

from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.providers import Request
from hookline.validation import parse_config
from tests.support.aging import Clock
from tests.support.fakes import FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

SECRETS = {"USER": "hook-user", "PASS": "p4ss:word with spaces", "OLD_PASS": "rotated-out-pass",
           "KEY": "k3y-for-partner", "TOKEN": "tok-8c1f0e", "SIG": "hmac-shared-secret", "STRIPE": "whsec_test123"}
SOURCES: dict[str, Any] = {
    "basic": {"auth": {"basic": {"user": "env:USER", "password": ["env:OLD_PASS", "env:PASS"]}}},
    "keyed": {"auth": {"api_key": {"header": "X-Partner-Key", "value": "env:KEY"}}, "id_path": "id",
              "type_path": "kind"},
    "query_key": {"auth": {"api_key": {"query": "key", "value": "env:KEY"}}},
    "bearer": {"auth": {"bearer": "env:TOKEN"}},
    "signed": {"auth": {"hmac": {
        "secrets": ["env:SIG"],
        "signature": {"header": "X-Sig", "prefix": "sha512=", "algorithm": "hmac-sha512", "encoding": "base64",
                      "content": "{timestamp}.{id}.{body}"},
        "timestamp": {"header": "X-Sig-Time", "format": "unix", "tolerance_seconds": 120},
        "id": {"header": "X-Event-Id"}, "type": {"path": "type"}}}},
    "v4": {"auth": {"ip_allowlist": ["203.0.113.0/24", "198.51.100.7"]}},
    "v6": {"auth": {"ip_allowlist": ["2001:db8:1234::/48"]}},
    "partner": {"auth": {"all_of": [{"api_key": {"header": "X-Partner-Key", "value": "env:KEY"}},
                                    {"ip_allowlist": ["203.0.113.0/24"]}]}},
    "stripe_from_office": {"auth": {"all_of": [{"ip_allowlist": ["203.0.113.0/24"]},
                                               {"provider": {"name": "stripe", "secrets": ["env:STRIPE"]}}]}},
    "vault": {"auth": {"bearer": "env:MISSING"}},
}
CONFIG = {"sources": SOURCES, "destinations": {"crm": {"url": "http://crm.invalid/in"}},
          "routes": [{"name": n, "source": n, "destination": "crm"} for n in SOURCES]}
FAILED = (401, {"error": "authentication failed"})
OFFICE, ELSEWHERE = "203.0.113.9", "192.0.2.1"


class Hub:
    def __init__(self) -> None:
        self.clock = Clock(float(int(time.time())))  # Stripe's SDK signs with the wall clock
        self.queue = FakeQueue()
        self.ingress = Ingress(IngressDeps(
            config=parse_config(CONFIG), publisher=self.queue, payloads=FakePayloadStore(),
            entries=FakeEventLogEntries(MemoryTable(), clock=self.clock), secrets=FakeSecrets(SECRETS),
            clock=self.clock, idempotency_window_seconds=3600, in_flight_seconds=30))

    def post(self, source: str, body: Any = None, headers: dict[str, str] | None = None, *,
             ip: str | None = OFFICE, query: dict[str, str] | None = None) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body if body is not None else {"n": 1}).encode()
        h = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()}}
        resp = self.ingress.accept(source, h, raw, request=Request(headers=h, body=raw, query=query or {},
                                                                   source_ip=ip))
        return resp.status, resp.body


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def no_secret_in(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text


def test_basic_accepts_the_configured_user_with_either_password_and_refuses_everything_else(logs) -> None:
    hub = Hub()
    assert hub.post("basic", {"n": 1}, basic("hook-user", "p4ss:word with spaces"))[0] == 202
    assert hub.post("basic", {"n": 2}, basic("hook-user", "rotated-out-pass"))[0] == 202  # rotation
    lower_scheme = {"authorization": "basic " + base64.b64encode(b"hook-user:p4ss:word with spaces").decode()}
    assert hub.post("basic", {"n": 3}, lower_scheme)[0] == 202  # the scheme name is case-insensitive
    for headers in (basic("hook-user", "wrong"), basic("someone", "p4ss:word with spaces"), {},
                    {"Authorization": "Basic !!notbase64"}, {"Authorization": "Basic " + base64.b64encode(
                        b"no-colon").decode()}, {"Authorization": "Bearer tok-8c1f0e"}):
        assert hub.post("basic", {"n": 4}, headers) == FAILED
    text = logs.getvalue()
    for reason in ("basic credentials do not match", "missing Authorization header",
                   "not Basic base64(user:password)", "Authorization header is not Basic credentials"):
        assert reason in text
    no_secret_in(text)
    assert len(hub.queue.tasks) == 3


def test_api_key_in_a_header_names_the_event_by_id_path_and_never_forwards_the_key(logs) -> None:
    hub = Hub()
    status, body = hub.post("keyed", {"id": "evt-1", "kind": "order.paid"}, {"X-Partner-Key": "k3y-for-partner"})
    assert (status, body) == (202, {"status": "accepted", "id": "evt-1"})
    [task] = hub.queue.tasks
    assert task.type == "order.paid" and "x-partner-key" not in task.headers
    # The same id again is a copy of that event (in progress until delivery begins); a key is no signature, so
    # there is no replay guard on the bytes: another id is another event.
    again = hub.post("keyed", {"id": "evt-1", "kind": "order.paid"}, {"X-Partner-Key": "k3y-for-partner"})
    assert again == (409, {"status": "in_progress", "id": "evt-1"})
    assert hub.post("keyed", {"id": "evt-2", "kind": "order.paid"}, {"X-Partner-Key": "k3y-for-partner"})[0] == 202
    assert hub.post("keyed", {"id": "evt-3"}, {"X-Partner-Key": "k3y-for-partner "})[0] == 202  # padding trimmed
    assert hub.post("keyed", {"id": "evt-4"}, {"X-Partner-Key": "k3y-for-partnex"}) == FAILED
    assert hub.post("keyed", {"id": "evt-4"}, {"X-Partner-Key": "k3y-for-partner-and-more"}) == FAILED
    assert hub.post("keyed", {"id": "evt-4"}, {"X-Other": "k3y-for-partner"}) == FAILED
    assert hub.post("keyed", {"id": "evt-4"}, query={"key": "k3y-for-partner"}) == FAILED  # a header, not the query
    text = logs.getvalue()
    assert "API key in header X-Partner-Key does not match" in text and "missing header X-Partner-Key" in text
    no_secret_in(text)


def test_api_key_in_the_query_string() -> None:
    hub = Hub()
    assert hub.post("query_key", query={"key": "k3y-for-partner"})[0] == 202
    assert hub.post("query_key", query={"key": "nope"}) == FAILED
    assert hub.post("query_key", {"n": 2}, {"key": "k3y-for-partner"}) == FAILED  # a header of that name is no key


def test_bearer(logs) -> None:
    hub = Hub()
    assert hub.post("bearer", headers={"Authorization": "Bearer tok-8c1f0e"})[0] == 202
    for value in ("Bearer tok-8c1f0f", "Bearer", "tok-8c1f0e", "Basic tok-8c1f0e", "Bearer tok-8c1f0e0"):
        assert hub.post("bearer", {"v": value}, {"Authorization": value}) == FAILED
    assert "bearer token does not match" in logs.getvalue()
    no_secret_in(logs.getvalue())


def _hmac_headers(body: bytes, secret: str, ts: int, event_id: str) -> dict[str, str]:
    # The recipe as configured, computed by the standard library (not hookline's signer).
    content = f"{ts}.{event_id}.".encode() + body
    sig = base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha512).digest()).decode()
    return {"X-Sig": "sha512=" + sig, "X-Sig-Time": str(ts), "X-Event-Id": event_id}


def test_generic_hmac_with_every_field_set_and_each_tampering_refused(logs) -> None:
    hub = Hub()
    body = json.dumps({"type": "invoice.created", "n": 1}).encode()
    now = int(hub.clock())
    status, answer = hub.post("signed", body, _hmac_headers(body, "hmac-shared-secret", now, "e-77"))
    assert (status, answer) == (202, {"status": "accepted", "id": "e-77"})
    [task] = hub.queue.tasks
    assert task.type == "invoice.created" and "x-sig" not in task.headers
    good = _hmac_headers(body, "hmac-shared-secret", now, "e-78")
    tampered = [
        (body.replace(b"1", b"2"), good),  # a body byte
        # a signature character: one near the start, whose every bit is data (the last carry padding bits)
        (body, {**good, "X-Sig": good["X-Sig"][:5] + ("A" if good["X-Sig"][5] != "A" else "B") + good["X-Sig"][6:]}),
        (body, {**good, "X-Sig-Time": str(now + 1)}),  # the timestamp is signed
        (body, {**good, "X-Event-Id": "e-79"}),  # so is the id header
        (body, _hmac_headers(body, "another-secret", now, "e-78")),
        (body, _hmac_headers(body, "hmac-shared-secret", now - 121, "e-78")),  # past the 120 s tolerance
        (body, _hmac_headers(body, "hmac-shared-secret", now + 121, "e-78")),  # and into the future
        (body, {k: v for k, v in good.items() if k != "X-Sig"}),
    ]
    for raw, headers in tampered:
        assert hub.post("signed", raw, headers) == FAILED
    assert hub.post("signed", body, good)[0] == 202
    text = logs.getvalue()
    assert "hmac: signature does not match (X-Sig)" in text and "outside the 120 s tolerance" in text
    no_secret_in(text)


@pytest.mark.parametrize(("source", "inside", "outside"), [
    ("v4", ["203.0.113.1", "203.0.113.254", "198.51.100.7", "::ffff:203.0.113.5"],
     ["203.0.114.1", "198.51.100.8", "10.0.0.1", "2001:db8:1234::1", "", None, "not-an-ip"]),
    ("v6", ["2001:db8:1234::1", "2001:db8:1234:ffff::9", "2001:DB8:1234::abcd"],
     ["2001:db8:1235::1", "203.0.113.1", "::1"]),
])
def test_ip_allowlist_matches_api_gateways_source_ip(source: str, inside: list[str], outside: list[str | None],
                                                      logs) -> None:
    hub = Hub()
    for i, ip in enumerate(inside):
        assert hub.post(source, {"i": i}, ip=ip)[0] == 202, ip
    for i, ip in enumerate(outside):
        assert hub.post(source, {"o": i}, ip=ip) == FAILED, ip
    assert "is not in the ip_allowlist" in logs.getvalue()


def test_all_of_needs_every_method_and_checks_the_address_before_any_secret(logs) -> None:
    hub = Hub()
    key = {"X-Partner-Key": "k3y-for-partner"}
    assert hub.post("partner", {"n": 1}, key, ip=OFFICE)[0] == 202
    assert hub.post("partner", {"n": 2}, key, ip=ELSEWHERE) == FAILED  # the right key from elsewhere
    assert hub.post("partner", {"n": 3}, {"X-Partner-Key": "wrong"}, ip=OFFICE) == FAILED  # the wrong key at home
    resolved: list[list[str]] = []
    secrets = hub.ingress.deps.secrets
    real = secrets.resolve_all
    secrets.resolve_all = lambda refs: resolved.append(refs) or real(refs)  # type: ignore[method-assign]
    assert hub.post("partner", {"n": 4}, key, ip=ELSEWHERE) == FAILED
    assert resolved == []  # refused on the address: no secret was read
    text = logs.getvalue()
    assert f"source IP {ELSEWHERE} is not in the ip_allowlist" in text and "does not match" in text


def test_a_catalog_provider_in_all_of_signed_by_stripes_sdk_keeps_its_event_id() -> None:
    hub = Hub()
    body = json.dumps({"id": "evt_1N", "object": "event", "type": "charge.succeeded"})
    ts = int(time.time())
    v1 = stripe.WebhookSignature._compute_signature(f"{ts}.{body}", "whsec_test123")  # the SDK's own HMAC
    signature = f"t={ts},v1={v1}"
    stripe.Webhook.construct_event(body, signature, "whsec_test123")  # and the SDK accepts the header
    ok = hub.post("stripe_from_office", body.encode(), {"Stripe-Signature": signature}, ip=OFFICE)
    assert ok == (202, {"status": "accepted", "id": "evt_1N"})
    assert hub.queue.tasks[0].type == "charge.succeeded"
    assert hub.post("stripe_from_office", body.encode(), {"Stripe-Signature": signature}, ip=ELSEWHERE) == FAILED
    assert hub.post("stripe_from_office", body.encode() + b" ", {"Stripe-Signature": signature}, ip=OFFICE) == FAILED


def test_an_unreadable_secret_is_503_and_a_get_is_404(logs) -> None:
    hub = Hub()
    status, body = hub.post("vault", headers={"Authorization": "Bearer x"})
    assert (status, body) == (503, {"error": "signing secret unavailable; retry later"})
    assert "source auth secret unavailable" in logs.getvalue()
    get = hub.ingress.accept("bearer", {}, b"", request=Request(method="GET", headers={}, body=b""))
    assert get.status == 404


def test_refusals_are_identical_whatever_failed() -> None:
    """A prober learns nothing from the answer: every refusal of every method has the same status and body."""
    hub = Hub()
    answers = [
        hub.post("basic", headers=basic("hook-user", "x")), hub.post("basic"),
        hub.post("keyed", headers={"X-Partner-Key": "x"}), hub.post("bearer", headers={"Authorization": "Bearer x"}),
        hub.post("signed", headers={"X-Sig": "sha512=AAAA", "X-Sig-Time": "1", "X-Event-Id": "e"}),
        hub.post("v4", ip=ELSEWHERE), hub.post("partner", ip=ELSEWHERE),
    ]
    assert answers == [FAILED] * len(answers)
