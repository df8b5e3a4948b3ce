"""Increase: Standard Webhooks headers webhook-id / webhook-timestamp / webhook-signature "v1,<base64 HMAC-SHA256
of '<id>.<timestamp>.<body>'>", keyed by the UTF-8 bytes of the webhook secret as the increase SDK's
events.unwrap passes the client's webhook_secret to standardwebhooks (https://increase.com/documentation/webhooks).
Built from that; unwrap must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import VECTORS, save, write
from increase import Increase

secret = "increase-hookline-test-webhook-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"id": "event_001dzz0r20rzr4zrhrr1364hy80", "type": "event",
                   "category": "account.created", "associated_object_type": "account",
                   "associated_object_id": "account_in71c4amph0vgo2qllky", "created_at": "2026-12-06T06:00:00Z"},
                  separators=(",", ":"))
msg_id = "msg_2Lh9KRb0pzN4LePd3XiA4v12Axk"
t = str(int(time.time()))
sig = base64.b64encode(hmac.new(secret.encode(), f"{msg_id}.{t}.{body}".encode(), hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": t,
           "webhook-signature": f"v1,{sig}"}
# The client-level secret, as Increase's README configures it (INCREASE_WEBHOOK_SECRET): its UTF-8 bytes are the key.
event = Increase(api_key="test", webhook_secret=secret).events.unwrap(body, headers=headers)  # raises when refused
assert event.category == "account.created"
write("increase", sdk="increase", accepted_by="client.events.unwrap accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(t), signature=sig,
      signature_in="webhook-signature", timestamp=t, timestamp_in="webhook-timestamp", timestamp_format="unix",
      tolerance_seconds=300, event_id=msg_id, event_type="account.created")
# unwrap needs the webhooks extra (standardwebhooks): say so in the recorded command.
vector = json.loads((VECTORS / "increase.json").read_text(encoding="utf-8"))
vector["made_by"] = vector["made_by"].replace("install increase==", "install increase[webhooks]==")
save(vector)
