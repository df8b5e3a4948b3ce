"""Cases for entries no SDK verifies and whose docs print no complete example (secret, body and signature).
Each request is signed here with the standard library exactly as the linked signing docs describe (header,
prefix, algorithm, encoding, signed content), never with hookline's sign(). Weaker than an SDK or a
published vector, and each case says so in its `signer`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.unit.ingress.providers._cases_e2 import Case

NOW = 1_796_000_000  # a fixed send time; tests move `now` around it


def _mac(algorithm: str, key: bytes | str, message: bytes | str) -> bytes:
    key = key.encode() if isinstance(key, str) else key
    message = message.encode() if isinstance(message, str) else message
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def _body(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


def _case(provider: str, docs: str, secret: str, body: str, headers: dict[str, str], signature: str,
          signature_in: str, event_id: str | None, event_type: str | None, **more: object) -> Case:
    return Case(provider=provider, signer=f"docs only, signed with the standard library as {docs} describes",
                secret=secret, headers={"content-type": "application/json"} | headers, body=body.encode(),
                now=more.pop("now", NOW), signature=signature, signature_in=signature_in, event_id=event_id,
                event_type=event_type, **more)  # type: ignore[arg-type]


def _body_signed(provider: str, docs: str, header: str, algorithm: str, encoding: str, body: str,
                 extra: dict[str, str], event_id: str | None, event_type: str | None, *, prefix: str = "",
                 secret: str | None = None, key: bytes | None = None) -> Case:
    """The common shape: one header carrying an HMAC of the raw body."""
    secret = secret or f"{provider}-hookline-test-secret"
    raw = _mac(algorithm, key if key is not None else secret, body)
    sig = raw.hex() if encoding == "hex" else base64.b64encode(raw).decode()
    return _case(provider, docs, secret, body, extra | {header: prefix + sig}, sig, header, event_id, event_type)


def docs_cases() -> list[Case]:
    cases = [
        _body_signed("bitbucket", "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/",
                     "x-hub-signature", "sha256", "hex", _body({"repository": {"full_name": "team/repo"},
                                                               "push": {"changes": []}}),
                     {"x-request-uuid": "afe5d0a1-3b6e-4d4f-9b55-0c2c1c4f5d10", "x-event-key": "repo:push"},
                     "afe5d0a1-3b6e-4d4f-9b55-0c2c1c4f5d10", "repo:push", prefix="sha256="),
        _body_signed("gitea", "https://docs.gitea.com/usage/webhooks", "x-gitea-signature", "sha256", "hex",
                     _body({"ref": "refs/heads/main", "repository": {"full_name": "org/repo"}}),
                     {"x-gitea-delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473", "x-gitea-event": "push"},
                     "f6266f16-1bf3-46a5-9ea4-602e06ead473", "push"),
        _body_signed("terraform-cloud",
                     "https://developer.hashicorp.com/terraform/cloud-docs/workspaces/settings/notifications",
                     "x-tfe-notification-signature", "sha512", "hex",
                     _body({"payload_version": 1, "run_id": "run-XZgPfLaZ4n3X8Ljn",
                            "notifications": [{"message": "Run applied", "trigger": "run:completed"}]}),
                     {}, None, "run:completed"),
        _body_signed("vercel", "https://vercel.com/docs/webhooks/webhooks-api", "x-vercel-signature", "sha1", "hex",
                     _body({"id": "uqk7Jx9v4XQ2D7P5", "type": "deployment.succeeded", "createdAt": 1796000000000,
                            "payload": {"deployment": {"id": "dpl_2euZBFqxH6b5nYjXw"}}}),
                     {}, "uqk7Jx9v4XQ2D7P5", "deployment.succeeded"),
        _body_signed("heroku", "https://devcenter.heroku.com/articles/app-webhooks", "heroku-webhook-hmac-sha256",
                     "sha256", "base64",
                     _body({"action": "create", "resource": "release", "data": {"version": 42},
                            "webhook_metadata": {"event": {"id": "6a6b3a21-0a7e-4d39-9a3c-ef8d2a0c1c55",
                                                           "include": "api:release"},
                                                 "webhook": {"id": "0c1c0a77-1d3f-4cd9-9a2b-3e1d2f4a5b6c"}}}),
                     {"heroku-webhook-id": "b1f3c0d4-7e2a-4c8b-9d6e-5f4a3b2c1d0e"},
                     "6a6b3a21-0a7e-4d39-9a3c-ef8d2a0c1c55", "api:release"),
        _body_signed("launchdarkly", "https://launchdarkly.com/docs/integrations/webhooks", "x-ld-signature",
                     "sha256", "hex", _body({"_id": "5e5f1b2c9f3a4d0008c1a2b3", "kind": "flag",
                                             "name": "New checkout", "titleVerb": "turned on"}),
                     {}, "5e5f1b2c9f3a4d0008c1a2b3", "flag"),
        _body_signed("attio", "https://docs.attio.com/rest-api/guides/webhooks", "attio-signature", "sha256", "hex",
                     _body({"webhook_id": "2ab55c37-62d8-4a7b-9f5c-0f2d8a2e6b1c",
                            "events": [{"event_type": "record.created",
                                        "id": {"record_id": "bf071e1f-6035-429d-b874-d83ea64ea13b"}}]}),
                     {}, None, "record.created"),
    ]
    return [*cases, _maxio(), _trello(), *_timestamped()]


def _maxio() -> Case:
    docs = "https://docs.maxio.com/hc/en-us/articles/24266136649869-Webhooks-Reference"
    secret = "maxio-site-shared-key"
    body = "id=81234567&event=signup_success&payload[subscription][id]=15236915&payload[site][subdomain]=acme"
    sig = _mac("sha256", secret, body).hex()
    return Case(provider="maxio", signer=f"docs only, signed with the standard library as {docs} describes",
                secret=secret, headers={"content-type": "application/x-www-form-urlencoded",
                                        "x-chargify-webhook-id": "81234567",
                                        "x-chargify-webhook-signature-hmac-sha-256": sig},
                body=body.encode(), now=NOW, signature=sig, signature_in="x-chargify-webhook-signature-hmac-sha-256",
                event_id="81234567", event_type="signup_success")


def _trello() -> Case:
    # Trello signs the body followed by the callbackURL it was registered with (a public URL hookline is told).
    docs = "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/"
    secret = "trello-power-up-api-secret"
    url = "https://hooks.example.com/webhooks/trello"
    body = _body({"action": {"id": "5f4e3d2c1b0a998877665544", "type": "updateCard",
                             "data": {"card": {"id": "5f4e3d2c1b0a998877665500"}}}, "model": {"id": "board1"}})
    sig = base64.b64encode(_mac("sha1", secret, body + url)).decode()
    return _case("trello", docs, secret, body, {"x-trello-webhook": sig}, sig, "x-trello-webhook",
                 "5f4e3d2c1b0a998877665544", "updateCard", url=url)


def _timestamped() -> list[Case]:
    ts = str(NOW)
    out = []

    docs = "https://developer.frame.io/docs/automations-webhooks/webhooks-overview"
    secret = "frameio-hookline-test-secret"
    body = _body({"type": "asset.ready", "resource": {"type": "asset", "id": "6f1c5c2e-3b1a-4b8e-9f0e-2d7c1a9b8e7f"}})
    sig = _mac("sha256", secret, f"v0:{ts}:{body}").hex()
    out.append(_case("frameio", docs, secret, body, {"x-frameio-request-timestamp": ts,
                                                     "x-frameio-signature": f"v0={sig}"},
                     sig, "x-frameio-signature", None, "asset.ready", timestamp=ts,
                     timestamp_in="x-frameio-request-timestamp", tolerance_seconds=300))

    docs = "https://docs.customer.io/journeys/webhooks/"
    secret = "customerio-webhook-signing-key"
    body = _body({"event_id": "01E4C4HDAK7QTR0SGB9E1PN8XH", "object_type": "email", "metric": "sent",
                  "timestamp": NOW, "data": {"customer_id": "42"}})
    sig = _mac("sha256", secret, f"v0:{ts}:{body}").hex()
    out.append(_case("customerio", docs, secret, body, {"x-cio-timestamp": ts, "x-cio-signature": sig}, sig,
                     "x-cio-signature", "01E4C4HDAK7QTR0SGB9E1PN8XH", "sent", timestamp=ts,
                     timestamp_in="x-cio-timestamp", tolerance_seconds=300))

    docs = "https://docs.withpersona.com/docs/webhooks-best-practices"
    secret = "wbhsec_hookline-test-persona-secret"
    body = _body({"data": {"type": "event", "id": "evt_CCcC1dSbXz2pFjuQW7xW7Zrd",
                           "attributes": {"name": "inquiry.completed", "payload": {}}}})
    sig = _mac("sha256", secret, f"{ts}.{body}").hex()
    out.append(_case("persona", docs, secret, body, {"persona-signature": f"t={ts},v1={sig}"}, sig,
                     "persona-signature", "evt_CCcC1dSbXz2pFjuQW7xW7Zrd", "inquiry.completed", timestamp=ts,
                     timestamp_in="persona-signature", tolerance_seconds=300))

    docs = "https://developer.close.com/topics/webhooks/"
    key_hex = "8a3f0c9d2b7e4f6a1c5d8e0f2a4b6c8d9e1f3a5b7c9d0e2f4a6b8c0d1e3f5a7b"
    body = _body({"subscription_id": "whsub_1SGq0aY6y3kq8QxV", "event": {
        "id": "ev_5aBcDeFgHiJkLmNoPqRsTu", "object_type": "lead", "action": "created", "data": {"id": "lead_1"}}})
    sig = _mac("sha256", bytes.fromhex(key_hex), ts + body).hex()
    out.append(_case("close", docs, key_hex, body, {"close-sig-timestamp": ts, "close-sig-hash": sig}, sig,
                     "close-sig-hash", "ev_5aBcDeFgHiJkLmNoPqRsTu", "lead.created", timestamp=ts,
                     timestamp_in="close-sig-timestamp", tolerance_seconds=300))
    return out
