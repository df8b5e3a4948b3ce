"""Hostile input: for every entry in the catalog, verify() answers anything with a result or a SignatureError.

The headers mix each entry's own names (signature, timestamp, id) with arbitrary ones, and values that look
almost right (prefixes, list syntax, base64, hex); bodies are arbitrary bytes or JSON-ish text. Entries added
to the catalog join automatically.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.ingress.providers import Request, load, names, verify
from hookline.ingress.signatures import SignatureError

NOW = 1_760_000_000.0


def _own_headers(name: str) -> list[str]:
    e = load(name)
    found = [e.header, e.timestamp.header if e.timestamp else None, e.id.header if e.id else None,
             e.type.header if e.type else None, "content-type"]
    found += [arg for kind, arg in e.content.parts if kind == "header"]
    return [h for h in found if h]


values = (st.text(max_size=120)
          | st.sampled_from(["v0=" + "a" * 64, "sha256=" + "0" * 64, "t=1,v1=" + "a" * 64, "v1,AAAA",
                             "v1," + "A" * 44, "=" * 44, str(int(NOW)), str(int(NOW * 1000)), "2025-10-09T08:53:20Z",
                             "t=,v1=", ",,,", " ", "\x00", "9" * 40])
          | st.from_regex(r"[A-Za-z0-9+/=,;: -]{0,90}", fullmatch=True))
bodies = (st.binary(max_size=300)
          | st.sampled_from([b"{}", b"[]", b'{"signature":{"timestamp":1,"token":"t","signature":"00"}}', b"a=1&b=2"])
          | st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                         lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                         max_leaves=8).map(lambda v: repr(v).encode()))


@st.composite
def requests(draw: Any) -> tuple[str, Request, list[str]]:
    name = draw(st.sampled_from(names()))
    own = _own_headers(name)
    header_names = st.sampled_from(own) | st.from_regex(r"[a-z-]{1,20}", fullmatch=True)
    headers = draw(st.dictionaries(header_names, values, max_size=6))
    query = draw(st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=3))
    secrets = draw(st.lists(st.text(max_size=40) | st.sampled_from(["whsec_AAAA", "-----BEGIN PUBLIC KEY-----",
                                                                    "00" * 32]), max_size=3))
    method = draw(st.sampled_from(["POST", "GET", "PUT"]))
    url = draw(st.none() | st.just("https://h.example/webhooks/x?a=1"))
    return name, Request(method=method, headers=headers, body=draw(bodies), query=query, url=url), secrets


@given(case=requests(), now=st.floats(min_value=0, max_value=4e9, allow_nan=False),
       tolerance=st.none() | st.integers(min_value=1, max_value=86400))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_entry_answers_any_request_with_a_result_or_a_signature_error(
        case: tuple[str, Request, list[str]], now: float, tolerance: int | None) -> None:
    name, request, secrets = case
    try:
        got = verify(load(name), secrets, request, now=now, tolerance_seconds=tolerance)
    except SignatureError as e:
        for secret in secrets:
            if len(secret) >= 8:
                assert secret not in str(e), "a rejection must never carry a secret"
        return
    assert got.event_id is None or (0 < len(got.event_id) <= 200)


# ---------------------------------------------------------------- the built-in schemes agree with their entries

def _signed(scheme: str, body: bytes, secret: str) -> dict[str, str]:
    """Headers made by the scheme's own means (the SDKs, or GitHub's and Shopify's documented HMAC)."""
    import base64
    import hashlib
    import hmac
    from datetime import UTC, datetime

    import standardwebhooks
    import stripe

    if scheme == "github":
        return {"x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}
    if scheme == "shopify":
        return {"x-shopify-hmac-sha256": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
                .decode()}
    if scheme == "stripe":
        v1 = stripe.WebhookSignature._compute_signature(f"{int(NOW)}.{body.decode()}", secret)
        return {"stripe-signature": f"t={int(NOW)},v1={v1}"}
    sig = standardwebhooks.Webhook(secret).sign("msg_p", datetime.fromtimestamp(NOW, UTC), body.decode())
    return {"webhook-id": "msg_p", "webhook-timestamp": str(int(NOW)), "webhook-signature": sig}


@given(scheme=st.sampled_from(["github", "stripe", "shopify", "standard-webhooks"]),
       body=st.text(max_size=200).map(str.encode), flip_at=st.none() | st.integers(min_value=0, max_value=400),
       header_flip=st.booleans(), skew=st.sampled_from([0, 299, 301, -301]))
@settings(max_examples=200, deadline=None)
def test_the_five_schemes_entries_accept_exactly_what_verify_accepts(scheme: str, body: bytes, flip_at: int | None,
                                                                     header_flip: bool, skew: int) -> None:
    from hookline.core.config import VerifyConfig
    from hookline.ingress import signatures

    secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OWFi" if scheme in ("stripe", "standard-webhooks") \
        else "plain-secret"
    headers = _signed(scheme, body, secret)
    if flip_at is not None and body:
        i = flip_at % len(body)
        body = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
    if header_flip:
        name = next(iter(k for k in headers if "sig" in k or "hmac" in k))
        value = headers[name]
        headers[name] = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    results = []
    for check in ("verify", "entry"):
        try:
            if check == "verify":
                signatures.verify(VerifyConfig(scheme=scheme, secrets=["env:X"]), [secret], headers, body,
                                  now=NOW + skew)
            else:
                verify(load(scheme), [secret], Request(headers=headers, body=body), now=NOW + skew)
            results.append(True)
        except SignatureError:
            results.append(False)
    assert results[0] == results[1], (scheme, results)
