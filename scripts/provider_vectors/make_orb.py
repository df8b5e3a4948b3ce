"""Orb: X-Orb-Signature "v1=<hex HMAC-SHA256 of 'v1:<X-Orb-Timestamp>:<body>'>", X-Orb-Timestamp an ISO 8601
time (https://docs.withorb.com/integrations-and-exports/webhooks). Built from those docs; the orb-billing SDK's
client.webhooks.verify_signature must accept it (within its 5 minutes), or nothing is written."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

from _vector import write
from orb import Orb

secret = "orb-hookline-test-webhook-secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"id": "G6ydUmbJtvvDmxQ7", "created_at": "2026-12-06T06:00:00.000000+00:00",
                   "type": "subscription.started", "properties": {},
                   "subscription": {"id": "VDGhyPoDdkD9mmru"}}, separators=(",", ":"))
now = datetime.now(tz=UTC)
ts = now.replace(tzinfo=None).isoformat()  # as Orb sends it: microseconds, no offset (UTC)
sig = hmac.new(secret.encode(), f"v1:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
headers = {"content-type": "application/json", "x-orb-timestamp": ts, "x-orb-signature": f"v1={sig}"}
Orb(api_key="test").webhooks.verify_signature(body, headers, secret=secret)  # raises when it is refused
write("orb", sdk="orb-billing", accepted_by="client.webhooks.verify_signature accepted it",
      secret=secret, method="POST", headers=headers, body=body, now=int(now.timestamp()), signature=sig,
      signature_in="x-orb-signature", timestamp=ts, timestamp_in="x-orb-timestamp", timestamp_format="iso8601",
      signed_at=now.timestamp(), tolerance_seconds=300, event_id="G6ydUmbJtvvDmxQ7",
      event_type="subscription.started")
