"""Signing primitives shared by ingress (verifying senders) and delivery (signing to destinations).

Every comparison of a computed signature with a given one is constant-time (`any_match`), and the
Standard Webhooks scheme (https://www.standardwebhooks.com) is here once: the key of a
`whsec_<base64>` secret and the `webhook-*` headers of a signed message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SW_ID, SW_TIMESTAMP, SW_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under `key`."""
    return hmac.new(key, message, hashlib.sha256).digest()


def any_match(expected: list[bytes], given: list[bytes]) -> bool:
    """Whether any given signature equals any expected one. Every pair is compared in constant time and
    none is skipped, so the time taken tells nothing of which secret or signature came close."""
    matched = False
    for e in expected:
        for g in given:
            matched |= hmac.compare_digest(e, g)
    return matched


def standard_webhooks_key(secret: str) -> bytes | None:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional; padding too)."""
    text = secret.removeprefix("whsec_").rstrip("=")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def sign_standard_webhooks(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers for `body`; `secret` is `whsec_<base64>` (prefix optional)."""
    key = standard_webhooks_key(secret)
    if key is None:
        raise ValueError("standard-webhooks secret must be whsec_<base64> (non-empty key)")
    signature = base64.b64encode(mac(key, f"{msg_id}.{timestamp}.".encode() + body)).decode()
    return {SW_ID: msg_id, SW_TIMESTAMP: str(timestamp), SW_SIGNATURE: f"v1,{signature}"}


def body_digest(body: bytes) -> str:
    """The identity of a body's exact bytes: the event id of last resort, and what the replay guard keeps."""
    return "sha256:" + hashlib.sha256(body).hexdigest()
