"""Signed requests for helper E4's catalog entries, each made or accepted by the provider's own code.

- recorded: vectors/<name>.json, written by scripts/provider_vectors/make_<name>.* in a throwaway
  environment from the registry (the SDKs are heavy or are npm packages). Where the SDK only verifies
  (openai, replicate, gocardless_pro, easypost, @liveblocks/node, orb-billing, lithic, cashfree_pg,
  finch-api, increase) the script builds the request from the provider's docs and writes nothing unless
  the SDK accepts it;
  @sanity/webhook and modern-treasury sign it themselves.
- live: svix signs for the providers that deliver through Svix (Stytch, Goody);
- published: the example Goody's webhook-security page prints (secret, headers, payload).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from tests.unit.ingress.providers._cases_e1 import NOW, Case, _req, _svix_webhook, recorded

RECORDED = ("openai", "replicate", "gocardless", "easypost", "sanity", "liveblocks", "modern-treasury", "orb",
            "lithic", "cashfree", "finch", "increase")


def svix_signed(name: str, event: dict) -> Case:
    Webhook = _svix_webhook()  # svix's own class, without the package's API client (_cases_e1)

    secret = "whsec_" + base64.b64encode(f"{name}-hookline-test-signing-key".encode()).decode()
    msg_id = "msg_2Ke4o2s1ZqvnhVbfVDqRZaXsMPq"
    body = json.dumps(event, separators=(",", ":"))
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(NOW, tz=UTC), body)
    # An endpoint mid-rotation: Svix lists one signature per active secret, and only one is for this one.
    header = f"v1,{base64.b64encode(b'an-older-secret-signature-xxxxxx').decode()} {signature}"
    return Case(name, "svix Webhook.sign", secret,
                _req({"svix-id": msg_id, "svix-timestamp": str(NOW), "svix-signature": header,
                      "content-type": "application/json"}, body),
                NOW, signature.removeprefix("v1,"), "svix-signature", str(NOW), "svix-timestamp", NOW, 300, msg_id)


def stytch() -> Case:
    return svix_signed("stytch", {
        "project_id": "project-test-6c20cd16-73d5-44f7-852c-9a7e7b2ccf62", "event_id": "event-test-0b5d7e8b",
        "action": "CREATE", "object_type": "user", "source": "DIRECT", "timestamp": "2026-11-30T00:53:19Z",
        "id": "user-test-e3795c81-f849-4167-bfda-e4a6e9c280fd"})


def goody() -> Case:
    return svix_signed("goody", {"event_type": "order.gift_opened", "payload": {"id": "0f1e3a44-0c3e-4d38"}})


GOODY_PUBLISHED = "https://developer.ongoody.com/webhooks/webhook-security"


def goody_published() -> Case:
    """The verify example on Goody's webhook-security page (Svix's example, which Goody prints as its own):
    `const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`, the three svix-* headers and
    `const payload = '{"test": 2432232314}'`. No clock is printed: `now` is the printed timestamp."""
    ts = "1614265330"
    signature = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    return Case("goody", f"published example ({GOODY_PUBLISHED})", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                _req({"svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp": ts,
                      "svix-signature": f"v1,{signature}"}, '{"test": 2432232314}'),
                int(ts), signature, "svix-signature", ts, "svix-timestamp", int(ts), 300,
                "msg_p5jXN8AQM9LWM0D4loKWxJek")


def all_cases() -> list[Case]:
    return [recorded(n) for n in RECORDED] + [stytch(), goody(), goody_published()]
