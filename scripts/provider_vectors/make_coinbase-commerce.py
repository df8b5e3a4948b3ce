"""Coinbase Commerce: X-CC-Webhook-Signature = hex HMAC-SHA256 of the raw body with the endpoint's shared
secret (https://docs.cdp.coinbase.com/commerce-onchain/docs/webhooks-security). The coinbase-commerce SDK's
Webhook.construct_event must accept it, or nothing is written."""

import hashlib
import hmac
import json
import time

from _vector import write
from coinbase_commerce.webhook import Webhook

secret = "coinbase-commerce-hookline-shared-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"id": 1, "scheduled_for": "2026-12-06T06:00:00Z", "attempt_number": 1,
                   "event": {"id": "24934862-d980-46cb-9402-43c81b0cdba6", "type": "charge:confirmed",
                             "api_version": "2018-03-22", "created_at": "2026-12-06T06:00:00Z",
                             "data": {"code": "66BEOV2A", "name": "The Sovereign Individual"}}},
                  separators=(",", ":"))
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
Webhook.construct_event(body, sig, secret)  # raises SignatureVerificationError if the SDK disagrees
write("coinbase-commerce", sdk="coinbase-commerce", accepted_by="Webhook.construct_event accepted it",
      secret=secret, method="POST",
      headers={"content-type": "application/json", "x-cc-webhook-signature": sig},
      body=body, now=int(time.time()), signature=sig, signature_in="x-cc-webhook-signature",
      event_id="24934862-d980-46cb-9402-43c81b0cdba6", event_type="charge:confirmed")
