"""Signed requests for helper E1's catalog entries, each made by a signer that is not hookline's.

Three kinds, and each case says which in `signer`:
- the provider's SDK, live (it is small enough for the dev extra): it signs, or, where it can only verify,
  the request is built from the provider's docs and the SDK must accept it before the case exists;
- the provider's SDK, recorded: vectors/<name>.json, written by scripts/provider_vectors/make_<name>.*
  in a throwaway environment (the SDK is heavy or is an npm package): twilio, hubspot-api-client,
  squareup, plivo, mailgun; @linear/sdk, @zoom/rivet and Meta's WhatsApp SDK (whatsapp) on npm; and the
  provider's own published tool or receiver, run unmodified from its repository at a named commit
  (Dropbox's dropbox_hook signs; Asana's, Xero's and Twitch's sample receivers accept);
- the provider's documented recipe, for the providers that publish neither an SDK that signs or verifies
  nor a complete example (secret, body, signature): the signature is computed here with Python's hmac
  exactly as the provider's page words it (cited in `signer`), independently of hookline's engine.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import importlib.util
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hookline.ingress.providers import Request

VECTORS = Path(__file__).parent / "vectors"
PUBLISHED = Path(__file__).parent / "published"
NOW = 1_796_000_000  # the cases' clock: 2026-11-30T00:53:20Z


@dataclass(frozen=True)
class Case:
    provider: str
    signer: str
    secret: str
    request: Request
    now: float
    signature: str  # the signature exactly as it appears in the request
    signature_in: str  # a header name, or "body" (Mailgun)
    timestamp: str | None = None  # as received
    timestamp_in: str | None = None  # a header name (list headers too), or "body"
    signed_at: float | None = None  # the timestamp in seconds, worked out here, not by the engine
    tolerance: int | None = None
    event_id: str | None = None
    event_type: str | None = None
    body_target: str | None = None  # the signed part of the body, where it is not all of it (Mailgun)
    wrong_secret: str | None = None  # public-key senders: a well-formed key of the same kind, not the sender's

    @property
    def label(self) -> str:
        return self.provider


def _req(headers: dict[str, str], body: str | bytes, *, url: str | None = None, method: str = "POST") -> Request:
    raw = body.encode() if isinstance(body, str) else body
    return Request(method=method, headers={k.lower(): v for k, v in headers.items()}, body=raw, url=url)


def _hmac(alg: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, getattr(hashlib, alg)).digest()


def _json(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ recorded SDK vectors


def recorded(name: str) -> Case:
    v = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    ts_in = v.get("timestamp_in")
    signed_at = v.get("signed_at")  # given where the timestamp is not a number (Twitch's RFC 3339)
    if signed_at is None and v.get("timestamp") is not None:
        signed_at = int(v["timestamp"]) / (1000 if v["timestamp_format"] == "unix-ms" else 1)
    return Case(
        provider=name, signer=f"{v['signer']} (recorded: {v['made_by']})", secret=v["secret"],
        request=_req(v["headers"], v["body"], url=v.get("url"), method=v["method"]), now=float(v["now"]),
        signature=v["signature"], signature_in=v["signature_in"], timestamp=v.get("timestamp"),
        timestamp_in=ts_in, signed_at=signed_at, tolerance=v.get("tolerance_seconds"),
        event_id=v.get("event_id"), event_type=v.get("event_type"), body_target=v.get("signed_part"),
    )


RECORDED = ("twilio", "hubspot", "square", "plivo", "linear", "zoom", "mailgun", "dropbox", "asana",
            "meta", "whatsapp", "instagram", "messenger", "xero", "twitch")


# ------------------------------------------------------------------ live SDKs


def slack_sdk_event() -> Case:
    from slack_sdk.signature import SignatureVerifier

    secret = "e6b19c573432dcc6b075501d51b51bb8"
    body = _json({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": "T061EG9R6", "api_app_id": "A0PNCHHK2",
                  "event": {"type": "message", "channel": "C024BE91L", "user": "U2147483697",
                            "text": "Live long and prospect.", "ts": "1355517523.000005"},
                  "type": "event_callback", "event_id": "Ev0PV52K25", "event_time": 1355517523})
    ts = str(NOW)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature
    return Case("slack", "slack-sdk SignatureVerifier.generate_signature", secret,
                _req({"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": ts,
                      "Content-Type": "application/json"}, body),
                NOW, signature.removeprefix("v0="), "x-slack-signature", ts, "x-slack-request-timestamp",
                NOW, 300, "Ev0PV52K25", "message")


def slack_published() -> Case:
    """The walk-through on https://api.slack.com/authentication/verifying-requests-from-slack (a slash
    command): its signing secret, timestamp, body and signature, which slack-sdk reproduces too."""
    from slack_sdk.signature import SignatureVerifier

    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    ts = "1531420618"
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) == signature
    return Case("slack", "published example (Slack's verifying-requests walk-through), reproduced by slack-sdk",
                secret, _req({"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": ts,
                              "Content-Type": "application/x-www-form-urlencoded"}, body),
                1531420618 + 30, signature.removeprefix("v0="), "x-slack-signature", ts,
                "x-slack-request-timestamp", 1531420618, 300)


def _svix_webhook() -> type:
    """svix's own `Webhook` class, from svix/webhooks.py alone. Importing it as `svix.webhooks` first runs
    the package's __init__, which loads svix's whole generated API client: ~1.7 s that every pytest worker
    paid while collecting. The module needs only standardwebhooks; a change there fails loudly here."""
    package = importlib.util.find_spec("svix")  # finding a top-level package does not import it
    assert package is not None and package.origin is not None, "svix (a dev dependency) is not installed"
    spec = importlib.util.spec_from_file_location("_svix_webhooks", Path(package.origin).parent / "webhooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Webhook


def svix_based(name: str) -> Case:
    Webhook = _svix_webhook()

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the example secret of Svix's docs
    msg_id = "msg_2Ke4o2s1ZqvnhVbfVDqRZaXsMPq"
    event = ({"type": "user.created", "object": "event", "data": {"id": "user_29w83sxmDNGwOuEthce5gg56FcC"}}
             if name == "clerk" else
             {"type": "email.delivered", "created_at": "2026-11-30T00:53:19.000Z",
              "data": {"email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "to": ["delivered@resend.dev"]}})
    body = _json(event)
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(NOW, tz=UTC), body)
    # Rotation: Svix lists one signature per active secret; only one is for this secret.
    header = f"v1,{base64.b64encode(b'an-older-secret-signature-xxxxxx').decode()} {signature}"
    return Case(name, "svix Webhook.sign", secret,
                _req({"svix-id": msg_id, "svix-timestamp": str(NOW), "svix-signature": header}, body),
                NOW, signature.removeprefix("v1,"), "svix-signature", str(NOW), "svix-timestamp", NOW, 300,
                msg_id, event["type"])


def paddle() -> Case:
    """Accepted by paddle-python-sdk in test_catalog_e1.py (importing the SDK costs ~1.3 s: not at collection)."""
    secret = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI"
    body = _json({"event_id": "evt_01h8bzakzx3hm2fmen703n5q45", "event_type": "transaction.paid",
                  "occurred_at": "2026-11-30T00:53:19.000000Z", "notification_id": "ntf_01h8bzam1z32agrxjwhjgqk8w6",
                  "data": {"id": "txn_01h8bxpvx398a7zbawb77y0kp5", "status": "paid"}})
    # Paddle's SDK verifies but does not sign: the header is built as the signature-verification page says.
    h1 = _hmac("sha256", secret.encode(), f"{NOW}:{body}".encode()).hex()
    header = f"ts={NOW};h1={h1}"
    return Case("paddle", "request built from Paddle's docs, accepted by paddle-python-sdk PaddleSignature.verify",
                secret, _req({"Paddle-Signature": header, "Content-Type": "application/json"}, body), NOW, h1,
                "paddle-signature", str(NOW), "paddle-signature", NOW, 5,
                "evt_01h8bzakzx3hm2fmen703n5q45", "transaction.paid")


def razorpay() -> Case:
    import razorpay as rzp

    secret = "hookline-razorpay-webhook-secret"
    body = _json({"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": "payment.captured",
                  "contains": ["payment"], "payload": {"payment": {"entity": {
                      "id": "pay_DESlfW9H8K9uqM", "amount": 100, "currency": "INR", "status": "captured"}}},
                  "created_at": NOW})
    signature = _hmac("sha256", secret.encode(), body.encode()).hex()
    client = rzp.Client(auth=("rzp_test_key", "rzp_test_secret"))
    assert client.utility.verify_webhook_signature(body, signature, secret), "razorpay refused the request"
    return Case("razorpay", "request built from Razorpay's docs, accepted by razorpay Utility.verify_webhook_signature",
                secret, _req({"X-Razorpay-Signature": signature, "X-Razorpay-Event-Id": "KkqVpR8T2Zc6pS",
                              "Content-Type": "application/json"}, body),
                NOW, signature, "x-razorpay-signature", event_id="KkqVpR8T2Zc6pS", event_type="payment.captured")


def sendgrid() -> Case:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sendgrid.helpers.eventwebhook import EventWebhook

    private = ec.derive_private_key(0x5EED_1234_ABCD, ec.SECP256R1())
    # The Verification Key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo.
    public_b64 = base64.b64encode(private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
    body = _json([{"email": "example@test.com", "timestamp": NOW - 5, "event": "processed",
                   "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A==", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001"}])
    ts = str(NOW)
    signature = base64.b64encode(private.sign((ts + body).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    ew = EventWebhook()
    assert ew.verify_signature(body, signature, ts, ew.convert_public_key_to_ecdsa(public_b64)), "sendgrid refused it"
    return Case("sendgrid", "ECDSA P-256 key made here (cryptography), signature accepted by sendgrid "
                "EventWebhook.verify_signature", public_b64,
                _req({"X-Twilio-Email-Event-Webhook-Signature": signature,
                      "X-Twilio-Email-Event-Webhook-Timestamp": ts, "Content-Type": "application/json"}, body),
                NOW, signature, "x-twilio-email-event-webhook-signature", ts,
                "x-twilio-email-event-webhook-timestamp", NOW, 300, None, "processed",
                wrong_secret=base64.b64encode(ec.derive_private_key(0xBAD, ec.SECP256R1()).public_key().public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode())


def _nacl_key(seed: bytes):  # -> nacl.signing.SigningKey
    from nacl.signing import SigningKey

    return SigningKey(hashlib.sha256(seed).digest())


def discord() -> Case:
    key = _nacl_key(b"hookline discord test key")
    body = _json({"id": "1175300466036752465", "application_id": "1100000000000000000", "type": 2,
                  "token": "aW50ZXJhY3Rpb246MTE3NTMwMDQ2NjAzNjc1MjQ2NQ", "version": 1,
                  "data": {"id": "1100000000000000001", "name": "hello", "type": 1}})
    ts = str(NOW)
    signature = key.sign((ts + body).encode()).signature.hex()
    return Case("discord", "PyNaCl SigningKey.sign (Ed25519, as Discord's docs verify with PyNaCl)",
                key.verify_key.encode().hex(),
                _req({"X-Signature-Ed25519": signature, "X-Signature-Timestamp": ts,
                      "Content-Type": "application/json"}, body),
                NOW, signature, "x-signature-ed25519", ts, "x-signature-timestamp", NOW, 300,
                "1175300466036752465", "2", wrong_secret=_nacl_key(b"another key").verify_key.encode().hex())


def telnyx() -> Case:
    key = _nacl_key(b"hookline telnyx test key")
    body = _json({"data": {"event_type": "message.received", "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
                           "occurred_at": "2026-11-30T00:53:19.000+00:00", "payload": {"text": "Hello"},
                           "record_type": "event"}, "meta": {"attempt": 1, "delivered_to": "https://example.com"}})
    ts = str(NOW)
    signature = base64.b64encode(key.sign(f"{ts}|{body}".encode()).signature).decode()
    return Case("telnyx", "PyNaCl SigningKey.sign (Ed25519, as Telnyx's SDK verifies with PyNaCl)",
                base64.b64encode(key.verify_key.encode()).decode(),
                _req({"telnyx-signature-ed25519": signature, "telnyx-timestamp": ts,
                      "Content-Type": "application/json"}, body),
                NOW, signature, "telnyx-signature-ed25519", ts, "telnyx-timestamp", NOW, 300,
                "b301ed3f-1490-491f-995f-6e64e69674d4", "message.received",
                wrong_secret=base64.b64encode(_nacl_key(b"another key").verify_key.encode()).decode())


LIVE = (slack_sdk_event, slack_published, lambda: svix_based("clerk"), lambda: svix_based("resend"), paddle,
        razorpay, sendgrid, discord, telnyx)


# ------------------------------------------------------------------ documented recipes (no SDK, no printed vector)


def _recipe(provider: str, page: str) -> str:
    return (f"signing docs: computed with Python's hmac as {page} words it "
            "(no SDK signs or verifies; no printed vector)")


def _body_hmac(provider: str, page: str, *, alg: str, enc: str, header: str, prefix: str, secret: str,
               obj: object, extra: dict[str, str], event_id: str | None = None,
               event_type: str | None = None) -> Case:
    body = _json(obj)
    mac = _hmac(alg, secret.encode(), body.encode())
    sig = mac.hex() if enc == "hex" else base64.b64encode(mac).decode()
    return Case(provider, _recipe(provider, page), secret,
                _req({header: prefix + sig, "Content-Type": "application/json", **extra}, body), NOW, sig,
                header.lower(), event_id=event_id, event_type=event_type)


def intercom() -> Case:
    return _body_hmac("intercom", "https://developers.intercom.com/docs/webhooks/webhook-notifications#signed-notifications",
                      alg="sha1", enc="hex", header="X-Hub-Signature", prefix="sha1=",
                      secret="a3f1c9e0-intercom-client-secret", extra={},
                      obj={"type": "notification_event", "app_id": "ebf6ivtk",
                           "id": "notif_ccd8a4d2-3ab4-4b4a-8e1c-5f3e8d1bd1e8",
                           "topic": "conversation.user.created", "created_at": NOW,
                           "data": {"item": {"type": "conversation", "id": "147"}}},
                      event_id="notif_ccd8a4d2-3ab4-4b4a-8e1c-5f3e8d1bd1e8", event_type="conversation.user.created")


def typeform() -> Case:
    return _body_hmac("typeform", "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
                      alg="sha256", enc="base64", header="Typeform-Signature", prefix="sha256=",
                      secret="typeform-webhook-secret-abc123", extra={},
                      obj={"event_id": "01HXYZ4K8Q2N3T5V7W9X1Y3Z5A", "event_type": "form_response",
                           "form_response": {"form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15",
                                             "answers": [{"type": "text", "text": "caf\u00e9"}]}},
                      event_id="01HXYZ4K8Q2N3T5V7W9X1Y3Z5A", event_type="form_response")


def zendesk() -> Case:
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # Zendesk's own test-webhook secret, used as text
    body = _json({"type": "zen:event-type:ticket.created", "account_id": 12514403,
                  "id": "cbe4028c-7239-495d-b020-f22348516046",
                  "time": "2026-11-30T00:53:19.000Z", "zendesk_event_version": "2022-11-06",
                  "detail": {"id": "35436", "subject": "Help, my printer is on fire!"}})
    ts = "2026-11-30T00:53:20Z"
    sig = base64.b64encode(_hmac("sha256", secret.encode(), (ts + body).encode())).decode()
    return Case("zendesk", _recipe("zendesk", "https://developer.zendesk.com/documentation/webhooks/verifying/ "
                                   "(base64(HMACSHA256(TIMESTAMP + BODY)))"), secret,
                _req({"X-Zendesk-Webhook-Signature": sig, "X-Zendesk-Webhook-Signature-Timestamp": ts,
                      "X-Zendesk-Webhook-Id": "01F1KRFQ6BG29CNWFR60NK5FNY", "Content-Type": "application/json"}, body),
                NOW, sig, "x-zendesk-webhook-signature", ts, "x-zendesk-webhook-signature-timestamp", NOW, 300,
                "cbe4028c-7239-495d-b020-f22348516046", "zen:event-type:ticket.created")


def calendly() -> Case:
    key = "calendly-signing-key-Zx9Y8w7V"
    body = _json({"created_at": "2026-11-30T00:53:19.000000Z", "created_by": "https://api.calendly.com/users/AAAA",
                  "event": "invitee.created", "payload": {"email": "test@example.com", "name": "Jo"}})
    sig = _hmac("sha256", key.encode(), f"{NOW}.{body}".encode()).hex()
    return Case("calendly", _recipe("calendly", "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures"),
                key, _req({"Calendly-Webhook-Signature": f"t={NOW},v1={sig}", "Content-Type": "application/json"},
                          body),
                NOW, sig, "calendly-webhook-signature", str(NOW), "calendly-webhook-signature", NOW, 180,
                None, "invitee.created")


def _token(provider: str, page: str, header: str, secret: str, obj: object, extra: dict[str, str],
           event_id: str | None, event_type: str | None) -> Case:
    return Case(provider, f"signing docs: the header as {page} documents it (a shared token, nothing is signed)",
                secret,
                _req({header: secret, "Content-Type": "application/json", **extra}, _json(obj)), NOW, secret,
                header.lower(), event_id=event_id, event_type=event_type)


def gitlab() -> Case:
    return _token("gitlab", "https://docs.gitlab.com/user/project/integrations/webhooks/", "X-Gitlab-Token",
                  "gitlab-secret-token-7Yh2", {"object_kind": "push", "ref": "refs/heads/main", "project_id": 15},
                  {"X-Gitlab-Event": "Push Hook", "Idempotency-Key": "f4c1d1a7-9a93-4a8e-9d0b-8e1f0a5c3b2d",
                   "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"},
                  "f4c1d1a7-9a93-4a8e-9d0b-8e1f0a5c3b2d", "Push Hook")


def okta() -> Case:
    """The authentication field and secret Okta's Event Hook guide configures (published/okta.json), sent as Okta
    sends them: the secret verbatim in that header."""
    published = json.loads((PUBLISHED / "okta.json").read_text(encoding="utf-8"))
    case = _token("okta", published["source_url"], published["header"].title(), published["secret"],
                  {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
                   "eventId": "b5a188b9-5ece-4636-b041-482ffda96311", "eventTime": "2026-11-30T00:53:19.000Z",
                   "data": {"events": [{"eventType": "user.lifecycle.deactivate",
                                        "uuid": "ab62c0bc-2837-11eb-9823-9fb8f750c5a9"}]}},
                  {}, "b5a188b9-5ece-4636-b041-482ffda96311", "com.okta.event_hook")
    quoted = f"published example: {published['source_url']} ({published['quoted_from']})"
    return dataclasses.replace(case, signer=quoted)


RECIPES = (intercom, typeform, zendesk, calendly,
           gitlab, okta)


def all_cases() -> list[Case]:
    return [recorded(n) for n in RECORDED] + [make() for make in LIVE] + [make() for make in RECIPES]
