"""Hostile input: every handshake kind answers any request with a response, None (not a handshake) or
HandshakeRefused (a 401) — never another exception, which ingress would turn into a 503.

Requests mix each kind's own markers (headers, query parameters, JSON words) with arbitrary values; the
source's check is the provider's real catalog entry; SNS's fetcher is a fake that holds no certificate."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.ingress import handshakes, providers
from hookline.ingress.handshakes import Handshake, HandshakeRefused, HandshakeResponse
from hookline.ingress.providers import Request
from hookline.ingress.sns import SnsVerifier
from tests.support.fakes import FakeFetcher, FakeHookSecrets

NOW = 1_765_000_000.0
PROVIDERS = sorted(n for n in providers.names() if handshakes.kind_of(n))
HEADERS = ["x-hook-secret", "twitch-eventsub-message-type", "x-okta-verification-challenge", "x-amz-sns-message-type",
           "authorization", "x-slack-signature", "x-slack-request-timestamp", "x-zm-signature",
           "x-zm-request-timestamp", "x-xero-signature", "twitch-eventsub-message-signature"]
QUERY = ["hub.mode", "hub.challenge", "hub.verify_token", "challenge", "validationToken"]
values = (st.text(max_size=80)
          | st.sampled_from(["subscribe", "webhook_callback_verification", "SubscriptionConfirmation", "Notification",
                             "UnsubscribeConfirmation", "v0=" + "a" * 64, "sha256=" + "0" * 64, str(int(NOW)), "",
                             "\x00", " "]))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=3),
                           max_leaves=6)
handshake_bodies = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["url_verification", "event_callback"]) | st.text(max_size=10),
    "event": st.sampled_from(["endpoint.url_validation"]) | json_values,
    "challenge": json_values, "payload": st.fixed_dictionaries({}, optional={"plainToken": json_values}) | json_values,
    "events": st.just([]) | json_values, "Type": st.sampled_from(["SubscriptionConfirmation", "Notification"]),
    "TopicArn": st.text(max_size=30), "SigningCertURL": st.sampled_from(["https://sns.us-east-1.amazonaws.com/c.pem",
                                                                         "http://x/c.pem"]) | st.text(max_size=30),
    "SignatureVersion": st.sampled_from(["1", "2", "3"]), "Signature": st.text(max_size=20),
    "MessageId": st.text(max_size=10),
    "Timestamp": st.sampled_from(["2025-12-06T05:46:40.000Z"]) | st.text(max_size=10),
    "SubscribeURL": st.text(max_size=30)}).map(lambda d: json.dumps(d).encode())
bodies = st.binary(max_size=200) | handshake_bodies | json_values.map(lambda v: json.dumps(v).encode())


# What makes a request look like each kind's handshake: drawn for half the cases, so the checks behind
# the first test of each kind run too, not only the "not a handshake" answer.
MARKERS: dict[str, tuple[str, dict[str, str], dict[str, str], bytes | None]] = {
    "slack_url_verification": ("POST", {}, {}, b'{"type": "url_verification", "challenge": "c"}'),
    "meta_verify_token": ("GET", {}, {"hub.mode": "subscribe", "hub.challenge": "1"}, None),
    "dropbox_challenge": ("GET", {}, {"challenge": "c"}, None),
    "zoom_url_validation": ("POST", {}, {}, b'{"event": "endpoint.url_validation", "payload": {"plainToken": "p"}}'),
    "twitch_callback_verification": ("POST", {"twitch-eventsub-message-type": "webhook_callback_verification"}, {},
                                     None),
    "msgraph_validation_token": ("POST", {}, {"validationToken": "v"}, None),
    "okta_verification": ("GET", {"x-okta-verification-challenge": "c"}, {}, None),
    "asana_hook_secret": ("POST", {"x-hook-secret": "s"}, {}, None),
    "xero_intent_to_receive": ("POST", {}, {}, b'{"events": [], "entropy": "e"}'),
    "sns_subscription": ("POST", {"x-amz-sns-message-type": "SubscriptionConfirmation"}, {}, None),
}


@st.composite
def cases(draw: Any) -> tuple[str, Request, list[str], str | None]:
    provider = draw(st.sampled_from(PROVIDERS))
    headers = draw(st.dictionaries(st.sampled_from(HEADERS) | st.from_regex(r"[a-z-]{1,16}", fullmatch=True),
                                   values, max_size=5))
    query = draw(st.dictionaries(st.sampled_from(QUERY) | st.text(max_size=8), values, max_size=3))
    method = draw(st.sampled_from(["POST", "GET", "PUT"]))
    body = draw(bodies)
    if draw(st.booleans()):
        method, marker_headers, marker_query, marker_body = MARKERS[handshakes.kind_of(provider) or ""]
        headers, query = {**headers, **marker_headers}, {**query, **marker_query}
        body = marker_body if marker_body is not None and draw(st.booleans()) else body
    secrets = draw(st.lists(st.text(max_size=30), max_size=2))
    token = draw(st.none() | st.text(max_size=20) | st.just("1"))
    return provider, Request(method=method, headers=headers, body=body, query=query), secrets, token


@given(case=cases())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_kind_answers_anything_or_refuses_it(case: tuple[str, Request, list[str], str | None]) -> None:
    provider, request, secrets, token = case

    def check(values: list[str]) -> None:
        providers.verify(providers.load(provider), values, request, now=NOW)

    hs = Handshake(source="x", secrets=lambda: list(secrets), check=check, secret_refs=["ssm:/hookline/x"],
                   verify_token=lambda: token, hook_secrets=FakeHookSecrets(),
                   sns=SnsVerifier(FakeFetcher(), clock=lambda: NOW), topic_arns=["arn:aws:sns:us-east-1:1:t"])
    try:
        got = handshakes.answer(handshakes.kind_of(provider) or "", request, hs)
    except HandshakeRefused as e:
        assert str(e)
        return
    if got is not None:
        assert isinstance(got, HandshakeResponse) and isinstance(got.body, str) and 200 <= got.status < 300
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in got.headers.items())
