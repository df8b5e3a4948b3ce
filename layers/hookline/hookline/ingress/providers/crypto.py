"""Signature algorithms: HMAC and token compare in the standard library; public keys through `cryptography`,
imported only when an entry that needs it is used (it is not on the GitHub path's cold start)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache
from typing import Any

_HMAC = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256, "hmac-sha512": hashlib.sha512}


class BadKey(ValueError):
    """A configured secret or key that cannot be used as this entry's key (an operator's problem)."""


def decode(text: str, encoding: str) -> bytes | None:
    """The signature's bytes, or None when the text is not in the entry's encoding."""
    text = text.strip()
    try:
        if encoding == "hex":
            return bytes.fromhex(text) if text else None
        if encoding == "base64url":
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if text else None
        return base64.b64decode(text, validate=True) if text else None
    except (binascii.Error, ValueError):
        return None


def encode(raw: bytes, encoding: str) -> str:
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return base64.b64encode(raw).decode()


def symmetric_key(secret: str, mode: str) -> bytes | None:
    """The HMAC key of a configured secret; None for an empty or undecodable one (never "any signature")."""
    if not secret:
        return None
    if mode == "utf8":
        return secret.encode()
    text = secret.removeprefix("whsec_") if mode == "whsec" else secret
    if mode == "hex":
        try:
            return bytes.fromhex(text) or None
        except ValueError:
            return None
    text = text.strip().rstrip("=")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True) or None
    except (binascii.Error, ValueError):
        return None


def hmac_digest(algorithm: str, key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, _HMAC[algorithm]).digest()


def matches(algorithm: str, keys: list[Any], content: bytes, signatures: list[bytes]) -> bool:
    """Whether any signature verifies under any key. HMAC pairs are all compared in constant time."""
    if algorithm in _HMAC:
        matched = False
        for key in keys:
            expected = hmac_digest(algorithm, key, content)
            for sig in signatures:
                matched |= hmac.compare_digest(expected, sig)
        return matched
    return any(_verify_public(algorithm, key, content, sig) for key in keys for sig in signatures)


# ---------------------------------------------------------------- public keys


@lru_cache(maxsize=64)
def public_key(algorithm: str, secret: str, mode: str) -> Any:
    """A public key object from a configured secret (PEM key or certificate, raw hex, base64 DER/raw)."""
    # lazy: cryptography's key types cost ~260 ms of import (measured); only public-key entries use them.
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    try:
        if mode == "pem":
            data = secret.strip().encode()
            if b"CERTIFICATE" in data:
                return x509.load_pem_x509_certificate(data).public_key()
            return serialization.load_pem_public_key(data)
        raw = bytes.fromhex(secret.strip()) if mode == "hex" else base64.b64decode(secret.strip(), validate=True)
        if algorithm == "ed25519" and len(raw) == 32:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        return serialization.load_der_public_key(raw)
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as e:
        raise BadKey(f"the configured key is not a {mode} public key for {algorithm}: {type(e).__name__}") from None


def _verify_public(algorithm: str, key: Any, content: bytes, sig: bytes) -> bool:
    # lazy: as public_key's (~260 ms of import for entries that never use it).
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        if algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, content)
        elif algorithm == "ecdsa-p256-sha256" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(_der_ecdsa(sig), content, ec.ECDSA(hashes.SHA256()))
        elif algorithm in ("rsa-sha256", "rsa-sha1") and isinstance(key, rsa.RSAPublicKey):
            digest = hashes.SHA256() if algorithm == "rsa-sha256" else hashes.SHA1()  # noqa: S303  # nosec B303 - the provider's algorithm
            key.verify(sig, content, padding.PKCS1v15(), digest)
        else:
            return False  # a key of another type never verifies
    except (InvalidSignature, ValueError):
        return False
    return True


def _der_ecdsa(sig: bytes) -> bytes:
    """ECDSA signatures come DER-encoded or as raw r||s (64 bytes for P-256, as JWS and some providers send)."""
    if len(sig) != 64:
        return sig
    # lazy: as public_key's.
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    return encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))


def sign_private(algorithm: str, private_pem: str, content: bytes) -> bytes:
    """Sign as a provider that holds the private key (`hookline send --provider` with a PEM private key)."""
    # lazy: as public_key's.
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(content)
    if algorithm == "ecdsa-p256-sha256" and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(content, ec.ECDSA(hashes.SHA256()))
    if algorithm in ("rsa-sha256", "rsa-sha1") and isinstance(key, rsa.RSAPrivateKey):
        digest = hashes.SHA256() if algorithm == "rsa-sha256" else hashes.SHA1()  # noqa: S303  # nosec B303 - the provider's algorithm
        return key.sign(content, padding.PKCS1v15(), digest)
    raise ValueError(f"the private key is not a {algorithm} key")
