"""Webhook signature schemes: verify incoming requests, sign outgoing ones, name events.

Pure functions over bytes and header maps (no AWS, no HTTP), so the ingress handler,
`hookline send` and the delivery signer share one implementation of each scheme.
Every scheme is HMAC-SHA256; signatures are decoded to raw bytes before a constant-time
compare, so hex case and base64 spelling never matter and nothing leaks through timing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jmespath
from jmespath.exceptions import JMESPathError

from hookline.core.signing import (
    SW_ID,
    SW_SIGNATURE,
    SW_TIMESTAMP,
    any_match,
    body_digest,
    mac,
    sign_standard_webhooks,
    standard_webhooks_key,
)

if TYPE_CHECKING:
    from hookline.core.config import VerifyConfig

GITHUB_SIGNATURE = "X-Hub-Signature-256"
GITHUB_DELIVERY = "X-GitHub-Delivery"
GITHUB_EVENT = "X-GitHub-Event"
STRIPE_SIGNATURE = "Stripe-Signature"
SHOPIFY_HMAC = "X-Shopify-Hmac-Sha256"
SHOPIFY_EVENT_ID = "X-Shopify-Event-Id"
SHOPIFY_WEBHOOK_ID = "X-Shopify-Webhook-Id"
SHOPIFY_TOPIC = "X-Shopify-Topic"

# Event ids key DynamoDB items and appear in the Idempotency-Key header: keep them short
# and printable; anything else is replaced by its hash (still stable, still unique).
MAX_ID_LENGTH = 200
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DIGEST_SIZE = hashlib.sha256().digest_size


class SignatureError(Exception):
    """Why a request was rejected. Safe to return in a 401: names headers, never secrets."""


class SourceMisconfigured(SignatureError):
    """The source cannot verify anything (no usable secret, no header): logged, never told to the caller."""


# ---------------------------------------------------------------- helpers


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    # Callers pass lower-cased names; lowering again costs nothing and forgives a slip.
    return {k.lower(): v for k, v in headers.items()}


def _header(h: Mapping[str, str], name: str) -> str:
    value = (h.get(name.lower()) or "").strip()
    if not value:
        raise SignatureError(f"missing header {name}")
    return value


def _unhex(text: str) -> bytes | None:
    return bytes.fromhex(text) if _HEX_SHA256.fullmatch(text) else None


def _unb64(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _DIGEST_SIZE else None


def _timestamp(value: str, header: str) -> int:
    if not _UNIX_SECONDS.fullmatch(value):
        raise SignatureError(f"malformed {header} header: expected unix seconds")
    return int(value)


def _within_tolerance(ts: int, tolerance: int, now: float | None, header: str) -> None:
    # Both directions: a far-future timestamp would otherwise stay replayable for longer.
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance:
        raise SignatureError(f"timestamp {ts} is outside the {tolerance} s tolerance ({header})")


def _utf8_keys(secrets: list[str]) -> list[bytes]:
    # An empty secret (an unset variable) would make every sender's HMAC "valid": never use it.
    return [s.encode() for s in secrets if s]


def _require_match(expected: list[bytes], given: list[bytes], header: str) -> None:
    if not expected:
        raise SourceMisconfigured("no usable secret is configured for this source")
    if not any_match(expected, given):
        raise SignatureError(f"signature does not match ({header})")


# ---------------------------------------------------------------- verification per scheme


def _verify_github(cfg: VerifyConfig, secrets: list[str], h: dict[str, str], body: bytes,
                   now: float | None) -> None:
    value = _header(h, GITHUB_SIGNATURE)
    algo, _, hexsig = value.partition("=")
    sig = _unhex(hexsig) if algo.lower() == "sha256" else None
    if sig is None:
        raise SignatureError(f"malformed {GITHUB_SIGNATURE} header: expected sha256=<hex>")
    _require_match([mac(k, body) for k in _utf8_keys(secrets)], [sig], GITHUB_SIGNATURE)


def _verify_stripe(cfg: VerifyConfig, secrets: list[str], h: dict[str, str], body: bytes,
                   now: float | None) -> None:
    value = _header(h, STRIPE_SIGNATURE)
    malformed = SignatureError(f"malformed {STRIPE_SIGNATURE} header: expected t=<unix>,v1=<hex>")
    stamps: list[str] = []
    sigs: list[bytes] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, val = item.partition("=")
        if not sep:
            raise malformed
        if key == "t":
            stamps.append(val)
        elif key == "v1":
            sig = _unhex(val)
            if sig is None:
                raise malformed
            sigs.append(sig)
        # Other schemes (v0 is Stripe's test-mode legacy) are ignored, as Stripe's own SDKs do.
    if len(stamps) != 1 or not sigs or not _UNIX_SECONDS.fullmatch(stamps[0]):
        raise malformed
    ts = int(stamps[0])
    signed = f"{ts}.".encode() + body
    _require_match([mac(k, signed) for k in _utf8_keys(secrets)], sigs, STRIPE_SIGNATURE)
    _within_tolerance(ts, cfg.tolerance_seconds, now, STRIPE_SIGNATURE)


def _verify_shopify(cfg: VerifyConfig, secrets: list[str], h: dict[str, str], body: bytes,
                    now: float | None) -> None:
    sig = _unb64(_header(h, SHOPIFY_HMAC))
    if sig is None:
        raise SignatureError(f"malformed {SHOPIFY_HMAC} header: expected base64 of a SHA-256 HMAC")
    _require_match([mac(k, body) for k in _utf8_keys(secrets)], [sig], SHOPIFY_HMAC)


def _verify_standard_webhooks(cfg: VerifyConfig, secrets: list[str], h: dict[str, str], body: bytes,
                              now: float | None) -> None:
    msg_id = _header(h, SW_ID)
    ts = _timestamp(_header(h, SW_TIMESTAMP), SW_TIMESTAMP)
    sigs: list[bytes] = []
    for entry in _header(h, SW_SIGNATURE).split():
        version, sep, encoded = entry.partition(",")
        if not sep:
            raise SignatureError(f"malformed {SW_SIGNATURE} header: expected v1,<base64> [v1,<base64> ...]")
        if version != "v1":
            continue  # v1a (asymmetric) and future versions: not ours to check
        sig = _unb64(encoded)
        if sig is None:
            raise SignatureError(f"malformed {SW_SIGNATURE} header: v1 signature is not base64 of 32 bytes")
        sigs.append(sig)
    if not sigs:
        raise SignatureError(f"{SW_SIGNATURE} header has no v1 signature (v1,<base64>)")
    signed = f"{msg_id}.{ts}.".encode() + body
    keys = [k for k in map(standard_webhooks_key, secrets) if k]
    _require_match([mac(k, signed) for k in keys], sigs, SW_SIGNATURE)
    _within_tolerance(ts, cfg.tolerance_seconds, now, SW_TIMESTAMP)


def _verify_hmac(cfg: VerifyConfig, secrets: list[str], h: dict[str, str], body: bytes,
                 now: float | None) -> None:
    if not cfg.header:
        # `hookline validate` reports this; refuse rather than accept unsigned requests.
        raise SourceMisconfigured("this source has no signature header configured")
    value = _header(h, cfg.header)
    expected_form = f"{cfg.prefix}<{cfg.encoding}>"
    if not value.lower().startswith(cfg.prefix.lower()):
        raise SignatureError(f"malformed {cfg.header} header: expected {expected_form}")
    encoded = value[len(cfg.prefix):].strip()
    sig = _unhex(encoded) if cfg.encoding == "hex" else _unb64(encoded)
    if sig is None:
        raise SignatureError(f"malformed {cfg.header} header: expected {expected_form}")
    _require_match([mac(k, body) for k in _utf8_keys(secrets)], [sig], cfg.header)


_VERIFIERS = {
    "github": _verify_github,
    "stripe": _verify_stripe,
    "shopify": _verify_shopify,
    "standard-webhooks": _verify_standard_webhooks,
    "hmac-sha256": _verify_hmac,
}


def verify(verify_cfg: VerifyConfig, secrets: list[str], headers: Mapping[str, str], body: bytes,
           *, now: float | None = None) -> None:
    """Raise SignatureError unless `body` carries a valid signature made with one of `secrets`."""
    _VERIFIERS[verify_cfg.scheme](verify_cfg, secrets, _lower(headers), body, now)


# ---------------------------------------------------------------- event id and type


@lru_cache(maxsize=256)
def _compiled(expr: str) -> Any:
    return jmespath.compile(expr)


def _search(expr: str, data: object) -> object:
    try:
        return _compiled(expr).search(data)
    except JMESPathError:  # invalid expressions are reported by `hookline validate`
        return None


def _field(data: object, key: str) -> object:
    return data.get(key) if isinstance(data, dict) else None


def _text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _id_candidates(cfg: VerifyConfig, h: dict[str, str], parsed_body: object) -> Iterator[tuple[object, bool]]:
    """(candidate id, whether the signature covers it), in order of preference."""
    if cfg.id_header:
        # Only standard-webhooks signs a header (webhook-id); every other header can be rewritten.
        yield h.get(cfg.id_header.lower()), cfg.scheme == "standard-webhooks" and cfg.id_header.lower() == SW_ID
    if cfg.id_path:
        yield _search(cfg.id_path, parsed_body), True
    if cfg.scheme == "github":
        yield h.get(GITHUB_DELIVERY.lower()), False
    elif cfg.scheme == "stripe":
        yield _field(parsed_body, "id"), True
    elif cfg.scheme == "shopify":
        yield h.get(SHOPIFY_EVENT_ID.lower()), False
        yield h.get(SHOPIFY_WEBHOOK_ID.lower()), False
    elif cfg.scheme == "standard-webhooks":
        yield h.get(SW_ID), True


def identify(verify_cfg: VerifyConfig, headers: Mapping[str, str], body: bytes,
             parsed_body: object) -> tuple[str, bool]:
    """The event id and whether the signature covers it (a body field, webhook-id, the body's hash)."""
    for candidate, signed in _id_candidates(verify_cfg, _lower(headers), parsed_body):
        value = _text(candidate)
        if value is None:
            continue
        if len(value) > MAX_ID_LENGTH or not _PRINTABLE.fullmatch(value):
            return "sha256:" + hashlib.sha256(value.encode()).hexdigest(), signed
        return value, signed
    return body_digest(body), True


def event_id(verify_cfg: VerifyConfig, headers: Mapping[str, str], body: bytes, parsed_body: object) -> str:
    """The idempotency key: configured override, else the scheme's id, else the body's SHA-256."""
    return identify(verify_cfg, headers, body, parsed_body)[0]


def timestamped(verify_cfg: VerifyConfig) -> bool:
    """The signed bytes include a timestamp checked against `tolerance_seconds`: a capture expires."""
    return verify_cfg.scheme in ("stripe", "standard-webhooks")


def event_type(verify_cfg: VerifyConfig, headers: Mapping[str, str], parsed_body: object) -> str | None:
    h = _lower(headers)
    candidates: list[object] = []
    if verify_cfg.type_header:
        candidates.append(h.get(verify_cfg.type_header.lower()))
    if verify_cfg.type_path:
        candidates.append(_search(verify_cfg.type_path, parsed_body))
    if verify_cfg.scheme == "github":
        candidates.append(h.get(GITHUB_EVENT.lower()))
    elif verify_cfg.scheme == "shopify":
        candidates.append(h.get(SHOPIFY_TOPIC.lower()))
    elif verify_cfg.scheme in ("stripe", "standard-webhooks"):
        candidates.append(_field(parsed_body, "type"))
    for candidate in candidates:
        value = _text(candidate)
        if value is not None:
            return value[:MAX_ID_LENGTH]
    return None


# ---------------------------------------------------------------- signing (senders, tests, delivery)


def sign(verify_cfg: VerifyConfig, secret: str, body: bytes, *, now: float | None = None,
         msg_id: str | None = None) -> dict[str, str]:
    """The headers a sender of `verify_cfg.scheme` would attach to `body`."""
    if not secret:
        raise ValueError("cannot sign with an empty secret")
    ts = int(time.time() if now is None else now)
    key = secret.encode()
    scheme = verify_cfg.scheme
    headers: dict[str, str]
    if scheme == "github":
        headers = {GITHUB_SIGNATURE: "sha256=" + mac(key, body).hex()}
        if msg_id:
            headers[GITHUB_DELIVERY] = msg_id
    elif scheme == "stripe":
        headers = {STRIPE_SIGNATURE: f"t={ts},v1={mac(key, f'{ts}.'.encode() + body).hex()}"}
    elif scheme == "shopify":
        headers = {SHOPIFY_HMAC: base64.b64encode(mac(key, body)).decode()}
        if msg_id:
            headers[SHOPIFY_WEBHOOK_ID] = msg_id
    elif scheme == "standard-webhooks":
        headers = sign_standard_webhooks(secret, msg_id or f"msg_{uuid.uuid4().hex}", ts, body)
    else:
        if not verify_cfg.header:
            raise ValueError("hmac-sha256 needs verify.header to know where the signature goes")
        digest = mac(key, body)
        encoded = digest.hex() if verify_cfg.encoding == "hex" else base64.b64encode(digest).decode()
        headers = {verify_cfg.header: verify_cfg.prefix + encoded}
    if msg_id and verify_cfg.id_header:
        headers[verify_cfg.id_header] = msg_id
    return headers
