"""The OAuth2 JWT-bearer grant (RFC 7523 §2.1): a signed assertion exchanged for an access token.

Salesforce's server-to-server flow and Google service accounts work this way: the client signs
a short-lived JWT with its private key (`iss` who asks, `sub` for whom, `aud` the token
endpoint, `exp`), and POSTs it as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
with `assertion=<jwt>`. core/oauth.py's TokenCache sends it and caches the token exactly as it
does client-credentials tokens (refresh on 401, one fetch for concurrent deliveries).

PyJWT signs (with `cryptography`); the key comes from a secret reference (Secrets Manager in
production). A key that cannot be read or used is `TokenKeyError`: a configuration problem,
dead-lettered as `config` at once, since retrying cannot make a PEM valid.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from hookline.core.config import OAuth2Config

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenKeyError(Exception):
    """The assertion's private key is not a usable PEM key (safe to log: names the reference only)."""


def assertion_claims(cfg: OAuth2Config, now: float) -> dict[str, Any]:
    issued = int(now)
    claims: dict[str, Any] = {
        "iss": cfg.issuer or cfg.client_id,
        # Google wants the token URL itself; Salesforce its login host (set `audience`).
        "aud": cfg.audience or cfg.token_url,
        "iat": issued,
        "exp": issued + cfg.assertion_lifetime_seconds,
        "jti": uuid.uuid4().hex,  # some servers refuse a replayed assertion
    }
    if cfg.subject:
        claims["sub"] = cfg.subject
    if cfg.scope:
        claims["scope"] = cfg.scope  # Google reads the scopes from the assertion, not the form
    return claims


def sign_assertion(cfg: OAuth2Config, private_key_pem: str, now: float) -> str:
    """The signed assertion for `cfg` at wall-clock time `now` (raises TokenKeyError)."""
    # lazy: jwt and cryptography (~60 ms) load only for destinations that use this grant.
    import jwt

    headers = {"kid": cfg.key_id} if cfg.key_id else None
    try:
        return jwt.encode(assertion_claims(cfg, now), _pem(private_key_pem), algorithm=cfg.algorithm,
                          headers=headers)
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as e:
        # cryptography's messages describe the key's format, never its bytes.
        raise TokenKeyError(f"oauth2.private_key {cfg.private_key} cannot sign a {cfg.algorithm} assertion "
                            f"({type(e).__name__}): store the PEM private key (-----BEGIN PRIVATE KEY-----...) "
                            "that matches the algorithm") from None


def _pem(text: str) -> str:
    # A Google service-account JSON file stored whole: its private_key field is the PEM.
    if text.lstrip().startswith("{"):
        try:
            return str(json.loads(text)["private_key"])
        except (ValueError, KeyError, TypeError):
            return text
    return text
