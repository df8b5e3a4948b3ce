"""GoCardless: Webhook-Signature = hex HMAC-SHA256 of the body with the webhook endpoint's secret
(https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks). Built from those docs;
gocardless_pro's webhooks.parse_with_meta must accept it, or nothing is written."""

import hashlib
import hmac
import json

from _vector import write
from gocardless_pro import webhooks

secret = "gocardless-hookline-test-webhook-endpoint-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"events": [
    {"id": "EV0000ED6V59V1", "created_at": "2026-12-06T06:00:00.000Z", "resource_type": "payments",
     "action": "confirmed", "links": {"payment": "PM00008Q30R2BR"},
     "details": {"origin": "gocardless", "cause": "payment_confirmed"}, "metadata": {}}],
    "meta": {"webhook_id": "WB0000EXWQB6JH"}}, separators=(",", ":"))
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
result = webhooks.parse_with_meta(body, secret, sig)  # raises InvalidSignatureError when it is refused
assert result.webhook_id == "WB0000EXWQB6JH" and result.events[0].id == "EV0000ED6V59V1"
write("gocardless", sdk="gocardless_pro", accepted_by="webhooks.parse_with_meta accepted it",
      secret=secret, method="POST", headers={"content-type": "application/json", "webhook-signature": sig},
      body=body, now=1796537773, signature=sig, signature_in="webhook-signature",
      event_id="WB0000EXWQB6JH", event_type="payments")
