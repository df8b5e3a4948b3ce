"""Properties (hypothesis), over inputs nobody wrote by hand.

- Every scheme verifies what an independent signer signs (the `stripe` and `standardwebhooks`
  packages, GitHub's published test vector, the standard library's hmac for the schemes without
  a package), and rejects any single-byte change of body, timestamp or signature value.
- `parse_body` raises nothing but BodyParseError; the ingress handler never raises and never
  answers a 5xx other than 503, for arbitrary bytes, headers, content types and sources.
- The docs' example transforms (docs/mapping.md) map any JSON body to JSON, or raise MappingError.

Example counts are modest (the default suite stays fast); HYPOTHESIS_PROFILE=thorough runs more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import standardwebhooks.webhooks as sw
import stripe
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.core.config import VerifyConfig
from hookline.core.envelope import FORMATS, BodyParseError, build_envelope, parse_body
from hookline.ingress.signatures import SignatureError, verify
from hookline.mapping.compiler import MappingError, compile_transform
from hookline.validation import parse_config

ROOT = Path(__file__).resolve().parents[3]
NOW = 1_790_000_000
settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

STRIPE_SECRET = "whsec_property_stripe"
SW_SECRET = "whsec_" + base64.b64encode(b"property-standard-webhooks-key!").decode()
PLAIN_SECRET = "property-secret"

bodies = st.text(max_size=300)  # the stripe and standardwebhooks signers take str payloads
raw_bodies = st.binary(max_size=300)


def cfg(scheme: str, **kw: Any) -> VerifyConfig:
    return VerifyConfig(scheme=scheme, secrets=["env:X"], **kw)


def rejected(config: VerifyConfig, secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        verify(config, [secret], headers, body, now=NOW)
    except SignatureError:
        return True
    return False


def flip(data: bytes, index: int, new: int) -> bytes:
    i = index % len(data)
    new = new if new != data[i] else (new + 1) % 256
    return data[:i] + bytes([new]) + data[i + 1:]


def other_value(text: str, index: int, alphabet: str, decode: Any) -> str:
    """`text` with the character at `index` replaced so that the decoded signature changes."""
    i = index % len(text)
    for c in alphabet:
        candidate = text[:i] + c + text[i + 1:]
        if c != text[i] and decode(candidate) != decode(text):
            return candidate
    raise AssertionError("no other value")


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


HEX = "0123456789abcdefABCDEF"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


# ---------------------------------------------------------------- signatures


def test_githubs_published_vector_verifies() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    verify(cfg("github"), ["It's a Secret to Everybody"], headers, b"Hello, World!", now=NOW)
    assert rejected(cfg("github"), "It's a Secret to Everybody", headers, b"Hello, World?")


@given(body=raw_bodies, index=st.integers(0, 10**6), byte=st.integers(0, 255), sig_index=st.integers(0, 63))
def test_github_verifies_the_hmac_and_rejects_any_changed_byte(body: bytes, index: int, byte: int,
                                                                sig_index: int) -> None:
    sig = hmac.new(PLAIN_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": f"sha256={sig}"}
    verify(cfg("github"), [PLAIN_SECRET], headers, body, now=NOW)
    if body:
        assert rejected(cfg("github"), PLAIN_SECRET, headers, flip(body, index, byte))
    changed = other_value(sig, sig_index, HEX, lambda t: t.lower())
    assert rejected(cfg("github"), PLAIN_SECRET, {"X-Hub-Signature-256": f"sha256={changed}"}, body)


@given(body=bodies, index=st.integers(0, 10**6), byte=st.integers(0, 255), sig_index=st.integers(0, 63),
       dt=st.integers(1, 200))
def test_stripe_verifies_the_stripe_package_and_rejects_any_change(body: str, index: int, byte: int,
                                                                   sig_index: int, dt: int) -> None:
    header = stripe.WebhookSignature.generate_signature_header(body, STRIPE_SECRET, timestamp=NOW)
    raw = body.encode()
    verify(cfg("stripe"), [STRIPE_SECRET], {"Stripe-Signature": header}, raw, now=NOW)
    if raw:
        assert rejected(cfg("stripe"), STRIPE_SECRET, {"Stripe-Signature": header}, flip(raw, index, byte))
    t, v1 = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header).groups()  # type: ignore[union-attr]
    # Another timestamp (still within tolerance) with the same signature
    assert rejected(cfg("stripe"), STRIPE_SECRET, {"Stripe-Signature": f"t={int(t) + dt},v1={v1}"}, raw)
    changed = other_value(v1, sig_index, HEX, lambda s: s.lower())
    assert rejected(cfg("stripe"), STRIPE_SECRET, {"Stripe-Signature": f"t={t},v1={changed}"}, raw)


@given(body=bodies, index=st.integers(0, 10**6), byte=st.integers(0, 255), sig_index=st.integers(0, 43),
       dt=st.integers(1, 200), msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,20}", fullmatch=True))
def test_standard_webhooks_verifies_the_package_and_rejects_any_change(body: str, index: int, byte: int,
                                                                       sig_index: int, dt: int,
                                                                       msg_id: str) -> None:
    signature = sw.Webhook(SW_SECRET).sign(msg_id, datetime.fromtimestamp(NOW, UTC), body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(NOW), "webhook-signature": signature}
    raw = body.encode()
    verify(cfg("standard-webhooks"), [SW_SECRET], headers, raw, now=NOW)
    if raw:
        assert rejected(cfg("standard-webhooks"), SW_SECRET, headers, flip(raw, index, byte))
    assert rejected(cfg("standard-webhooks"), SW_SECRET, {**headers, "webhook-timestamp": str(NOW + dt)}, raw)
    assert rejected(cfg("standard-webhooks"), SW_SECRET, {**headers, "webhook-id": msg_id + "x"}, raw)
    encoded = signature.partition(",")[2]
    changed = other_value(encoded, sig_index, B64, _b64)
    assert rejected(cfg("standard-webhooks"), SW_SECRET, {**headers, "webhook-signature": f"v1,{changed}"}, raw)


@given(body=raw_bodies, index=st.integers(0, 10**6), byte=st.integers(0, 255), sig_index=st.integers(0, 43),
       scheme=st.sampled_from(["shopify", "hmac-b64", "hmac-hex"]))
def test_shopify_and_hmac_verify_the_stdlib_hmac_and_reject_any_change(body: bytes, index: int, byte: int,
                                                                       sig_index: int, scheme: str) -> None:
    digest = hmac.new(PLAIN_SECRET.encode(), body, hashlib.sha256).digest()
    if scheme == "shopify":
        config, name, prefix, encoded = cfg("shopify"), "X-Shopify-Hmac-Sha256", "", base64.b64encode(digest).decode()
    elif scheme == "hmac-b64":
        config = cfg("hmac-sha256", header="X-Sig", encoding="base64", prefix="v1=")
        name, prefix, encoded = "X-Sig", "v1=", base64.b64encode(digest).decode()
    else:
        config = cfg("hmac-sha256", header="X-Sig", encoding="hex")
        name, prefix, encoded = "X-Sig", "", digest.hex()
    verify(config, [PLAIN_SECRET], {name: prefix + encoded}, body, now=NOW)
    if body:
        assert rejected(config, PLAIN_SECRET, {name: prefix + encoded}, flip(body, index, byte))
    if scheme == "hmac-hex":
        changed = other_value(encoded, sig_index, HEX, lambda s: s.lower())
    else:
        changed = other_value(encoded, sig_index, B64, _b64)
    assert rejected(config, PLAIN_SECRET, {name: prefix + changed}, body)


# ---------------------------------------------------------------- parse_body


content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain", "application/xml",
                     "text/xml; charset=latin-1", "application/x-www-form-urlencoded", "application/cloudevents+json",
                     "application/octet-stream", "multipart/form-data; boundary=x", "text/html; charset=nope"]),
    st.text(max_size=60),
)
xmlish = st.builds(lambda tags, text: "".join(f"<{t}>" for t in tags) + text + "".join(f"</{t}>" for t in
                                                                                          reversed(tags)),
                   st.lists(st.from_regex(r"[a-z]{1,3}", fullmatch=True), max_size=5), st.text(max_size=20))
weird_bodies = st.one_of(raw_bodies, st.text(max_size=200).map(str.encode), xmlish.map(str.encode),
                         st.just(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"), st.just(b"[" * 3000 + b"]" * 3000))


@given(body=weird_bodies, content_type=content_types, fmt=st.sampled_from(FORMATS))
def test_parse_body_raises_nothing_but_body_parse_error(body: bytes, content_type: str | None, fmt: str) -> None:
    try:
        value = parse_body(body, content_type, fmt)
    except BodyParseError as e:
        assert str(e)
        return
    json.dumps(value)  # what parses is JSON-shaped (the envelope is serialised downstream)


# ---------------------------------------------------------------- the whole ingress handler


class Sink:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def publish(self, tasks: list[Any]) -> None:
        self.items += tasks

    def put(self, key: str, body: bytes, content_type: str | None = None) -> str:
        return key

    def __getattr__(self, name: str) -> Any:  # EventLog's writes
        return lambda *a, **k: None


PROPERTY_CONFIG = {
    "sources": {
        "github": {"verify": {"scheme": "github", "secrets": ["env:PROP_SECRET"]}},
        "stripe": {"verify": {"scheme": "stripe", "secrets": ["env:PROP_STRIPE"]}},
        "shop": {"verify": {"scheme": "shopify", "secrets": ["env:PROP_SECRET"]}, "format": "auto"},
        "legacy": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:PROP_SECRET"], "header": "X-Sig"},
                   "format": "xml"},
        "forms": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:PROP_SECRET"], "header": "X-Sig"},
                  "format": "form"},
    },
    "destinations": {"d": {"url": "http://127.0.0.1:9/d"}},
    "routes": [{"name": f"r-{s}", "source": s, "destination": "d", "when": "body.kind == 'x' || `true`"}
               for s in ("github", "stripe", "shop", "legacy", "forms")],
}
header_names = st.sampled_from(["content-type", "x-hub-signature-256", "stripe-signature", "x-shopify-hmac-sha256",
                                "x-sig", "x-github-delivery", "x-github-event", "x-shopify-webhook-id",
                                "content-length", "x-api-key"]) | st.from_regex(r"[A-Za-z-]{1,20}", fullmatch=True)
header_values = st.text(max_size=80) | st.sampled_from(["sha256=" + "0" * 64, "t=1,v1=" + "a" * 64, "=" * 44])


def _handler_setup(monkeypatch: Any) -> tuple[Any, Any]:
    from functions.ingress import app
    from hookline.ingress.ingress import Ingress, IngressDeps
    from hookline.secrets import SecretResolver
    from hookline.wiring import Services

    monkeypatch.setenv("PROP_SECRET", PLAIN_SECRET)
    monkeypatch.setenv("PROP_STRIPE", STRIPE_SECRET)
    config = parse_config(PROPERTY_CONFIG)
    sink = Sink()
    ingress = Ingress(IngressDeps(config=config, secrets=SecretResolver(), publisher=sink, payloads=sink,
                                  entries=sink, clock=lambda: NOW))
    return app, Services(config=config, ingress=ingress)


def api_event(source: str, headers: dict[str, str], body: bytes, b64: bool) -> dict[str, Any]:
    text = base64.b64encode(body).decode() if b64 else body.decode("utf-8", errors="replace")
    return {"version": "2.0", "routeKey": "POST /webhooks/{source}", "rawPath": f"/webhooks/{source}",
            "rawQueryString": "", "headers": headers, "pathParameters": {"source": source},
            "isBase64Encoded": b64, "body": text,
            "requestContext": {"http": {"method": "POST", "path": f"/webhooks/{source}", "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "t"},
                               "requestId": "r", "routeKey": "POST /webhooks/{source}", "stage": "$default",
                               "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                               "time": "t", "timeEpoch": 0}}


@given(source=st.sampled_from(["github", "stripe", "shop", "legacy", "forms", "nope"]), body=weird_bodies,
       headers=st.dictionaries(header_names, header_values, max_size=6), content_type=content_types,
       sign_it=st.booleans(), b64=st.booleans())
@settings(max_examples=60)
def test_the_ingress_handler_never_raises_nor_answers_a_5xx_but_503(
        monkeypatch: Any, lambda_context: Any, source: str, body: bytes, headers: dict[str, str],
        content_type: str | None, sign_it: bool, b64: bool) -> None:
    from hookline.ingress.signatures import sign
    from hookline.wiring import install

    app, services = _handler_setup(monkeypatch)
    headers = dict(headers)
    if content_type is not None:
        headers["content-type"] = content_type
    if sign_it and source != "nope":
        verify_cfg = parse_config(PROPERTY_CONFIG).sources[source].verify
        secret = STRIPE_SECRET if source == "stripe" else PLAIN_SECRET
        headers.update({k.lower(): v for k, v in sign(verify_cfg, secret, body, now=NOW, msg_id="m-1").items()})
    install(services)
    try:
        answer = app.handler(api_event(source, headers, body, b64), lambda_context)
    finally:
        install(None)
    status = answer["statusCode"]
    assert status < 500 or status == 503, answer
    assert isinstance(json.loads(answer["body"]), dict)
    assert PLAIN_SECRET not in answer["body"] and STRIPE_SECRET not in answer["body"]


# ---------------------------------------------------------------- mapping


def documented_transforms() -> list[dict[str, Any]]:
    page = (ROOT / "docs" / "mapping.md").read_text()
    section = page[page.index("# Field mapping"):]
    block = section[section.index("```yaml") + len("```yaml"):]
    transforms = [yaml.safe_load(block[:block.index("```")])["transform"]]
    example = yaml.safe_load((ROOT / "examples" / "hookline.yaml").read_text())
    transforms += [r["transform"] for r in example.get("routes", []) if isinstance(r.get("transform"), dict)]
    return transforms


TRANSFORMS = [compile_transform(t) for t in documented_transforms()]
KEYS = ["issue", "title", "number", "total", "plan", "customer", "email", "addr", "city", "zip", "line_items",
        "sku", "quantity", "id", "created", "a", "amount", "data", "object", "pull_request", "login"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | st.sampled_from(["2026-11-28T10:00:00Z", "1790000000", "42", "4.5", "yes", ""]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@given(body=json_values, which=st.integers(0, 100))
def test_documented_transforms_map_any_json_body_to_json_or_a_mapping_error(body: Any, which: int) -> None:
    transform = TRANSFORMS[which % len(TRANSFORMS)]
    envelope = build_envelope(event_id="e", source="s", type="t", received_at=NOW, headers={}, body=body)
    try:
        mapped = transform.apply(envelope)
    except MappingError as e:
        assert str(e)
        return
    json.dumps(mapped, allow_nan=False)
