"""Lithic: Standard Webhooks headers webhook-id / webhook-timestamp / webhook-signature "v1,<base64 HMAC-SHA256
of '<id>.<timestamp>.<body>'>", keyed by the base64 after "whsec_" (https://docs.lithic.com/docs/events-api).
Built from those docs; the lithic SDK's client.webhooks.verify_signature must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import VECTORS, save, write
from lithic import Lithic

secret = "whsec_" + base64.b64encode(b"lithic-hookline-test-signing-key").decode()
body = json.dumps({"event_type": "card.created", "card_token": "7ef7d65c-9023-4da3-b113-3b8583fd7951",
                   "token": "a1b2c3d4-0000-4000-8000-000000000001"}, separators=(",", ":"))
msg_id = "msg_2Lh9KRb0pzN4LePd3XiA4v12Axj"
t = str(int(time.time()))
sig = base64.b64encode(hmac.new(base64.b64decode(secret.removeprefix("whsec_")), f"{msg_id}.{t}.{body}".encode(),
                                hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": t,
           "webhook-signature": f"v1,{sig}"}
Lithic(api_key="test").webhooks.verify_signature(body, headers, secret=secret)  # raises when it is refused
write("lithic", sdk="lithic", accepted_by="client.webhooks.verify_signature accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(t), signature=sig,
      signature_in="webhook-signature", timestamp=t, timestamp_in="webhook-timestamp", timestamp_format="unix",
      tolerance_seconds=300, event_id=msg_id, event_type="card.created")
# verify_signature needs the webhooks extra (standardwebhooks): say so in the recorded command.
vector = json.loads((VECTORS / "lithic.json").read_text(encoding="utf-8"))
vector["made_by"] = vector["made_by"].replace("install lithic==", "install lithic[webhooks]==")
save(vector)
