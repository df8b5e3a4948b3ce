"""Box: BOX-SIGNATURE-PRIMARY = base64 HMAC-SHA256 of the body followed by BOX-DELIVERY-TIMESTAMP, keyed
with the app's primary signature key; BOX-SIGNATURE-VERSION 1, BOX-SIGNATURE-ALGORITHM HmacSHA256; the
delivery must be at most 10 minutes old (https://developer.box.com/guides/webhooks/v2/signatures-v2/).
box-sdk-gen's WebhooksManager.validate_message must accept it, or nothing is written."""

import base64
import datetime as dt
import hashlib
import hmac
import json

from _vector import write
from box_sdk_gen.managers.webhooks import WebhooksManager

primary = "SamplePrimaryKeyHooklineTest1234"
body = json.dumps({"type": "webhook_event", "id": "6a8e8a1b-5bd6-4d6b-9b04-fc0d3b0c4a47",
                   "created_at": "2026-12-06T06:00:00-08:00", "trigger": "FILE.UPLOADED",
                   "webhook": {"id": "1234567890", "type": "webhook"},
                   "source": {"id": "123456789", "type": "file", "name": "Contract.pdf"}},
                  separators=(",", ":"))
now = dt.datetime.now(dt.UTC).replace(microsecond=0)
stamp = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
changed = (now + dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
sig = base64.b64encode(hmac.new(primary.encode(), body.encode() + stamp.encode(), hashlib.sha256).digest()).decode()
headers = {"content-type": "application/json", "box-delivery-id": "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
           "box-delivery-timestamp": stamp, "box-signature-algorithm": "HmacSHA256",
           "box-signature-primary": sig, "box-signature-version": "1"}
if not WebhooksManager.validate_message(body, headers, primary):
    raise SystemExit("box-sdk-gen's validate_message rejected it")
write("box", sdk="box-sdk-gen", accepted_by="WebhooksManager.validate_message accepted it",
      secret=primary, method="POST", headers=headers, body=body, now=int(now.timestamp()),
      signature=sig, signature_in="box-signature-primary",
      timestamp=stamp, timestamp_in="box-delivery-timestamp", timestamp_format="iso8601",
      timestamp_changed=changed, tolerance_seconds=600,
      event_id="f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f", event_type="FILE.UPLOADED")
