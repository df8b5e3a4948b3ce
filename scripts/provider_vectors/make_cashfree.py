"""Cashfree Payments: x-webhook-signature = base64 HMAC-SHA256 of x-webhook-timestamp + the raw body, keyed by
the client secret (https://www.cashfree.com/docs/payments/online/webhooks/signature-verification). Built from
those docs; cashfree_pg's Cashfree.PGVerifyWebhookSignature must accept it, or nothing is written."""

import base64
import hashlib
import hmac
import json
import time

from _vector import write
from cashfree_pg.api_client import Cashfree

secret = "cfsk_ma_test_hookline_client_secret"  # noqa: S105 - a test vector's secret
body = json.dumps({"data": {"order": {"order_id": "order_OFR_2", "order_amount": 2, "order_currency": "INR"},
                            "payment": {"cf_payment_id": 1453002795, "payment_status": "SUCCESS"}},
                   "event_time": "2026-12-06T11:30:00+05:30", "type": "PAYMENT_SUCCESS_WEBHOOK"},
                  separators=(",", ":"))
t = str(int(time.time() * 1000))
sig = base64.b64encode(hmac.new(secret.encode(), (t + body).encode(), hashlib.sha256).digest()).decode()
event = Cashfree(XEnvironment=Cashfree.SANDBOX, XClientId="test", XClientSecret=secret).PGVerifyWebhookSignature(
    sig, body, t)  # raises when it is refused
assert event.type == "PAYMENT_SUCCESS_WEBHOOK"
write("cashfree", sdk="cashfree_pg", accepted_by="Cashfree.PGVerifyWebhookSignature accepted it",
      secret=secret, method="POST",
      headers={"content-type": "application/json", "x-webhook-signature": sig, "x-webhook-timestamp": t,
               "x-webhook-version": "2023-08-01"},
      body=body, now=int(t) // 1000, signature=sig, signature_in="x-webhook-signature", timestamp=t,
      timestamp_in="x-webhook-timestamp", timestamp_format="unix-ms", tolerance_seconds=300,
      event_id=None, event_type="PAYMENT_SUCCESS_WEBHOOK")
