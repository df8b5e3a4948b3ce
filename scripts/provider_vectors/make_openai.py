"""OpenAI: Standard Webhooks headers webhook-id / webhook-timestamp / webhook-signature "v1,<base64 HMAC-SHA256
of '<id>.<timestamp>.<body>'>", keyed by the base64 after "whsec_" (https://platform.openai.com/docs/guides/webhooks).
Built from those docs; the openai SDK's client.webhooks.verify_signature must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import write
from openai import OpenAI

secret = "whsec_" + base64.b64encode(b"openai-hookline-test-webhook-key!").decode()
body = json.dumps({"object": "event", "id": "evt_685343a1381c819085d44c354e1b330e", "type": "response.completed",
                   "created_at": 1750287018, "data": {"id": "resp_abc123"}}, separators=(",", ":"))
msg_id = "wh_685342e6c53c8190a1be43f081506c52"
t = str(int(time.time()))
sig = base64.b64encode(hmac.new(base64.b64decode(secret.removeprefix("whsec_")), f"{msg_id}.{t}.{body}".encode(),
                                hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": t,
           "webhook-signature": f"v1,{sig}"}
OpenAI(api_key="sk-test").webhooks.verify_signature(body, headers, secret=secret)  # raises when it is refused
write("openai", sdk="openai", accepted_by="client.webhooks.verify_signature accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(t), signature=sig,
      signature_in="webhook-signature", timestamp=t, timestamp_in="webhook-timestamp", timestamp_format="unix",
      tolerance_seconds=300, event_id=msg_id, event_type="response.completed")
