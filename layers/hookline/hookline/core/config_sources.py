"""`sources:` in hookline.yaml: how each source's requests are authenticated (a built-in `verify` scheme,
a catalog `provider`, or `auth` for senders that do not sign) and `reconcile`, for webhooks that never came.

Checks that need ingress (a provider's catalog entry, CIDRs, hmac entries) are in ingress/checks.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field, model_validator

from hookline.core.config_base import SecretRef, _Model

SCHEMES = ("github", "stripe", "shopify", "standard-webhooks", "hmac-sha256")


class VerifyConfig(_Model):
    scheme: Literal["github", "stripe", "shopify", "standard-webhooks", "hmac-sha256"]
    secrets: list[SecretRef] = Field(min_length=1)
    tolerance_seconds: int = Field(default=300, ge=1, le=86400)
    # hmac-sha256 only: where the signature is and how it is written.
    header: str | None = None
    prefix: str = ""
    encoding: Literal["hex", "base64"] = "hex"
    # Event id and type for schemes that do not define them (hmac-sha256), or overrides.
    id_header: str | None = None
    id_path: str | None = None
    type_header: str | None = None
    type_path: str | None = None


# Source auth (`sources.x.auth`, ingress/source_auth.py) for senders that do not sign; a list of references is
# rotation: any one of them is accepted. ingress/checks.py checks what needs a capability (CIDRs, hmac entries).
SecretRefs = SecretRef | list[SecretRef]


class SourceBasicAuth(_Model):
    user: SecretRef
    password: SecretRefs


class SourceApiKeyAuth(_Model):
    header: str | None = Field(default=None, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    query: str | None = Field(default=None, min_length=1)
    value: SecretRefs

    @model_validator(mode="after")
    def _one_place(self) -> SourceApiKeyAuth:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of header: NAME or query: NAME")
        return self


class SourceJwtAuth(_Model):
    jwks_url: str
    issuer: str | list[str]
    audience: str | list[str]
    algorithms: list[Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
                             "EdDSA"]] = Field(default_factory=lambda: ["RS256"], min_length=1)
    header: str = "Authorization"
    prefix: str = "Bearer "
    claims: dict[str, str | bool] | None = None  # exact values required (Pub/Sub: email, email_verified)
    body_sha256_claim: str | None = None  # a claim holding the body's hex SHA-256 (Plaid: request_body_sha256)
    max_age_seconds: int | None = Field(default=None, ge=1, le=86400)  # `iat` no older (Plaid: 300)
    leeway_seconds: int = Field(default=60, ge=0, le=600)
    cache_seconds: int = Field(default=3600, ge=60, le=86400)  # how long fetched keys are trusted
    refetch_seconds: int = Field(default=60, ge=1, le=3600)  # at most one fetch per this, for an unknown kid


class SourceHmacAuth(_Model):
    """The catalog's entry tables (docs/providers.md), written under the source."""

    secrets: list[SecretRef] = Field(min_length=1)
    signature: dict[str, Any]
    timestamp: dict[str, Any] | None = None
    id: dict[str, Any] | None = None
    type: dict[str, Any] | None = None


class SourceProviderAuth(_Model):
    name: str
    secrets: list[SecretRef] = Field(min_length=1)
    tolerance_seconds: int | None = Field(default=None, ge=1, le=86400)


class SourceAuthConfig(_Model):
    basic: SourceBasicAuth | None = None
    api_key: SourceApiKeyAuth | None = None
    bearer: SecretRefs | None = None
    jwt: SourceJwtAuth | None = None
    hmac: SourceHmacAuth | None = None
    provider: SourceProviderAuth | None = None
    ip_allowlist: list[str] | None = Field(default=None, min_length=1)  # CIDRs, IPv4 and IPv6
    # A list, not Optional: core/construct.py rebuilds a list of models, not a union with one.
    all_of: list[SourceAuthConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_method(self) -> SourceAuthConfig:
        given = [n for n in SOURCE_AUTH_METHODS if getattr(self, n) not in (None, [])]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SOURCE_AUTH_METHODS)} "
                             f"(got {', '.join(given) or 'none'}); all_of: [...] combines several")
        return self

    @property
    def method(self) -> str:
        return next(n for n in SOURCE_AUTH_METHODS if getattr(self, n) not in (None, []))

    def secret_refs(self) -> list[str]:
        """Every secret reference this auth reads (all_of's included)."""
        m, value = self.method, getattr(self, self.method)
        if m == "all_of":
            return [r for a in value for r in a.secret_refs()]
        fields = {"basic": ("user", "password"), "api_key": ("value",), "hmac": ("secrets",), "provider": ("secrets",)}
        found = [value] if m == "bearer" else [getattr(value, k) for k in fields.get(m, ())]
        return [r for v in found for r in (v if isinstance(v, list) else [v])]


