"""Finch: finch-event-id / finch-timestamp / finch-signature "v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>",
keyed by the base64-decoded webhook secret (https://developer.tryfinch.com/developer-resources/Webhooks).
Built from those docs; the finch-api SDK's client.webhooks.verify_signature must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import write
from finch import Finch

secret = base64.b64encode(b"finch-hookline-test-webhook-key!").decode()
body = json.dumps({"account_id": "8c8a6d3e-7d4a-4b6e-9f32-1b2c3d4e5f60", "company_id": "514aa2b7-898f-4ce7",
                   "event_type": "job.data_sync_all.completed",
                   "data": {"job_id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b", "job_url": "https://api.tryfinch.com/jobs/x"}},
                  separators=(",", ":"))
msg_id = "evt_01JEHRB3N4M5P6Q7R8S9T0V1W2"
t = str(int(time.time()))
sig = base64.b64encode(hmac.new(base64.b64decode(secret), f"{msg_id}.{t}.{body}".encode(),
                                hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "finch-event-id": msg_id, "finch-timestamp": t,
           "finch-signature": f"v1,{sig}"}
client = Finch(access_token="not-used")  # noqa: S106 - verify_signature makes no API call
client.webhooks.verify_signature(body, headers, secret=secret)  # raises when it is refused
write("finch", sdk="finch-api", accepted_by="client.webhooks.verify_signature accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(t), signature=sig,
      signature_in="finch-signature", timestamp=t, timestamp_in="finch-timestamp", timestamp_format="unix",
      tolerance_seconds=300, event_id=msg_id, event_type="job.data_sync_all.completed")
