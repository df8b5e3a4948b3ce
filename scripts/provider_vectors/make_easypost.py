"""EasyPost: X-Hmac-Signature = "hmac-sha256-hex=" + hex HMAC-SHA256 of the body, keyed by the webhook's secret
(NFKD-normalised) (https://docs.easypost.com/guides/webhooks-guide). Built from those docs; easypost's
util.validate_webhook must accept it, or nothing is written."""

import hashlib
import hmac
import json

from _vector import write
from easypost.util import validate_webhook

secret = "easypost-hookline-test-webhook-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"id": "evt_e1a5e6fa0c8a11ef9c2e3bf7b4d7f1a2", "object": "Event", "mode": "test",
                   "description": "tracker.updated", "status": "completed",
                   "result": {"id": "trk_b0a8e1c1f2d34a44b3e8b4b2e1d0c9f8", "object": "Tracker",
                              "tracking_code": "EZ4000000004", "status": "delivered"},
                   "created_at": "2026-12-06T06:00:00Z"}, separators=(",", ":"))
header = "hmac-sha256-hex=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
assert validate_webhook(body.encode(), {"X-Hmac-Signature": header}, secret)["id"].startswith("evt_")  # raises
write("easypost", sdk="easypost", accepted_by="util.validate_webhook accepted it",
      secret=secret, method="POST", headers={"content-type": "application/json", "x-hmac-signature": header},
      body=body, now=1796537773, signature=header.removeprefix("hmac-sha256-hex="), signature_in="x-hmac-signature",
      event_id="evt_e1a5e6fa0c8a11ef9c2e3bf7b4d7f1a2", event_type="tracker.updated")
