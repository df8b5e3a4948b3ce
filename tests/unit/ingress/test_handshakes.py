"""Each handshake kind answered as its provider documents, never as an event, and refused when forged.

Signed handshakes go through the provider's real catalog entry (providers.verify); Slack's signature is
made with slack-sdk, the others as the providers' docs compute them (HMAC over the documented content)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from slack_sdk.signature import SignatureVerifier

from hookline.ingress import handshakes, providers
from hookline.ingress.handshakes import Handshake, HandshakeRefused
from hookline.ingress.providers import Request
from tests.support.fakes import FakeHookSecrets

NOW = 1_765_000_000
SECRET = "s3cret-signing-key"


def answer(provider: str, request: Request, secrets=(SECRET,), **kw):
    kind = handshakes.kind_of(provider)

    def check(values):
        providers.verify(providers.load(provider), values, request, now=NOW)

    return handshakes.answer(kind, request, Handshake(source="src", secrets=lambda: list(secrets), check=check,
                                                      **kw))


def test_every_kind_is_named_by_a_catalog_entry():
    kinds = {handshakes.kind_of(n) for n in providers.names()} - {None}
    assert kinds == set(handshakes.KINDS)


# ---------------------------------------------------------------- Slack

def slack(body: bytes, secret=SECRET, ts=NOW) -> Request:
    sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body.decode())
    return Request(headers={"x-slack-signature": sig, "x-slack-request-timestamp": str(ts),
                            "content-type": "application/json"}, body=body)


SLACK_CHALLENGE = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",
                              "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}).encode()


def test_slack_url_verification_echoes_the_challenge():
    got = answer("slack", slack(SLACK_CHALLENGE))
    assert (got.status, got.body, got.content_type) == (
        200, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", handshakes.TEXT)


def test_slack_url_verification_forged_or_stale_is_refused():
    with pytest.raises(HandshakeRefused, match="signature"):
        answer("slack", slack(SLACK_CHALLENGE, secret="not-the-secret"))
    with pytest.raises(HandshakeRefused):
        answer("slack", slack(SLACK_CHALLENGE, ts=NOW - 301))


def test_a_slack_event_is_not_a_handshake():
    assert answer("slack", slack(b'{"type":"event_callback","event":{"type":"message"}}')) is None


# ---------------------------------------------------------------- Meta, Dropbox, Graph, Okta

META = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "meatyhamhock"}


@pytest.mark.parametrize("provider", ["meta", "whatsapp", "instagram", "messenger"])
def test_meta_verification_answers_the_challenge_for_the_right_token(provider):
    got = answer(provider, Request(method="GET", query=META), verify_token=lambda: "meatyhamhock")
    assert (got.status, got.body) == (200, "1158201444")


@pytest.mark.parametrize("query,token", [({**META, "hub.verify_token": "wrong"}, "meatyhamhock"),
                                         (META, None), ({**META, "hub.mode": "unsubscribe"}, "meatyhamhock")])
def test_meta_verification_is_refused_with_a_wrong_or_missing_token(query, token):
    with pytest.raises(HandshakeRefused):
        answer("meta", Request(method="GET", query=query), verify_token=lambda: token)


def test_dropbox_challenge_is_echoed_as_text_without_sniffing():
    got = answer("dropbox", Request(method="GET", query={"challenge": "abc123"}))
    assert (got.status, got.body, got.content_type) == (200, "abc123", handshakes.TEXT)
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert answer("dropbox", Request(method="GET")) is None


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_msgraph_validation_token_is_echoed(method):
    token = "Validation: Testing client application reachability for subscription Request-Id: 123"
    got = answer("msgraph", Request(method=method, query={"validationToken": token}))
    assert (got.status, got.body, got.content_type) == (200, token, handshakes.TEXT)


def test_okta_verification_needs_the_hooks_authorization():
    headers = {"x-okta-verification-challenge": "X6dmVyaWZpY2F0aW9uLWNoYWxsZW5nZQ", "authorization": SECRET}
    got = answer("okta", Request(method="GET", headers=headers))
    assert (got.status, json.loads(got.body)) == (200, {"verification": "X6dmVyaWZpY2F0aW9uLWNoYWxsZW5nZQ"})
    with pytest.raises(HandshakeRefused):
        answer("okta", Request(method="GET", headers={**headers, "authorization": "guess"}))


# ---------------------------------------------------------------- Zoom, Twitch, Xero

def zoom(body: bytes, secret=SECRET) -> Request:
    # Zoom's docs: x-zm-signature = "v0=" + hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")
    mac = hmac.new(secret.encode(), f"v0:{NOW}:".encode() + body, hashlib.sha256).hexdigest()
    return Request(headers={"x-zm-signature": f"v0={mac}", "x-zm-request-timestamp": str(NOW)}, body=body)


ZOOM = json.dumps({"payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}, "event_ts": 1654503849680,
                   "event": "endpoint.url_validation"}).encode()


def test_zoom_url_validation_answers_with_the_encrypted_token():
    got = answer("zoom", zoom(ZOOM), secrets=("old-secret", SECRET))  # during a rotation: the one that signed
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(got.body) == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_zoom_url_validation_forged_is_refused():
    with pytest.raises(HandshakeRefused):
        answer("zoom", zoom(ZOOM, secret="guess"))


def twitch(body: bytes, secret=SECRET, kind="webhook_callback_verification") -> Request:
    # Twitch's docs: "sha256=" + hex HMAC-SHA256(secret, message id + timestamp + body)
    ts = "2025-12-06T05:46:40Z"
    mac = hmac.new(secret.encode(), b"e76c6bd4-55c9-4987-8304-da1588d8988b" + ts.encode() + body,
                   hashlib.sha256).hexdigest()
    return Request(headers={"twitch-eventsub-message-id": "e76c6bd4-55c9-4987-8304-da1588d8988b",
                            "twitch-eventsub-message-timestamp": ts, "twitch-eventsub-message-type": kind,
                            "twitch-eventsub-message-signature": f"sha256={mac}"}, body=body)


TWITCH = json.dumps({"challenge": "pogchamp-kappa-360noscope-vohiyo",
                     "subscription": {"id": "f1c2a387", "type": "channel.follow"}}).encode()


def test_twitch_callback_verification_answers_the_challenge():
    got = answer("twitch", twitch(TWITCH))
    assert (got.status, got.body, got.content_type) == (200, "pogchamp-kappa-360noscope-vohiyo", handshakes.TEXT)
    with pytest.raises(HandshakeRefused):
        answer("twitch", twitch(TWITCH, secret="guess"))
    assert answer("twitch", twitch(TWITCH, kind="notification")) is None


def xero(body: bytes, secret=SECRET) -> Request:
    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return Request(headers={"x-xero-signature": sig}, body=body)


XERO = json.dumps({"events": [], "lastEventSequence": 0, "firstEventSequence": 0,
                   "entropy": "S0m3r4Nd0mt3xt"}).encode()


def test_xero_intent_to_receive_200_when_signed_401_when_not():
    got = answer("xero", xero(XERO))
    assert (got.status, got.body, got.content_type) == (200, "", None)
    with pytest.raises(HandshakeRefused):
        answer("xero", xero(XERO, secret="guess"))
    assert answer("xero", xero(json.dumps({"events": [{"eventType": "UPDATE"}]}).encode())) is None


# ---------------------------------------------------------------- Asana

def test_asana_secret_is_echoed_and_stored_once():
    store = FakeHookSecrets()
    req = Request(headers={"x-hook-secret": "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"})
    kw = {"secret_refs": ["ssm:/hookline/asana/tasks"], "hook_secrets": store}
    got = answer("asana", req, secrets=(), **kw)
    assert (got.status, got.body, got.headers) == (200, "", {"X-Hook-Secret": req.headers["x-hook-secret"]})
    assert store.values == {"/hookline/asana/tasks": req.headers["x-hook-secret"]}
    assert answer("asana", req, secrets=(), **kw).status == 200  # Asana's retry of the same handshake
    with pytest.raises(HandshakeRefused, match="already stored"):  # anyone else's cannot replace it
        answer("asana", Request(headers={"x-hook-secret": "attacker"}), secrets=(), **kw)
    assert store.values["/hookline/asana/tasks"] == req.headers["x-hook-secret"]


def test_asana_without_an_ssm_secret_reference_is_refused():
    with pytest.raises(HandshakeRefused, match="ssm"):
        answer("asana", Request(headers={"x-hook-secret": "x"}), secret_refs=["env:ASANA"],
               hook_secrets=FakeHookSecrets())


def test_unknown_kind_is_refused():
    with pytest.raises(HandshakeRefused, match="unknown handshake kind"):
        handshakes.answer("nope", Request(), Handshake(source="s", secrets=list, check=lambda v: None))


# ---------------------------------------------------------------- what `hookline validate` says

@pytest.mark.parametrize("source,where,says", [
    ({"provider": "whatsapp", "secrets": ["env:A"]}, "verify_token", "hub.verify_token"),
    ({"provider": "sns"}, "topic_arns", "any AWS account"),
    ({"provider": "asana", "secrets": ["env:ASANA"]}, "secrets", "SSM parameter"),
    ({"provider": "slack", "secrets": ["env:A"], "verify_token": "env:B"}, "verify_token", "meta_verify_token"),
    ({"provider": "zoom", "secrets": ["env:A"], "topic_arns": ["arn:aws:sns:us-east-1:1:t"]}, "topic_arns",
     "sns_subscription"),
])
def test_a_handshake_missing_its_settings_is_a_configuration_problem(source, where, says):
    from hookline.core.errors import ConfigError
    from hookline.validation import parse_config

    with pytest.raises(ConfigError) as e:
        parse_config({"sources": {"x": source}, "destinations": {}, "routes": []})
    [problem] = e.value.problems
    assert problem.path == f"sources.x.{where}" and says in problem.message, problem


def test_complete_handshake_settings_are_no_problem():
    from hookline.validation import parse_config

    cfg = parse_config({"sources": {
        "meta": {"provider": "whatsapp", "secrets": ["env:A"], "verify_token": "env:B"},
        "alarms": {"provider": "sns", "topic_arns": ["arn:aws:sns:us-east-1:1:t"]},
        "asana": {"provider": "asana", "secrets": ["ssm:/hookline/asana/x"]}}, "destinations": {}, "routes": []})
    assert sorted(cfg.sources) == ["alarms", "asana", "meta"]
