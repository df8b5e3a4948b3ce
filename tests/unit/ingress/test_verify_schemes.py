"""`verify: {scheme: X}` is the catalog entry X run by the provider engine, with the source's fields as overrides.

hmac-sha256 is proven by RFC 4231's published HMAC-SHA256 test vector; Shopify by its documented recipe (base64
HMAC-SHA256 of the body) computed by the standard library; Standard Webhooks by the `standardwebhooks` library.
Never hookline's signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from hookline.core.config import VerifyConfig
from hookline.ingress import signatures
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.providers import Request, load, verify
from hookline.ingress.signatures import SignatureError, SourceMisconfigured
from hookline.validation import parse_config
from tests.support.aging import Clock
from tests.support.fakes import FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

NOW = 1_760_000_000.0
# RFC 4231 section 4.3, test case 2: HMAC-SHA-256 of "what do ya want for nothing?" under the key "Jefe".
RFC_KEY, RFC_DATA = "Jefe", b"what do ya want for nothing?"
RFC_MAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def cfg(scheme: str, **kw) -> VerifyConfig:
    return VerifyConfig(scheme=scheme, secrets=["env:X"], **kw)


def flipped(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def test_the_hmac_sha256_entry_verifies_rfc_4231s_vector() -> None:
    entry = load("hmac-sha256")
    assert verify(entry, [RFC_KEY], Request(headers={"x-signature": RFC_MAC}, body=RFC_DATA), now=NOW).event_id is None
    changed = (({"x-signature": RFC_MAC}, RFC_DATA[:-1] + b"!"), ({"x-signature": flipped(RFC_MAC)}, RFC_DATA))
    for headers, body in changed:
        with pytest.raises(SignatureError, match=r"signature does not match \(X-Signature\)"):
            verify(entry, [RFC_KEY], Request(headers=headers, body=body), now=NOW)


def test_verify_hmac_sha256_takes_header_prefix_and_encoding_from_the_source() -> None:
    c = cfg("hmac-sha256", header="X-Webhook-Signature", prefix="sha256=", encoding="base64")
    b64 = base64.b64encode(bytes.fromhex(RFC_MAC)).decode()
    signatures.verify(c, [RFC_KEY], {"X-Webhook-Signature": "SHA256=" + b64}, RFC_DATA, now=NOW)
    with pytest.raises(SignatureError, match=r"^missing header X-Webhook-Signature$"):
        signatures.verify(c, [RFC_KEY], {"X-Signature": RFC_MAC}, RFC_DATA, now=NOW)  # the entry's default: not it
    with pytest.raises(SignatureError, match=r"^malformed X-Webhook-Signature header: expected sha256=<base64>$"):
        signatures.verify(c, [RFC_KEY], {"X-Webhook-Signature": "sha256=" + RFC_MAC}, RFC_DATA, now=NOW)
    with pytest.raises(SourceMisconfigured, match="no signature header configured"):
        signatures.verify(cfg("hmac-sha256"), [RFC_KEY], {"X-Signature": RFC_MAC}, RFC_DATA, now=NOW)


def shopify_headers(body: bytes, secret: str, **extra: str) -> dict[str, str]:
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"x-shopify-hmac-sha256": sig, "x-shopify-topic": "orders/create", **extra}


def test_shopify_reads_the_event_id_first_then_the_webhook_id() -> None:
    body = b'{"id": 1}'
    both = shopify_headers(body, "shpss", **{"x-shopify-event-id": "ev-1", "x-shopify-webhook-id": "wh-1"})
    got = verify(load("shopify"), ["shpss"], Request(headers=both, body=body), now=NOW)
    assert (got.event_id, got.event_type, got.id_signed) == ("ev-1", "orders/create", False)
    only_webhook = {k: v for k, v in both.items() if k != "x-shopify-event-id"}
    assert verify(load("shopify"), ["shpss"], Request(headers=only_webhook, body=body), now=NOW).event_id == "wh-1"
    assert signatures.identify(cfg("shopify"), both, body, {"id": 1}) == ("ev-1", False)


def test_overrides_come_first_then_the_schemes_own_id_and_only_signed_headers_count_as_signed() -> None:
    wh = Webhook(base64.b64encode(b"k" * 24).decode())
    body = json.dumps({"type": "user.created", "data": {"ref": "r-9"}}).encode()
    headers = {"webhook-id": "msg_7", "webhook-timestamp": str(int(NOW)), "x-ref": "hdr-3",
               "webhook-signature": wh.sign("msg_7", datetime.fromtimestamp(NOW, UTC), body.decode())}
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    request = Request(headers=headers, body=body)
    check = signatures.check
    assert (check(cfg("standard-webhooks"), [secret], request, now=NOW).event_id, "msg_7") == ("msg_7", "msg_7")
    got = check(cfg("standard-webhooks", id_header="x-ref"), [secret], request, now=NOW)
    assert (got.event_id, got.id_signed) == ("hdr-3", False)  # a header the signature does not cover
    got = check(cfg("standard-webhooks", id_path="data.ref", type_header="x-ref"), [secret], request, now=NOW)
    assert (got.event_id, got.id_signed, got.event_type) == ("r-9", True, "hdr-3")  # the signed body
    got = check(cfg("standard-webhooks", id_path="data.missing"), [secret], request, now=NOW)
    assert (got.event_id, got.id_signed, got.event_type) == ("msg_7", True, "user.created")  # the scheme's own


def test_a_verify_source_through_ingress_is_the_catalog_entry() -> None:
    config = parse_config({
        "sources": {"shop": {"verify": {"scheme": "shopify", "secrets": ["env:SHOP"]}},
                    "hook": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:RFC"], "header": "X-Sig",
                                        "id_header": "X-Id"}, "format": "text"}},
        "destinations": {"crm": {"url": "http://crm.invalid/in"}},
        "routes": [{"name": n, "source": n, "destination": "crm"} for n in ("shop", "hook")]})
    queue = FakeQueue()
    ingress = Ingress(IngressDeps(config=config, secrets=FakeSecrets({"SHOP": "shpss", "RFC": RFC_KEY}),
                                  publisher=queue, payloads=FakePayloadStore(),
                                  entries=FakeEventLogEntries(MemoryTable(), clock=Clock(NOW)), clock=Clock(NOW)))
    body = b'{"id": 1}'
    headers = shopify_headers(body, "shpss", **{"x-shopify-event-id": "ev-1", "x-shopify-webhook-id": "wh-1"})
    assert (ingress.accept("shop", headers, body).body, queue.tasks[-1].type) == (
        {"status": "accepted", "id": "ev-1"}, "orders/create")
    assert "x-shopify-hmac-sha256" not in queue.tasks[-1].headers
    resp = ingress.accept("hook", {"x-sig": RFC_MAC, "x-id": "rfc-1"}, RFC_DATA)
    assert (resp.status, resp.body) == (202, {"status": "accepted", "id": "rfc-1"})
    resp = ingress.accept("hook", {"x-sig": flipped(RFC_MAC), "x-id": "rfc-2"}, RFC_DATA)
    assert (resp.status, resp.body) == (401, {"error": "signature does not match (X-Sig)"})


def test_importing_ingress_loads_no_catalog_engine() -> None:
    code = ("import sys, hookline.ingress.ingress; "
            "print(sorted(m for m in sys.modules if m.startswith('hookline.ingress.providers.') or m == 'tomllib'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['hookline.ingress.providers.request']"


def test_a_verify_sources_paths_search_the_body_as_its_format_parses_it() -> None:
    # XML: the engine's own parse (JSON, else form) finds nothing here; the source's `format: xml` does.
    config = parse_config({
        "sources": {"erp": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:K"], "header": "X-Sig",
                                       "id_path": "order.id", "type_path": "order.kind"}, "format": "xml"}},
        "destinations": {"crm": {"url": "http://crm.invalid/in"}},
        "routes": [{"name": "erp", "source": "erp", "destination": "crm"}]})
    queue = FakeQueue()
    ingress = Ingress(IngressDeps(config=config, secrets=FakeSecrets({"K": RFC_KEY}), publisher=queue,
                                  payloads=FakePayloadStore(),
                                  entries=FakeEventLogEntries(MemoryTable(), clock=Clock(NOW)), clock=Clock(NOW)))
    body = b"<order><id>o-5</id><kind>paid</kind></order>"
    sig = hmac.new(RFC_KEY.encode(), body, hashlib.sha256).hexdigest()
    resp = ingress.accept("erp", {"x-sig": sig, "content-type": "application/xml"}, body)
    assert (resp.status, resp.body, queue.tasks[-1].type) == (202, {"status": "accepted", "id": "o-5"}, "paid")
