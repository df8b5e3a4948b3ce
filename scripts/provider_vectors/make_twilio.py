"""Twilio: X-Twilio-Signature = base64 HMAC-SHA1(Auth Token, URL + each POST parameter sorted by name, name+value).

Signed by the twilio SDK's own RequestValidator.compute_signature and checked with its validate
(https://www.twilio.com/docs/usage/webhooks/webhooks-security). Run in a throwaway venv (twilio pulls in
aiohttp): see _vector.py.
"""

import time
from urllib.parse import urlencode

from _vector import write
from twilio.request_validator import RequestValidator

token = "12345678901234567890123456789012"  # noqa: S105 (a test Auth Token: 32 hex characters)
url = "https://hooks.example.com/webhooks/twilio?channel=sms"
params = {
    "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "AccountSid": "AC9a9f9392lad99kla0sklakjs90j092j3",
    "From": "+14155551234",
    "To": "+15005550006",
    "Body": "Caf\u00e9 at 5? (yes & no = maybe)",
    "NumMedia": "0",
}
validator = RequestValidator(token)
signature = validator.compute_signature(url, params)
assert validator.validate(url, params, signature), "twilio's RequestValidator refused its own signature"
now = int(time.time())
write(
    "twilio", sdk="twilio",
    accepted_by="RequestValidator.compute_signature signed it, RequestValidator.validate accepted it",
    secret=token, method="POST", url=url,
    headers={"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature,
             "i-twilio-idempotency-token": "a2a5a2b1-6c3f-4e55-8d1e-6f0c1f7d9b42"},
    body=urlencode(params), now=now, signature=signature, signature_in="x-twilio-signature",
    event_id="a2a5a2b1-6c3f-4e55-8d1e-6f0c1f7d9b42", event_type=None,
)
