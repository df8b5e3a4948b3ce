"""The provider catalog's engine: loading, checking and compiling entries, and verify() for every algorithm.

Signatures here are made with the providers' SDKs (stripe, standardwebhooks, svix, slack-sdk), GitHub's
published example, the standard library's hmac, PyNaCl and `cryptography`'s own signers: never with
the engine's `sign`. Time is always the `now` passed in, never the clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier
from svix.webhooks import Webhook as SvixWebhook

from hookline.ingress.providers import ProviderError, Request, load, names, verify
from hookline.ingress.providers import compile as catalog
from hookline.ingress.providers.compile import compile_entry
from hookline.ingress.signatures import SignatureError, SourceMisconfigured

NOW = 1_760_000_000.0
BODY = b'{"id":"evt_1","type":"invoice.paid","event_id":"Ev9","event":{"type":"message"}}'


def entry(**signature: Any) -> dict[str, Any]:
    """A minimal valid entry with `signature` keys replaced."""
    sig = {"algorithm": "hmac-sha256", "header": "X-Sig", "encoding": "hex", "content": "{body}"} | signature
    return {"title": "T", "docs": "https://example.com", "setup": "s", "secret": "the secret", "proof": "p",
            "signature": {k: v for k, v in sig.items() if v is not None}}


def flip(text: str) -> str:
    """The same text with one character changed (a flipped byte)."""
    i = len(text) // 2
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


# ---------------------------------------------------------------- the five schemes, as entries


def test_github_entry_verifies_githubs_published_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    req = Request(headers={"x-hub-signature-256": sig, "x-github-delivery": "d-1", "x-github-event": "push"},
                  body=b"Hello, World!")
    got = verify(load("github"), ["It's a Secret to Everybody"], req, now=NOW)
    assert (got.event_id, got.event_type, got.id_signed, got.timestamped) == ("d-1", "push", False, False)
    with pytest.raises(SignatureError, match="signature does not match"):
        verify(load("github"), ["It's a Secret to Everybody"], Request(headers=req.headers, body=b"Hello, World?"),
               now=NOW)


def test_stripe_entry_verifies_the_stripe_sdks_signature_and_rejects_changes() -> None:
    secret, ts = "whsec_stripe_test", int(NOW)
    v1 = stripe.WebhookSignature._compute_signature(f"{ts}.{BODY.decode()}", secret)
    good = Request(headers={"stripe-signature": f"t={ts},v1=00{'ab' * 31},v1={v1}"}, body=BODY)  # any v1 may match
    got = verify(load("stripe"), ["old-secret", secret], good, now=NOW + 299)  # any secret may match (rotation)
    assert (got.event_id, got.event_type, got.id_signed, got.timestamped) == ("evt_1", "invoice.paid", True, True)
    for bad in (Request(headers=good.headers, body=BODY.replace(b"evt_1", b"evt_2")),
                Request(headers={"stripe-signature": f"t={ts},v1={flip(v1)}"}, body=BODY),
                Request(headers={"stripe-signature": f"t={ts + 1},v1={v1}"}, body=BODY)):
        with pytest.raises(SignatureError, match="does not match"):
            verify(load("stripe"), [secret], bad, now=NOW)
    with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
        verify(load("stripe"), [secret], good, now=NOW + 301)
    with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
        verify(load("stripe"), [secret], good, now=NOW - 301)  # a future timestamp too
    assert verify(load("stripe"), [secret], good, now=NOW + 1000, tolerance_seconds=1001).timestamped


@pytest.mark.parametrize("name", ["standard-webhooks", "svix"])
def test_standard_webhooks_and_svix_entries_verify_their_sdks(name: str) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    when = datetime.fromtimestamp(NOW, UTC)
    if name == "svix":
        sig = SvixWebhook(secret).sign("msg_7", when, BODY.decode())
    else:
        sig = standardwebhooks.Webhook(secret).sign("msg_7", when, BODY.decode())
    prefix = "svix" if name == "svix" else "webhook"
    headers = {f"{prefix}-id": "msg_7", f"{prefix}-timestamp": str(int(NOW)), f"{prefix}-signature": sig}
    got = verify(load(name), [secret], Request(headers=headers, body=BODY), now=NOW)
    assert (got.event_id, got.event_type, got.id_signed, got.timestamped) == ("msg_7", "invoice.paid", True, True)
    with pytest.raises(SignatureError, match="does not match"):  # the id is signed: a rewritten one fails
        verify(load(name), [secret], Request(headers=headers | {f"{prefix}-id": "msg_8"}, body=BODY), now=NOW)
    with pytest.raises(SignatureError, match=f"missing header {prefix}-timestamp"):
        verify(load(name), [secret], Request(headers={k: v for k, v in headers.items() if "time" not in k},
                                             body=BODY), now=NOW)


def test_shopify_entry_verifies_the_documented_hmac() -> None:
    # Shopify's documented check: base64 of HMAC-SHA256 over the raw body with the app's secret.
    sig = base64.b64encode(hmac.new(b"shpss", BODY, hashlib.sha256).digest()).decode()
    req = Request(headers={"x-shopify-hmac-sha256": sig, "x-shopify-webhook-id": "w-1",
                           "x-shopify-topic": "orders/create"}, body=BODY)
    assert verify(load("shopify"), ["shpss"], req, now=NOW).event_type == "orders/create"
    with pytest.raises(SignatureError, match="malformed X-Shopify-Hmac-Sha256"):
        verify(load("shopify"), ["shpss"], Request(headers={"x-shopify-hmac-sha256": "%%"}, body=BODY), now=NOW)


def test_slack_timestamped_content_with_slack_sdk() -> None:
    ts = str(int(NOW))
    sig = SignatureVerifier("slack-secret").generate_signature(timestamp=ts, body=BODY)
    headers = {"x-slack-signature": sig, "x-slack-request-timestamp": ts}
    got = verify(load("slack"), ["slack-secret"], Request(headers=headers, body=BODY), now=NOW)
    assert (got.event_id, got.event_type, got.id_signed, got.timestamped) == ("Ev9", "message", True, True)
    with pytest.raises(SignatureError, match="malformed X-Slack-Request-Timestamp header: expected unix seconds"):
        verify(load("slack"), ["slack-secret"], Request(headers=headers | {"x-slack-request-timestamp": "soon"},
                                                        body=BODY), now=NOW)


# ---------------------------------------------------------------- the engine's own rules


def test_secrets_that_cannot_verify_anything_are_the_operators_problem() -> None:
    req = Request(headers={"x-hub-signature-256": "sha256=" + "0" * 64}, body=b"x")
    with pytest.raises(SourceMisconfigured):
        verify(load("github"), ["", ""], req, now=NOW)  # an unset variable never makes every HMAC valid
    with pytest.raises(SourceMisconfigured):
        verify(load("standard-webhooks"), ["whsec_%%%"], Request(headers={
            "webhook-id": "m", "webhook-timestamp": str(int(NOW)), "webhook-signature": "v1,AAAA"}, body=b"x"),
            now=NOW)


def test_token_entries_compare_the_whole_token() -> None:
    tok = compile_entry("t", entry(algorithm="token", header="X-Token", encoding=None, content=None))
    assert verify(tok, ["other", "s3cret"], Request(headers={"x-token": "s3cret"}), now=NOW).id_signed is False
    for given in ("s3cre", "s3cret2", "S3CRET"):
        with pytest.raises(SignatureError, match=r"token does not match \(X-Token\)") as e:
            verify(tok, ["s3cret"], Request(headers={"x-token": given}), now=NOW)
        assert "s3cret" not in str(e.value)
    with pytest.raises(SignatureError, match="missing header X-Token"):
        verify(tok, ["s3cret"], Request(), now=NOW)


def test_placeholders_fields_headers_method_and_query_signatures() -> None:
    e = compile_entry("f", entry(header=None, query="sig", content="{method} {header:X-Day}|{field:data.n}|{{x}}",
                                 encoding="base64url", algorithm="hmac-sha512"))
    signed = b"POST mon|42|{x}"
    sig = base64.urlsafe_b64encode(hmac.new(b"k", signed, hashlib.sha512).digest()).decode().rstrip("=")
    req = Request(headers={"x-day": "mon"}, body=b'{"data":{"n":42}}', query={"sig": sig})
    verify(e, ["k"], req, now=NOW)
    with pytest.raises(SignatureError, match=r"missing body field data\.n"):
        verify(e, ["k"], Request(headers={"x-day": "mon"}, body=b"{}", query={"sig": sig}), now=NOW)
    with pytest.raises(SignatureError, match="missing query parameter sig"):
        verify(e, ["k"], Request(headers={"x-day": "mon"}, body=b'{"data":{"n":42}}'), now=NOW)


def test_signature_in_a_body_field_with_its_timestamp_there_too() -> None:
    # Mailgun's shape: {"signature": {"timestamp", "token", "signature"}}, HMAC-SHA256 of timestamp + token.
    e = compile_entry("m", {**entry(header=None, path="signature.signature",
                                    content="{field:signature.timestamp}{field:signature.token}"),
                            "timestamp": {"path": "signature.timestamp"}})
    ts = str(int(NOW))
    sig = hmac.new(b"key", (ts + "tok").encode(), hashlib.sha256).hexdigest()
    body = json.dumps({"signature": {"timestamp": ts, "token": "tok", "signature": sig}}).encode()
    assert verify(e, ["key"], Request(body=body), now=NOW).timestamped  # signed as {field:signature.timestamp}
    with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
        verify(e, ["key"], Request(body=body), now=NOW + 400)


@pytest.mark.parametrize(("fmt", "value"), [("unix-ms", str(int(NOW * 1000))),
                                            ("iso8601", "2025-10-09T08:53:20Z"),
                                            ("iso8601", "2025-10-09T10:53:20+02:00")])
def test_timestamp_formats(fmt: str, value: str) -> None:
    e = compile_entry("ts", {**entry(content="{timestamp}.{body}"),
                             "timestamp": {"header": "X-Time", "format": fmt, "tolerance_seconds": 60}})
    sig = hmac.new(b"k", f"{value}.".encode() + BODY, hashlib.sha256).hexdigest()
    req = Request(headers={"x-sig": sig, "x-time": value}, body=BODY)
    assert verify(e, ["k"], req, now=NOW + 60).timestamped
    with pytest.raises(SignatureError, match="outside the 60 s tolerance"):
        verify(e, ["k"], req, now=NOW + 61)
    with pytest.raises(SignatureError, match="outside the 60 s tolerance"):
        verify(e, ["k"], req, now=NOW - 61)


def test_ids_that_are_too_long_or_unprintable_are_hashed() -> None:
    long_id = "x" * 300
    sig = "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    got = verify(load("github"), ["k"], Request(headers={"x-hub-signature-256": sig, "x-github-delivery": long_id},
                                                body=b"{}"), now=NOW)
    assert got.event_id == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    got = verify(load("github"), ["k"], Request(headers={"x-hub-signature-256": sig}, body=b"{}"), now=NOW,
                 id_path="id", type_path="kind")
    assert (got.event_id, got.event_type) == (None, None)  # no id: ingress falls back to the body's digest


def test_public_key_algorithms_verify_the_libraries_signatures() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import NameOID
    from nacl.signing import SigningKey

    nacl_key = SigningKey.generate()
    signed = nacl_key.sign(f"{int(NOW)}".encode() + BODY).signature.hex()
    ed = compile_entry("ed", {**entry(algorithm="ed25519", key="hex", content="{timestamp}{body}"),
                              "timestamp": {"header": "X-Time"}})
    headers = {"x-sig": signed, "x-time": str(int(NOW))}
    verify(ed, ["not-a-key", nacl_key.verify_key.encode().hex()], Request(headers=headers, body=BODY), now=NOW)
    with pytest.raises(SignatureError, match="does not match"):
        verify(ed, [nacl_key.verify_key.encode().hex()], Request(headers=headers, body=BODY + b" "), now=NOW)

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    ecd = compile_entry("ec", entry(algorithm="ecdsa-p256-sha256", encoding="base64"))
    der = base64.b64encode(ec_key.sign(BODY, ec.ECDSA(hashes.SHA256()))).decode()
    verify(ecd, [ec_pem], Request(headers={"x-sig": der}, body=BODY), now=NOW)

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sender.example")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(rsa_key.public_key())
            .serial_number(1).not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2040, 1, 1))
            .sign(rsa_key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    rs = compile_entry("rsa", entry(algorithm="rsa-sha256", encoding="base64"))
    sig = base64.b64encode(rsa_key.sign(BODY, padding.PKCS1v15(), hashes.SHA256())).decode()
    verify(rs, [cert_pem], Request(headers={"x-sig": sig}, body=BODY), now=NOW)  # "RSA with a certificate"
    with pytest.raises(SignatureError, match="does not match"):
        verify(rs, [ec_pem], Request(headers={"x-sig": sig}, body=BODY), now=NOW)  # a key of another kind
    with pytest.raises(SourceMisconfigured):
        verify(rs, ["-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"],
               Request(headers={"x-sig": sig}, body=BODY), now=NOW)


# ---------------------------------------------------------------- loading and checking entries


def test_an_unknown_provider_is_named() -> None:
    with pytest.raises(ProviderError, match=r"unknown provider 'nope': no catalog/nope.toml"):
        load("nope")
    with pytest.raises(ProviderError, match="lower-case letters"):
        load("../etc/passwd")


@pytest.mark.parametrize(("data", "message"), [
    ({**entry(), "title": None}, r"catalog/x.toml: title: missing"),
    ({**entry(), "colour": "red"}, r"catalog/x.toml: colour: unknown key"),
    (entry(algorithm="md5"), r"signature.algorithm: 'md5' is not one of hmac-sha1"),
    (entry(encoding="hex2"), r"signature.encoding: 'hex2' is not one of"),
    (entry(header=None), r"signature: needs exactly one of header, path or query"),
    (entry(query="s"), r"signature: needs exactly one of header, path or query"),
    (entry(content="{body}{nonce}"), r"signature.content: unknown placeholder \{nonce\}"),
    (entry(content="{timestamp}.{body}"), r"signature.content: uses \{timestamp\} but the entry has no \[timestamp\]"),
    (entry(content="{id}.{body}"), r"signature.content: uses \{id\} but \[id\] names no header"),
    (entry(key="pem"), r"signature.key: 'pem' is not one of utf8"),
    (entry(algorithm="ed25519", key="whsec"), r"signature.key: 'whsec' is not one of pem"),
    (entry(list={"separator": ",", "kv": ","}), r"signature.list.signature_key: missing"),
    ({**entry(), "timestamp": {"header": "T", "tolerance_seconds": 0}}, r"timestamp.tolerance_seconds"),
    ({**entry(), "timestamp": {"from_list": True}}, r"timestamp.from_list: needs signature.list.timestamp_key"),
    ({**entry(), "id": {"path": "a[["}}, r"id.path: not a valid JMESPath"),
    ({**entry(), "proof": "published example"}, r"proof_url: 'published example' needs the URL"),
    ({**entry(), "handshake": {}}, r"handshake.kind: missing"),
])
def test_invalid_entries_name_the_file_and_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        compile_entry("x", data)


def test_an_entry_is_read_and_compiled_once_even_from_many_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    real = catalog._read

    def counting(name: str) -> Any:
        reads.append(name)
        return real(name)

    monkeypatch.setattr(catalog, "_read", counting)
    monkeypatch.setattr(catalog, "_cache", {})
    start = threading.Barrier(8)
    got: list[Any] = []

    def worker() -> None:
        start.wait()
        got.append(load("stripe"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert reads == ["stripe"] and len(got) == 8 and all(g is got[0] for g in got)
    assert "github" not in catalog._cache  # entries nobody uses are never read


def test_names_lists_the_catalog_sorted() -> None:
    assert names() == sorted(names()) and {"github", "stripe", "shopify", "standard-webhooks", "svix"} <= set(names())
