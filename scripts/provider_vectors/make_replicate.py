"""Replicate: Standard Webhooks headers webhook-id / webhook-timestamp / webhook-signature "v1,<base64 HMAC-SHA256
of '<id>.<timestamp>.<body>'>", keyed by the base64 after "whsec_" (https://replicate.com/docs/topics/webhooks/verify-webhook).
Built from those docs; the replicate SDK's Webhooks.validate must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import write
from replicate.webhook import Webhooks, WebhookSigningSecret

secret = "whsec_" + base64.b64encode(b"replicate-hookline-test-key-0123").decode()
body = json.dumps({"id": "ufawqhfynnddngldkgtslldrkq", "model": "replicate/hello-world",
                   "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
                   "input": {"text": "Alice"}, "output": "hello Alice", "status": "succeeded",
                   "created_at": "2026-12-06T06:00:00.000Z"}, separators=(",", ":"))
msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
t = str(int(time.time()))
sig = base64.b64encode(hmac.new(base64.b64decode(secret.removeprefix("whsec_")), f"{msg_id}.{t}.{body}".encode(),
                                hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": t,
           "webhook-signature": f"v1,{sig}"}
Webhooks.validate(headers=headers, body=body, secret=WebhookSigningSecret(key=secret), tolerance=300)  # raises
write("replicate", sdk="replicate", accepted_by="Webhooks.validate accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(t), signature=sig,
      signature_in="webhook-signature", timestamp=t, timestamp_in="webhook-timestamp", timestamp_format="unix",
      tolerance_seconds=300, event_id=msg_id, event_type="succeeded")
