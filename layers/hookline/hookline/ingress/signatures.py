"""`verify: {scheme: ...}` sources: verified, identified and signed.

A scheme is the catalog entry of its name (ingress/providers/catalog/<scheme>.toml), run by the provider
engine, with the source's fields as overrides: one implementation of each scheme for ingress and
`hookline map try`. `sign` is the senders' side (`hookline send`, tests), kept by hand: a test of a
scheme proves the engine with the provider's SDK or published example, never with this signer.
The engine loads on the first verification, not with this module (ingress's cold start).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from hookline.core.signing import body_digest, mac, sign_standard_webhooks
from hookline.ingress import providers  # the package: its engine modules load on first use (see __init__)
from hookline.ingress.providers.request import Request

if TYPE_CHECKING:
    from hookline.core.config import VerifyConfig
    from hookline.ingress.providers.compile import Provider
    from hookline.ingress.providers.engine import Verified

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


class SignatureError(Exception):
    """Why a request was rejected. Safe to return in a 401: names headers, never secrets."""


class SourceMisconfigured(SignatureError):
    """The source cannot verify anything (no usable secret, no header): logged, never told to the caller."""


# ---------------------------------------------------------------- verification: `verify:` is a catalog entry


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    # Callers pass lower-cased names; lowering again costs nothing and forgives a slip.
    return {k.lower(): v for k, v in headers.items()}


@lru_cache(maxsize=64)
def _hmac_entry(header: str, prefix: str, encoding: str) -> Provider:
    return replace(providers.load("hmac-sha256"), header=header, prefix=prefix, encoding=encoding)


def entry_for(cfg: VerifyConfig) -> Provider:
    """The catalog entry `verify: {scheme: X}` is read as: entry X, and for hmac-sha256 the source's own
    header, prefix and encoding (the other schemes ignore those fields, as they always have)."""
    if cfg.scheme != "hmac-sha256":
        return providers.load(cfg.scheme)
    if not cfg.header:
        # `hookline validate` reports this; refuse rather than accept unsigned requests.
        raise SourceMisconfigured("this source has no signature header configured")
    return _hmac_entry(cfg.header, cfg.prefix, cfg.encoding)


def check(cfg: VerifyConfig, secrets: list[str], request: Request, *, now: float, describe: bool = True) -> Verified:
    """Verify `request` as the source's `verify:` says (SignatureError if not) and read its event id and type:
    the source's id_header/id_path (type_header/type_path) first, then the scheme's own. `describe=False`:
    no id or type (ingress reads them over the body its `format` parsed: one parse per request)."""
    return providers.verify(entry_for(cfg), secrets, request, now=now, tolerance_seconds=cfg.tolerance_seconds,
                            id_header=cfg.id_header, id_path=cfg.id_path, type_header=cfg.type_header,
                            type_path=cfg.type_path, describe=describe)


def verify(verify_cfg: VerifyConfig, secrets: list[str], headers: Mapping[str, str], body: bytes,
           *, now: float | None = None) -> None:
    """Raise SignatureError unless `body` carries a valid signature made with one of `secrets`."""
    check(verify_cfg, secrets, Request(headers=_lower(headers), body=body), now=time.time() if now is None else now)


def _described(cfg: VerifyConfig, headers: Mapping[str, str], body: bytes, parsed_body: object) -> Verified:
    # Where the id and type are does not depend on where the signature is: no header needed here.
    return providers.identify(providers.load(cfg.scheme), Request(headers=_lower(headers), body=body),
                              id_header=cfg.id_header, id_path=cfg.id_path, type_header=cfg.type_header,
                              type_path=cfg.type_path, parsed_body=parsed_body)


def identify(verify_cfg: VerifyConfig, headers: Mapping[str, str], body: bytes,
             parsed_body: object) -> tuple[str, bool]:
    """The event id and whether the signature covers it (a body field, webhook-id, the body's hash)."""
    found = _described(verify_cfg, headers, body, parsed_body)
    return (found.event_id, found.id_signed) if found.event_id else (body_digest(body), True)


def event_id(verify_cfg: VerifyConfig, headers: Mapping[str, str], body: bytes, parsed_body: object) -> str:
    """The idempotency key: configured override, else the scheme's id, else the body's SHA-256."""
    return identify(verify_cfg, headers, body, parsed_body)[0]


def timestamped(verify_cfg: VerifyConfig) -> bool:
    """The signed bytes include a timestamp checked against `tolerance_seconds`: a capture expires."""
    return providers.signs_timestamp(providers.load(verify_cfg.scheme))


def event_type(verify_cfg: VerifyConfig, headers: Mapping[str, str], parsed_body: object) -> str | None:
    """The event type: the source's type_header/type_path, else the scheme's (a header or the body's `type`)."""
    return _described(verify_cfg, headers, b"", parsed_body).event_type


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
