"""Plivo signature V3: X-Plivo-Signature-V3 = base64 HMAC-SHA256(Auth Token, URL '?' sorted POST params '.' nonce).

Signed by the plivo SDK's own plivo.utils.signature_v3 (construct_post_url + get_signature_v3) and checked
with its validate_v3_signature (https://www.plivo.com/docs/messaging/concepts/signature-validation).
Run in a throwaway venv (plivo needs lxml): see _vector.py.
"""

import time
from urllib.parse import urlencode

from _vector import write
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3, validate_v3_signature

token = "ZWRmNDU2ZjJlNjE0YjM3OWE5NTg1ZDA1NDFiOGU4"  # noqa: S105 (a test Auth Token)
url = "https://hooks.example.com/webhooks/plivo"
nonce = "05429567804466091622"
params = {"From": "14155551234", "To": "14155550000", "Text": "hello & caf\u00e9", "Type": "sms",
          "MessageUUID": "2a5e6e5c-92d2-11ee-8c9b-0242ac130003"}
# As validate_v3_signature calls it: the URL decoded to text, so non-ASCII parameters stay UTF-8.
signature = get_signature_v3(token.encode(), construct_post_url(url, dict(params)).decode(), nonce.encode()).decode()
assert validate_v3_signature("POST", url, nonce, token, signature, dict(params)), "plivo refused its own signature"
write(
    "plivo", sdk="plivo",
    accepted_by="signature_v3.get_signature_v3 signed it, validate_v3_signature accepted it",
    secret=token, method="POST", url=url,
    headers={"content-type": "application/x-www-form-urlencoded", "x-plivo-signature-v3": signature,
             "x-plivo-signature-v3-nonce": nonce},
    body=urlencode(params), now=int(time.time()), signature=signature, signature_in="x-plivo-signature-v3",
    event_id=None, event_type=None,
)
