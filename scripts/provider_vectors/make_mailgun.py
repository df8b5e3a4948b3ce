"""Mailgun: the JSON body carries signature {timestamp, token, signature}, signature = hex HMAC-SHA256(
HTTP webhook signing key, timestamp + token) (https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks).

The request is built from those docs; the mailgun SDK's own SecurityGuard.verify_webhook must accept it
(its default age limit included), or nothing is written. Run in a throwaway venv: see _vector.py.
"""

import hashlib
import hmac
import json
import time

from _vector import write
from mailgun.security import SecurityGuard

key = "key-hookline-mailgun-webhook-signing"
token = "ab2d5fe1e35f8a2b0f1c5a4e7d9c3b6a8e2f4d6c8b0a1c3e5f"  # noqa: S105 (50 random characters, as Mailgun's)
now = int(time.time())
signature = hmac.new(key.encode(), f"{now}{token}".encode(), hashlib.sha256).hexdigest()
assert SecurityGuard.verify_webhook(key, token, str(now), signature), "the mailgun SDK refused the request"
body = json.dumps({
    "signature": {"timestamp": str(now), "token": token, "signature": signature},
    "event-data": {"id": "CPgfbmQMTCKtHW6uIWtuVe", "event": "delivered", "timestamp": now - 1.5,
                   "recipient": "alice@example.com", "message": {"headers": {"subject": "Caf\u00e9"}}},
}, separators=(",", ":"), ensure_ascii=False)
write(
    "mailgun", sdk="mailgun", accepted_by="mailgun.security.SecurityGuard.verify_webhook accepted it",
    secret=key, method="POST", headers={"content-type": "application/json"}, body=body, now=now,
    signature=signature, signature_in="body", signed_part=token,
    timestamp=str(now), timestamp_in="body", timestamp_format="unix", tolerance_seconds=900,
    event_id="CPgfbmQMTCKtHW6uIWtuVe", event_type="delivered",
)
