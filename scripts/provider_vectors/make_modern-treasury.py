"""Modern Treasury: X-Signature = hex HMAC-SHA256 of the body, keyed by the webhook key
(https://docs.moderntreasury.com/platform/reference/webhooks-signature). Signed by the modern-treasury SDK's own
webhooks.get_signature, and its validate_signature must accept the request, or nothing is written."""

import json

from _vector import write
from modern_treasury import ModernTreasury

key = "mt-hookline-test-webhook-key"
body = json.dumps({"event": "completed", "data": {"id": "0f9ff9a6-2c2a-4e0e-9a2a-5b4c3c6e5a11",
                                                  "object": "payment_order", "type": "ach", "amount": 1000,
                                                  "direction": "credit", "status": "completed"}},
                  separators=(",", ":"))
client = ModernTreasury(api_key="test", organization_id="00000000-0000-0000-0000-000000000000")
sig = client.webhooks.get_signature(body, key=key)
headers = {"content-type": "application/json", "x-signature": sig}
assert client.webhooks.validate_signature(body, headers, key=key), "modern-treasury refused it"
write("modern-treasury", sdk="modern-treasury",
      accepted_by="webhooks.get_signature signed it, validate_signature accepted it",
      secret=key, method="POST", headers=headers, body=body, now=1796537773, signature=sig,
      signature_in="x-signature", event_id=None, event_type="completed")
