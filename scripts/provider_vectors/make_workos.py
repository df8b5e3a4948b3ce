"""WorkOS: WorkOS-Signature "t=<unix ms>, v1=<hex HMAC-SHA256 of '<t>.<body>'>"
(https://workos.com/docs/events/data-syncing/webhooks). Built from those docs; the workos SDK's
webhooks verify_header must accept it (within its 180 s tolerance), or nothing is written."""

import hashlib
import hmac
import json
import time

from _vector import write
from workos.webhooks._verification import verify_header

secret = "workos-hookline-test-webhook-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"id": "event_01HZ6V4Q7R9ZK8X0DJ4T6WB1AR", "event": "dsync.user.created",
                   "data": {"id": "directory_user_01E1X1B89NH8Z3SDFJR4H7RGX7", "state": "active"},
                   "created_at": "2026-12-06T06:00:00.000Z"}, separators=(",", ":"))
t = str(int(time.time() * 1000))
sig = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
header = f"t={t}, v1={sig}"
verify_header(event_body=body.encode(), event_signature=header, secret=secret, tolerance=180)
write("workos", sdk="workos", accepted_by="workos.webhooks verify_header accepted it",
      secret=secret, method="POST", headers={"content-type": "application/json", "workos-signature": header},
      body=body, now=int(t) // 1000, signature=sig, signature_in="workos-signature",
      timestamp=t, timestamp_in="workos-signature", timestamp_format="unix-ms", tolerance_seconds=180,
      event_id="event_01HZ6V4Q7R9ZK8X0DJ4T6WB1AR", event_type="dsync.user.created")
