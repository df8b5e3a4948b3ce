"""Onfido: X-SHA2-Signature = hex HMAC-SHA256 of the raw body with the webhook's token
(https://documentation.onfido.com/api/latest/#webhooks). onfido-python's WebhookEventVerifier must accept
it, or nothing is written."""

import hashlib
import hmac
import json
import time

from _vector import write
from onfido.webhook_event_verifier import WebhookEventVerifier

token = "onfido-hookline-test-webhook-token"  # noqa: S105 - a test vector's secret
body = json.dumps({"payload": {"resource_type": "check", "action": "check.completed",
                               "object": {"id": "a8d2c2b4-0a7c-4e5a-9a3b-1e2f3c4d5e6f", "status": "complete",
                                          "completed_at_iso8601": "2026-12-06T06:00:00Z",
                                          "href": "https://api.onfido.com/v3.6/checks/a8d2c2b4-0a7c-4e5a-9a3b-1e2f3c4d5e6f"}}},
                  separators=(",", ":"))
sig = hmac.new(token.encode(), body.encode(), hashlib.sha256).hexdigest()
WebhookEventVerifier(token).read_payload(body, sig)  # raises OnfidoInvalidSignatureError if it disagrees
write("onfido", sdk="onfido-python", accepted_by="WebhookEventVerifier.read_payload accepted it",
      secret=token, method="POST", headers={"content-type": "application/json", "x-sha2-signature": sig},
      body=body, now=int(time.time()), signature=sig, signature_in="x-sha2-signature",
      event_id=None, event_type="check.completed")
