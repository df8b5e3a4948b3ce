"""Helper E2's provider cases: one signed request per catalog entry, made by a signer that is not hookline's.

Three kinds, each named in the case's `signer` (and the entry's `proof`):
- recorded: vectors/<name>.json, written by scripts/provider_vectors/make_<name>.(py|mjs|go) after the
  provider's own SDK (PyPI, npm or Go, in a throwaway environment) accepted the request, or, where the
  provider has no SDK that verifies and prints no test vector, its published verifier (the example code in
  its own repository, run unmodified from a checkout at a named commit), or the provider's own sending code as
  it ships on npm (Cal.com's webhook sender, Segment's Webhooks destination, Webex's bot framework);
- published: published/<name>.json, the secret, body and signature the provider prints in its docs;
- live: the provider's SDK runs here (it is in the dev extra);
- docs only (proof = "signing docs"): no SDK verifies it, the docs print no test vector and no published
  verifier was found: the request is built with the standard library as the signing docs describe (the URL
  is in the case), never with hookline's sign(). The weakest proof, named as such in docs/providers.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

VECTORS = Path(__file__).parent / "vectors"
PUBLISHED = Path(__file__).parent / "published"


@dataclass(frozen=True)
class Case:
    provider: str
    signer: str
    secret: str
    headers: dict[str, str]
    body: bytes
    now: float
    signature: str  # the signature text as it appears in the request
    signature_in: str  # the lower-cased header carrying it
    event_id: str | None
    event_type: str | None
    timestamp: str | None = None  # as received
    timestamp_in: str | None = None  # a lower-cased header, or "body"
    timestamp_format: str = "unix"
    timestamp_changed: str | None = None  # another valid timestamp, for formats a test cannot step itself
    tolerance_seconds: int | None = None
    method: str = "POST"
    url: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.provider


def recorded(name: str) -> Case:
    v = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return Case(
        provider=v["provider"], signer=v["signer"], secret=v["secret"],
        headers={k.lower(): val for k, val in v["headers"].items()}, body=v["body"].encode(), now=v["now"],
        signature=v["signature"], signature_in=v["signature_in"].lower(), event_id=v.get("event_id"),
        event_type=v.get("event_type"), timestamp=v.get("timestamp"),
        timestamp_in=(v.get("timestamp_in") or "").lower() or None, timestamp_format=v.get("timestamp_format", "unix"),
        timestamp_changed=v.get("timestamp_changed"), tolerance_seconds=v.get("tolerance_seconds"),
        method=v.get("method", "POST"), url=v.get("url"))


RECORDED = ("mux", "webflow", "workos", "pusher", "coinbase-commerce", "box", "onfido", "pagerduty", "sentry", "teams",
            "nylas", "docusign", "buildkite",
            "woocommerce", "cal-com", "segment",
            "lemonsqueezy", "webex")


def published_examples(name: str) -> tuple[dict, list[Case]]:
    """The provider's own printed examples (secret, body, signature), quoted in published/<name>.json."""
    data = json.loads((PUBLISHED / f"{name}.json").read_text(encoding="utf-8"))
    cases = [Case(provider=name, signer=f"published example: {data['source_url']}", secret=e["secret"],
                  headers={data["header"]: data["header_value"].format(signature=e["signature"])},
                  body=e["body"].encode(), now=0, signature=e["signature"], signature_in=data["header"],
                  event_id=None, event_type=None) for e in data["examples"]]
    return data, cases


PUBLISHED_EXAMPLES = ("circleci",)


def brex() -> Case:
    """Brex delivers through Svix (Standard Webhooks headers): signed live with standardwebhooks' Webhook.sign."""
    import base64
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    secret = "whsec_" + base64.b64encode(b"brex-hookline-test-signing-key!!").decode()
    body = json.dumps({"event_type": "TRANSFER_PROCESSED", "transfer_id": "dptx_cl5p3kfh20001",
                       "payment_type": "ACH"}, separators=(",", ":"))
    now = 1_796_000_000
    msg_id = "msg_2Lh9KRb0pzN4p0ZqPZd4vX2bHqK"
    header = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body)
    return Case(
        provider="brex", signer="standardwebhooks (Svix's reference library): Webhook.sign, live",
        secret=secret, headers={"content-type": "application/json", "webhook-id": msg_id,
                                "webhook-timestamp": str(now), "webhook-signature": header},
        body=body.encode(), now=now, signature=header.split(",", 1)[1], signature_in="webhook-signature",
        event_id=msg_id, event_type="TRANSFER_PROCESSED", timestamp=str(now), timestamp_in="webhook-timestamp",
        tolerance_seconds=300)


def all_cases() -> list[Case]:
    from tests.unit.ingress.providers._docs_e2 import docs_cases

    return [*(recorded(n) for n in RECORDED), *(published_examples(n)[1][0] for n in PUBLISHED_EXAMPLES), brex(),
            *docs_cases()]
