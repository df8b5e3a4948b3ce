"""HubSpot v3: X-HubSpot-Signature-v3 = base64 HMAC-SHA256(client secret, method + URL + body + timestamp ms).

Signed by hubspot-api-client's own hubspot.utils.signature.Signature.get_signature and checked with its
is_valid (https://developers.hubspot.com/docs/api/webhooks/validating-requests). Run in a throwaway venv
(the SDK is large): see _vector.py.
"""

import json
import time

from _vector import write
from hubspot.utils.signature import Signature

secret = "f0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b"  # noqa: S105 (a test client secret)
url = "https://hooks.example.com/webhooks/hubspot?portal=62515"
body = json.dumps([{
    "eventId": 1003, "subscriptionId": 2345, "portalId": 62515, "appId": 54321,
    "occurredAt": 1701000000000, "subscriptionType": "contact.creation", "attemptNumber": 0,
    "objectId": 123, "changeFlag": "CREATED", "changeSource": "CRM",
}], separators=(",", ":"))
now_ms = int(time.time() * 1000)
timestamp = str(now_ms)
signature = Signature.get_signature(secret, body, "v3", url, "POST", timestamp)
assert Signature.is_valid(signature, secret, body, url, "POST", "v3", timestamp), "hubspot's SDK refused it"
write(
    "hubspot", sdk="hubspot-api-client",
    accepted_by="Signature.get_signature (v3) signed it, Signature.is_valid (v3) accepted it",
    secret=secret, method="POST", url=url,
    headers={"content-type": "application/json", "x-hubspot-signature-v3": signature,
             "x-hubspot-request-timestamp": timestamp},
    body=body, now=now_ms / 1000, signature=signature, signature_in="x-hubspot-signature-v3",
    timestamp=timestamp, timestamp_in="x-hubspot-request-timestamp", timestamp_format="unix-ms",
    tolerance_seconds=300, event_id=None, event_type="contact.creation",
)
