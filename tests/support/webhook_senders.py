"""Headers a real sender would put on a webhook, signed without hookline's own signer.

Stripe and Standard Webhooks are signed by their vendors' libraries (stripe, standardwebhooks);
GitHub, Shopify and a generic HMAC sender by plain `hmac`, following each provider's published
example, so a soak or end-to-end run proves the verifier against the senders, not against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import standardwebhooks.webhooks as standard_webhooks
import stripe


def _mac(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


def github(secret: str, body: bytes, delivery: str, event: str = "issues") -> dict[str, str]:
    """docs.github.com, "Validating webhook deliveries": sha256= and the hex HMAC of the raw body."""
    return {"X-Hub-Signature-256": "sha256=" + _mac(secret, body).hex(), "X-GitHub-Delivery": delivery,
            "X-GitHub-Event": event}


def stripe_signature(secret: str, body: bytes) -> dict[str, str]:
    """The header the stripe library itself builds (the event id is the body's `id`)."""
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=int(time.time()))
    return {"Stripe-Signature": header}


def shopify(secret: str, body: bytes, event_id: str, topic: str = "orders/create") -> dict[str, str]:
    """shopify.dev, "Verify webhooks": the base64 of the HMAC of the raw body."""
    return {"X-Shopify-Hmac-Sha256": base64.b64encode(_mac(secret, body)).decode(), "X-Shopify-Event-Id": event_id,
            "X-Shopify-Topic": topic}


def standard(secret: str, body: bytes, msg_id: str) -> dict[str, str]:
    """The standardwebhooks library's own signature over `id.timestamp.body`."""
    now = datetime.now(UTC)
    signature = standard_webhooks.Webhook(secret).sign(msg_id, now, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}


def hmac_hex(secret: str, body: bytes, header: str, prefix: str = "") -> dict[str, str]:
    """A generic sender: its own header, an optional prefix, the hex HMAC of the raw body."""
    return {header: prefix + _mac(secret, body).hex()}
