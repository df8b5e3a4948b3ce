"""Signature schemes: own round trips, published vectors, and the vendors' own libraries as oracles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks as sw
import stripe

from hookline.core.config import VerifyConfig
from hookline.core.signing import sign_standard_webhooks
from hookline.ingress.signatures import SignatureError, event_id, event_type, sign, verify

NOW = 1_700_000_000
BODY = b'{"id": "evt_1", "type": "thing.created", "data": {"n": 1}}'
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_OTHER = "whsec_" + base64.b64encode(b"another key of thirty-two bytes!").decode()


def cfg(scheme: str, **kw) -> VerifyConfig:
    return VerifyConfig(scheme=scheme, secrets=["env:X"], **kw)


# scheme id -> (config, secret, another secret, the signature header, a malformed value for it)
CASES = {
    "github": (cfg("github"), "gh-secret", "gh-other", "x-hub-signature-256", "sha1=" + "a" * 40),
    "stripe": (cfg("stripe"), "whsec_stripe_test_secret", "whsec_stripe_other", "stripe-signature",
               "v1=" + "a" * 64),
    "shopify": (cfg("shopify"), "shpss_secret", "shpss_other", "x-shopify-hmac-sha256", "not base64!"),
    "standard-webhooks": (cfg("standard-webhooks"), SW_SECRET, SW_OTHER, "webhook-signature", "v1"),
    "hmac-hex": (cfg("hmac-sha256", header="X-Signature", prefix="sha256="), "plain", "other",
                 "x-signature", "sha256=xyz"),
    "hmac-base64": (cfg("hmac-sha256", header="X-Sig", encoding="base64"), "plain", "other", "x-sig",
                    "@@@@"),
}
# scheme id -> the header named when the timestamp is out of tolerance
TIMESTAMPED = {"stripe": "Stripe-Signature", "standard-webhooks": "webhook-timestamp"}


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def signed(case: str, secret: str | None = None, body: bytes = BODY, now: float = NOW) -> dict[str, str]:
    c, own, *_ = CASES[case]
    return lower(sign(c, secret or own, body, now=now, msg_id="msg_1"))


def rejected(case: str, headers: dict[str, str], body: bytes = BODY, now: float = NOW,
             secrets: list[str] | None = None) -> str:
    c, own, *_ = CASES[case]
    with pytest.raises(SignatureError) as exc:
        verify(c, secrets or [own], headers, body, now=now)
    return str(exc.value)


# ---------------------------------------------------------------- every scheme


@pytest.mark.parametrize("case", CASES)
def test_accepts_a_correct_signature(case):
    c, secret, *_ = CASES[case]
    verify(c, [secret], signed(case), BODY, now=NOW)


@pytest.mark.parametrize("case", CASES)
def test_rejects_a_tampered_body(case):
    assert "signature does not match" in rejected(case, signed(case), body=BODY + b" ")


@pytest.mark.parametrize("case", CASES)
def test_rejects_the_wrong_secret(case):
    _, _, other, *_ = CASES[case]
    assert "signature does not match" in rejected(case, signed(case, secret=other))


@pytest.mark.parametrize("case", CASES)
def test_rejects_a_missing_header(case):
    *_, header, _ = CASES[case]
    headers = signed(case)
    del headers[header]
    assert rejected(case, headers).lower() == f"missing header {header}"


@pytest.mark.parametrize("case", CASES)
def test_rejects_a_malformed_header(case):
    *_, header, bad = CASES[case]
    headers = {**signed(case), header: bad}
    message = rejected(case, headers)
    assert "malformed" in message
    assert header in message.lower()


@pytest.mark.parametrize("case", CASES)
def test_rotation_the_second_secret_matches(case):
    c, secret, other, *_ = CASES[case]
    verify(c, [other, secret], signed(case), BODY, now=NOW)


@pytest.mark.parametrize("case", CASES)
def test_error_messages_never_contain_the_secret_or_expected_signature(case):
    _, secret, other, header, bad = CASES[case]
    good = signed(case)
    messages = [
        rejected(case, signed(case, secret=other)),
        rejected(case, good, body=b"tampered"),
        rejected(case, {**good, header: bad}),
        rejected(case, {}),
    ]
    for message in messages:
        assert secret not in message
        assert secret.removeprefix("whsec_") not in message
        assert good[header] not in message


@pytest.mark.parametrize("case", [c for c in CASES if c != "standard-webhooks"])  # its own test below
def test_an_empty_secret_never_verifies(case):
    # An unset environment variable must not turn into "HMAC with an empty key is valid".
    c, _, _, header, _ = CASES[case]
    forged = lower(sign(c, "x", BODY, now=NOW, msg_id="msg_1"))
    empty_mac = hmac.new(b"", f"{NOW}.".encode() + BODY if case == "stripe" else BODY, hashlib.sha256)
    hexmac, b64mac = empty_mac.hexdigest(), base64.b64encode(empty_mac.digest()).decode()
    forged[header] = {"github": f"sha256={hexmac}", "stripe": f"t={NOW},v1={hexmac}", "shopify": b64mac,
                      "hmac-hex": f"sha256={hexmac}", "hmac-base64": b64mac}[case]
    assert "no usable secret" in rejected(case, forged, secrets=[""])


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize("case", TIMESTAMPED)
@pytest.mark.parametrize("skew", [-301, 301, -10_000, 10_000])
def test_rejects_stale_and_future_timestamps(case, skew):
    message = rejected(case, signed(case, now=NOW + skew))
    assert message == f"timestamp {NOW + skew} is outside the 300 s tolerance ({TIMESTAMPED[case]})"


@pytest.mark.parametrize("case", TIMESTAMPED)
@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_accepts_timestamps_at_the_edge_of_tolerance(case, skew):
    c, secret, *_ = CASES[case]
    verify(c, [secret], signed(case, now=NOW + skew), BODY, now=NOW)


@pytest.mark.parametrize("case", TIMESTAMPED)
def test_tolerance_is_configurable(case):
    _, secret, *_ = CASES[case]
    c = cfg(CASES[case][0].scheme, tolerance_seconds=10)
    with pytest.raises(SignatureError, match="outside the 10 s tolerance"):
        verify(c, [secret], signed(case, now=NOW - 11), BODY, now=NOW)


def test_stripe_non_numeric_timestamp_is_malformed():
    sig = signed("stripe")["stripe-signature"].split(",")[1]
    message = rejected("stripe", {"stripe-signature": f"t=yesterday,{sig}"})
    assert message == "malformed Stripe-Signature header: expected t=<unix>,v1=<hex>"


@pytest.mark.parametrize("value", ["t=1700000000", "t=1,t=2,v1=" + "a" * 64, "garbage", "t=1700000000,v1=zz"])
def test_stripe_other_malformed_headers(value):
    assert "malformed Stripe-Signature" in rejected("stripe", {"stripe-signature": value})


def test_stripe_any_v1_may_match_and_v0_is_ignored():
    header = signed("stripe")["stripe-signature"]
    t, v1 = header.split(",")
    verify(CASES["stripe"][0], [CASES["stripe"][1]], {"stripe-signature": f"{t},v0=abc,v1={'0' * 64},{v1}"},
           BODY, now=NOW)


@pytest.mark.parametrize("value", ["1.7e9", "abc", "-5", ""])
def test_standard_webhooks_non_numeric_timestamp_is_malformed_or_missing(value):
    message = rejected("standard-webhooks", {**signed("standard-webhooks"), "webhook-timestamp": value})
    assert ("malformed webhook-timestamp" in message) or message == "missing header webhook-timestamp"


def test_standard_webhooks_needs_its_id_header():
    headers = signed("standard-webhooks")
    del headers["webhook-id"]
    assert rejected("standard-webhooks", headers) == "missing header webhook-id"


def test_standard_webhooks_several_signatures_and_unknown_versions():
    headers = signed("standard-webhooks")
    good = headers["webhook-signature"]
    bogus = "v1," + base64.b64encode(b"\0" * 32).decode()
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n {bogus} {good}"
    verify(CASES["standard-webhooks"][0], [SW_SECRET], headers, BODY, now=NOW)
    headers["webhook-signature"] = "v1a,c29tZXRoaW5n"
    assert "no v1 signature" in rejected("standard-webhooks", headers)


def test_hmac_sha256_without_a_configured_header_rejects():
    with pytest.raises(SignatureError, match="no signature header configured"):
        verify(cfg("hmac-sha256"), ["s"], {"x-signature": "a" * 64}, BODY, now=NOW)


def test_hmac_sha256_accepts_uppercase_hex_and_prefix_case():
    headers = signed("hmac-hex")
    headers["x-signature"] = headers["x-signature"].upper()
    verify(CASES["hmac-hex"][0], ["plain"], headers, BODY, now=NOW)


# ---------------------------------------------------------------- published vectors


def test_github_documentation_vector():
    c = cfg("github")
    secret, payload = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verify(c, [secret], {"x-hub-signature-256": expected}, payload, now=NOW)
    assert sign(c, secret, payload)["X-Hub-Signature-256"] == expected
    with pytest.raises(SignatureError):
        verify(c, [secret], {"x-hub-signature-256": expected}, b"Hello, World?", now=NOW)


SW_VECTOR = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
SW_PAYLOAD = b'{"test": 2432232314}'


def test_standard_webhooks_specification_vector():
    c = cfg("standard-webhooks")
    verify(c, [SW_SECRET], SW_VECTOR, SW_PAYLOAD, now=1614265330)
    msg_id = SW_VECTOR["webhook-id"]
    assert sign_standard_webhooks(SW_SECRET, msg_id, 1614265330, SW_PAYLOAD) == SW_VECTOR
    # The prefix is optional: the same key without "whsec_" signs identically.
    no_prefix = SW_SECRET.removeprefix("whsec_")
    assert sign_standard_webhooks(no_prefix, SW_VECTOR["webhook-id"], 1614265330, SW_PAYLOAD) == SW_VECTOR
    assert sign(c, SW_SECRET, SW_PAYLOAD, now=1614265330, msg_id=SW_VECTOR["webhook-id"]) == SW_VECTOR
    with pytest.raises(SignatureError, match="outside the 300 s tolerance"):
        verify(c, [SW_SECRET], SW_VECTOR, SW_PAYLOAD, now=1614265330 + 301)


def test_standard_webhooks_rejects_an_unusable_secret():
    with pytest.raises(ValueError, match="whsec_<base64>"):
        sign_standard_webhooks("whsec_", "msg_1", NOW, BODY)
    with pytest.raises(SignatureError, match="no usable secret"):
        verify(cfg("standard-webhooks"), ["whsec_!!!"], SW_VECTOR, SW_PAYLOAD, now=1614265330)
    with pytest.raises(SignatureError, match="no usable secret"):
        verify(cfg("standard-webhooks"), ["whsec_", ""], SW_VECTOR, SW_PAYLOAD, now=1614265330)


# ---------------------------------------------------------------- vendor libraries as oracles


def test_stripe_library_signature_is_accepted_by_ours():
    secret = CASES["stripe"][1]
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), secret, timestamp=NOW)
    verify(cfg("stripe"), [secret], {"stripe-signature": header}, BODY, now=NOW)
    with pytest.raises(SignatureError):
        verify(cfg("stripe"), ["whsec_wrong"], {"stripe-signature": header}, BODY, now=NOW)


def test_our_stripe_signature_is_accepted_by_the_stripe_library():
    secret = CASES["stripe"][1]
    header = sign(cfg("stripe"), secret, BODY)["Stripe-Signature"]  # real clock: the library checks it
    assert stripe.WebhookSignature.verify_header(BODY, header, secret, tolerance=300) is True
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(BODY, header, "whsec_wrong", tolerance=300)


def test_standardwebhooks_library_signature_is_accepted_by_ours():
    body = BODY.decode()
    signature = sw.Webhook(SW_SECRET).sign("msg_lib", datetime.fromtimestamp(NOW, UTC), body)
    headers = {"webhook-id": "msg_lib", "webhook-timestamp": str(NOW), "webhook-signature": signature}
    verify(cfg("standard-webhooks"), [SW_SECRET], headers, BODY, now=NOW)


def test_our_standard_webhooks_signature_is_accepted_by_the_library():
    headers = sign_standard_webhooks(SW_SECRET, "msg_ours", int(time.time()), BODY)
    assert sw.Webhook(SW_SECRET).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(sw.WebhookVerificationError):
        sw.Webhook(SW_OTHER).verify(BODY, headers)


# ---------------------------------------------------------------- event id and type

PARSED = json.loads(BODY)
BODY_HASH = "sha256:" + hashlib.sha256(BODY).hexdigest()


@pytest.mark.parametrize(("verify_cfg", "headers", "expected"), [
    (cfg("github"), {"x-github-delivery": "72d3162e-cc78"}, "72d3162e-cc78"),
    (cfg("github"), {}, BODY_HASH),
    (cfg("stripe"), {}, "evt_1"),
    (cfg("shopify"), {"x-shopify-event-id": "ev-9", "x-shopify-webhook-id": "wh-9"}, "ev-9"),
    (cfg("shopify"), {"x-shopify-webhook-id": "wh-9"}, "wh-9"),
    (cfg("standard-webhooks"), {"webhook-id": "msg_2"}, "msg_2"),
    (cfg("hmac-sha256", header="X-Sig"), {"x-request-id": "r1"}, BODY_HASH),
    (cfg("hmac-sha256", header="X-Sig", id_header="X-Request-Id"), {"x-request-id": "r1"}, "r1"),
    (cfg("hmac-sha256", header="X-Sig", id_header="X-Request-Id"), {}, BODY_HASH),
    (cfg("github", id_path="data.n"), {"x-github-delivery": "d1"}, "1"),
    (cfg("stripe", id_path="missing.path"), {}, "evt_1"),
    (cfg("github"), {"X-GitHub-Delivery": "mixed-case"}, "mixed-case"),
])
def test_event_id(verify_cfg, headers, expected):
    assert event_id(verify_cfg, headers, BODY, PARSED) == expected


def test_event_id_is_never_empty_and_bounded():
    assert event_id(cfg("stripe"), {}, b"", None) == "sha256:" + hashlib.sha256(b"").hexdigest()
    assert event_id(cfg("stripe"), {}, BODY, {"id": ""}) == BODY_HASH
    assert event_id(cfg("stripe"), {}, BODY, ["not", "a", "dict"]) == BODY_HASH
    long_id = "x" * 500
    got = event_id(cfg("standard-webhooks"), {"webhook-id": long_id}, BODY, PARSED)
    assert got == "sha256:" + hashlib.sha256(long_id.encode()).hexdigest()
    assert len(got) <= 200
    weird = event_id(cfg("standard-webhooks"), {"webhook-id": "a\r\nInjected: 1"}, BODY, PARSED)
    assert weird.startswith("sha256:") and "\n" not in weird


@pytest.mark.parametrize(("verify_cfg", "headers", "expected"), [
    (cfg("github"), {"x-github-event": "issues"}, "issues"),
    (cfg("stripe"), {}, "thing.created"),
    (cfg("shopify"), {"x-shopify-topic": "orders/create"}, "orders/create"),
    (cfg("standard-webhooks"), {}, "thing.created"),
    (cfg("hmac-sha256", header="X-Sig"), {}, None),
    (cfg("hmac-sha256", header="X-Sig", type_header="X-Event"), {"x-event": "ping"}, "ping"),
    (cfg("github", type_path="data.kind"), {"x-github-event": "issues"}, "issues"),
    (cfg("hmac-sha256", header="X-Sig", type_path="type"), {}, "thing.created"),
])
def test_event_type(verify_cfg, headers, expected):
    assert event_type(verify_cfg, headers, PARSED) == expected


def test_sign_adds_the_schemes_id_header():
    assert sign(cfg("github"), "s", BODY, msg_id="d1")["X-GitHub-Delivery"] == "d1"
    assert sign(cfg("shopify"), "s", BODY, msg_id="w1")["X-Shopify-Webhook-Id"] == "w1"
    c = cfg("hmac-sha256", header="X-Sig", id_header="X-Request-Id")
    headers = sign(c, "s", BODY, msg_id="r1")
    assert event_id(c, lower(headers), BODY, PARSED) == "r1"
    generated = sign(cfg("standard-webhooks"), SW_SECRET, BODY)["webhook-id"]
    assert generated.startswith("msg_")
