"""Square: x-square-hmacsha256-signature = base64 HMAC-SHA256(signature key, notification URL + body).

Square's SDK only verifies: the request is built from the docs
(https://developer.squareup.com/docs/webhooks/step3validate) and square.utils.webhooks_helper.verify_signature
must accept it, or nothing is written. Run in a throwaway venv (the SDK is large): see _vector.py.
"""

import base64
import hashlib
import hmac
import json
import time

from _vector import write
from square.utils.webhooks_helper import verify_signature

key = "asdf1234-signature-key-from-the-developer-console"
url = "https://hooks.example.com/webhooks/square"
body = json.dumps({
    "merchant_id": "6SSW7HV8K2ST5", "type": "payment.created", "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
    "created_at": "2026-12-06T06:00:00.000Z",
    "data": {"type": "payment", "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY", "object": {"payment": {"amount_money": {
        "amount": 100, "currency": "USD"}, "status": "APPROVED"}}},
}, separators=(",", ":"))
signature = base64.b64encode(hmac.new(key.encode(), (url + body).encode(), hashlib.sha256).digest()).decode()
assert verify_signature(request_body=body, signature_header=signature, signature_key=key, notification_url=url), \
    "square's verify_signature refused the request built from the docs"
write(
    "square", sdk="squareup", accepted_by="square.utils.webhooks_helper.verify_signature accepted it",
    secret=key, method="POST", url=url,
    headers={"content-type": "application/json", "x-square-hmacsha256-signature": signature},
    body=body, now=int(time.time()), signature=signature, signature_in="x-square-hmacsha256-signature",
    event_id="6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", event_type="payment.created",
)