SOURCE_AUTH_METHODS = ("basic", "api_key", "bearer", "jwt", "hmac", "provider", "ip_allowlist", "all_of")


class ReconcileConfig(_Model):
    """`sources.<name>.reconcile`: list the provider's events and deliver those whose webhook never came
    (reconcile/; docs/missed-webhooks.md). Which API is asked follows the source's `provider`."""

    every: str = "1h"
    lookback: str = "3d"
    api_url: str | None = None  # default: the provider's real API (a local fake in tests)
    api_key: SecretRef  # Stripe: a restricted key with read access to events, sent as a Bearer token
    # GitHub: whose deliveries: "app" (/app/hook/deliveries) or "OWNER/REPO/HOOK_ID" (a repository hook's)
    hook: str = "app"
    timeout_seconds: int = Field(default=20, ge=1, le=300)


class SourceConfig(_Model):
    # How requests are authenticated: `verify` (the five built-in schemes) or `provider` (a catalog entry,
    # docs/providers.md) with `secrets` and the optional overrides below.
    verify: VerifyConfig | None = None
    provider: str | None = None
    auth: SourceAuthConfig | None = None  # senders that do not sign (basic, api_key, jwt ...: docs/providers.md)
    secrets: list[SecretRef] | None = None
    tolerance_seconds: int | None = Field(default=None, ge=1, le=86400)
    # The URL the sender signs (Twilio ...) when a custom domain or proxy rewrites the path API Gateway sees.
    public_url: str | None = None
    id_path: str | None = None
    type_path: str | None = None
    # How the raw body is parsed into the envelope's `body`.
    # json: must be JSON (400 otherwise); form / xml: legacy senders; auto: by Content-Type.
    format: Literal["json", "form", "xml", "text", "auto"] = "json"
    # Expected payload shape (JSON Schema, inline or a file path relative to the config file).
    schema_: dict[str, Any] | str | None = Field(default=None, alias="schema")
    max_body_bytes: int | None = Field(default=None, ge=1, le=6 * 1024 * 1024)
    # How long the signed bytes of a scheme without a signed timestamp (github, shopify, hmac-sha256) stay
    # "once": a capture is refused under any id until then (0: only for the idempotency window).
    replay_guard_days: int = Field(default=90, ge=0, le=3650)
    owner: str | None = None  # the team answerable for this integration (governance)
    review_by: date | None = None  # `hookline report` lists integrations past this date
    # Handshakes (ingress/handshakes.py): Meta's hub.verify_token, and the SNS topics accepted (any AWS
    # account can sign a message to this URL; only these topics' are events).
    verify_token: SecretRef | None = None
    topic_arns: list[str] | None = None
    reconcile: ReconcileConfig | None = None  # webhooks that never arrived (docs/missed-webhooks.md)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> SourceConfig:
        ways = [k for k in ("verify", "provider", "auth") if getattr(self, k) is not None]
        if len(ways) != 1:
            raise ValueError("a source needs exactly one of verify: {scheme: ...}, provider: NAME or auth: {...} "
                             f"(it has {' and '.join(ways) or 'none'}); `hookline sources` lists the providers")
        if self.auth is not None:
            extra = [k for k in ("secrets", "tolerance_seconds") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: not for auth: sources; each auth method names its own "
                                 "secrets (hmac and provider: their tolerance_seconds too)")
        if self.verify is not None:
            extra = [k for k in ("secrets", "tolerance_seconds", "public_url", "id_path", "type_path")
                     if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for provider: sources; a verify: source writes its "
                                 "secrets, tolerance_seconds, id_path and type_path under verify:")
        return self

    @property
    def secret_refs(self) -> list[str]:
        """The secrets that verify this source's requests, whichever way it authenticates."""
        if self.auth is not None:
            return self.auth.secret_refs()
        return list(self.verify.secrets if self.verify is not None else self.secrets or [])
