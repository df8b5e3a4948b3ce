"""Pusher Channels: X-Pusher-Key names the app key, X-Pusher-Signature is the hex HMAC-SHA256 of the body
with the app secret (https://pusher.com/docs/channels/server_api/webhooks/); the body's time_ms must be
within 5 minutes. The pusher SDK's validate_webhook must accept it, or nothing is written."""

import hashlib
import hmac
import json
import time

import pusher
from _vector import write

key, secret = "a1b2c3d4e5f60718293a", "pusher-hookline-test-app-secret"
t = int(time.time() * 1000)
body = json.dumps({"time_ms": t, "events": [{"name": "channel_occupied", "channel": "presence-room-1"}]},
                  separators=(",", ":"))
sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
client = pusher.Pusher(app_id="1", key=key, secret=secret, cluster="eu")
if client.validate_webhook(key=key, signature=sig, body=body) is None:
    raise SystemExit("pusher's validate_webhook rejected it")
write("pusher", sdk="pusher", accepted_by="Pusher.validate_webhook accepted it",
      secret=secret, method="POST",
      headers={"content-type": "application/json", "x-pusher-key": key, "x-pusher-signature": sig},
      body=body, now=t // 1000, signature=sig, signature_in="x-pusher-signature",
      timestamp=str(t), timestamp_in="body", timestamp_format="unix-ms", tolerance_seconds=300,
      event_id=None, event_type="channel_occupied")
