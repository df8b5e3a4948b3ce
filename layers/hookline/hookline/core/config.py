"""The hookline.yaml model: pydantic classes, their own checks, and the check helpers capabilities share.

This module knows no capability. Checks that need one (transforms compile, a warehouse
destination is complete, pagination is coherent) live in that capability's `checks.py`;
`hookline.validation` collects them and owns `load_config` / `parse_config`.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from jmespath.exceptions import JMESPathError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hookline.core.errors import Problem
from hookline.core.expressions import compile_expression
from hookline.core.routing import RouteIndex

SCHEMES = ("github", "stripe", "shopify", "standard-webhooks", "hmac-sha256")
SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:/[\w./-]+|secretsmanager:[\w/+=.@:-]+)$")
HEADER_SECRET = re.compile(r"\{secret:([^}]+)\}")
# Header names whose values are credentials: they must come from a secret reference.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token", "cookie"}
DEFAULT_SCHEDULE = (60, 300, 1800)
SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60
SECRET_HINT = "use env:NAME, ssm:/param/name or secretsmanager:secret-id"  # noqa: S105 (a hint, not a secret) # nosec B105



def yaml_module() -> Any:
    # lazy: yaml (~100 ms) loads only when a YAML file is read; Lambda reads the pre-validated JSON form.
    import yaml

    return yaml


def yaml_load(text: str) -> Any:
    # libyaml's loader: the pure-Python one took most of the load time of a large configuration.
    yaml = yaml_module()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # nosec B506 - a SafeLoader (libyaml)


def _check_secret_ref(value: str) -> str:
    if not isinstance(value, str) or not SECRET_REF.match(value):
        raise ValueError("not a secret reference: plain-text secrets are not accepted")
    return value


SecretRef = Annotated[str, AfterValidator(_check_secret_ref),
                      Field(description="env:NAME | ssm:/name | secretsmanager:id")]


class _Model(BaseModel):
    # Unknown keys are typos more often than features: reject them with their path.
    # defer_build: a Lambda rebuilds its pre-validated configuration without validating (core/construct.py),
    # so the validators are built only where YAML is validated (~45 ms of a cold start's CPU otherwise).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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


class SigningConfig(_Model):
    scheme: Literal["standard-webhooks"] = "standard-webhooks"
    secret: SecretRef


class OAuth2Config(_Model):
    """Client-credentials grant (Salesforce, HubSpot, ...) or the JWT-bearer grant (RFC 7523; core/jwt_bearer.py)."""

    grant: Literal["client_credentials", "jwt_bearer"] = "client_credentials"
    token_url: str
    client_id: str | None = None
    client_secret: SecretRef | None = None
    scope: str | None = None
    audience: str | None = None
    # jwt_bearer: the assertion's signing key (PEM), its claims and lifetime.
    private_key: SecretRef | None = None
    issuer: str | None = None  # `iss`: Salesforce's consumer key, a Google service account's client_email
    subject: str | None = None  # `sub`: the user the token acts for (Salesforce: the username)
    algorithm: Literal["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"] = "RS256"
    key_id: str | None = None  # the assertion's `kid` header (Google: private_key_id)
    assertion_lifetime_seconds: int = Field(default=300, ge=30, le=3600)

    @model_validator(mode="after")
    def _grant_fields(self) -> OAuth2Config:
        if self.grant == "client_credentials":
            missing = [n for n in ("client_id", "client_secret") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"grant client_credentials needs {' and '.join(missing)}")
        else:
            missing = [n for n in ("private_key",) if getattr(self, n) is None]
            if self.issuer is None and self.client_id is None:
                missing.append("issuer (or client_id)")
            if missing:
                raise ValueError(f"grant jwt_bearer needs {' and '.join(missing)} "
                                 "(private_key: secretsmanager:ID of a PEM key)")
        return self


class BasicAuthConfig(_Model):
    user: str
    password: SecretRef


class ApiKeyAuthConfig(_Model):
    """An API key in a header or a query parameter (never both)."""

    header: str | None = Field(default=None, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
    query: str | None = Field(default=None, min_length=1)
    value: SecretRef

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuthConfig:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of header: NAME or query: NAME")
        return self


class SigV4AuthConfig(_Model):
    service: str = Field(pattern=r"^[a-z0-9-]+$")  # execute-api, lambda, es, aoss, ...
    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")  # default: the function's region


class MtlsAuthConfig(_Model):
    cert: SecretRef  # PEM client certificate (with its chain, if any)
    key: SecretRef  # PEM private key, unencrypted


class AuthConfig(_Model):
    """How a destination authenticates: one scheme, and optionally a client certificate (mtls) besides."""

    basic: BasicAuthConfig | None = None
    api_key: ApiKeyAuthConfig | None = None
    bearer: SecretRef | None = None
    oauth2: OAuth2Config | None = None
    aws_sigv4: SigV4AuthConfig | None = None
    mtls: MtlsAuthConfig | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> AuthConfig:
        given = [n for n in AUTH_SCHEMES if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of {', '.join(AUTH_SCHEMES)} (got {', '.join(given)}); "
                             "mtls may be added to any of them")
        if not given and self.mtls is None:
            raise ValueError(f"give one of {', '.join((*AUTH_SCHEMES, 'mtls'))}")
        return self

    @property
    def scheme(self) -> str | None:
        return next((n for n in AUTH_SCHEMES if getattr(self, n) is not None), None)


AUTH_SCHEMES = ("basic", "api_key", "bearer", "oauth2", "aws_sigv4")
HTTP_METHOD = Literal["POST", "PUT", "PATCH", "DELETE", "GET"]


class MethodChoice(_Model):
    """`method: {when: EXPR, then: PATCH, else: POST}`: EXPR (JMESPath, as a route's `when`) over the envelope."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: str
    then: HTTP_METHOD
    else_: HTTP_METHOD = Field(alias="else")


RATE_LIMIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m)\s*$")


def parse_rate_limit(text: str) -> tuple[float, float]:
    """"N/s" or "N/m" -> (N, period in seconds)."""
    m = RATE_LIMIT.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"not a rate limit: {text!r}")
    return float(m.group(1)), 1.0 if m.group(2) == "s" else 60.0


def _check_rate_limit(value: str) -> str:
    try:
        parse_rate_limit(value)
    except ValueError:
        raise ValueError(f"rate_limit {value!r} is not \"N/s\" or \"N/m\" with N > 0 (e.g. \"5/s\")") from None
    return value


class CircuitBreakerConfig(_Model):
    """Consecutive retryable failures open the breaker; held events are not attempts (delivery/guards/breaker.py)."""

    failures: int = Field(default=5, ge=1, le=1000)
    cool_down_seconds: int = Field(default=60, ge=1, le=3600)
    max_hold_seconds: int = Field(default=86400, ge=60, le=14 * 86400)


def _breaker_off(value: Any) -> Any:
    # `circuit_breaker: off` (YAML 1.1 reads a bare off as False) or the string "off".
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return "off"
    return value


class DestinationConfig(_Model):
    # http (default): `url`. Warehouse types: firehose (`stream`), s3 (`bucket`, `prefix`).
    # AWS targets (delivery/send/targets.py, docs/targets.md): eventbridge (`bus`, `source`, `detail_type`),
    # sqs (`queue`), sns (`topic`), lambda (`function`, `invocation`), stepfunctions (`state_machine`).
    type: Literal["http", "firehose", "s3", "eventbridge", "sqs", "sns", "lambda", "stepfunctions"] = "http"
    bus: str | None = Field(default=None,
                            pattern=r"^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[A-Za-z0-9_.\-/]{1,256}$")
    source: str | None = Field(default=None, min_length=1, max_length=256)  # eventbridge: the event's Source
    detail_type: str | None = Field(default=None, min_length=1, max_length=128)  # a constant DetailType
    detail_type_path: str | None = None  # JMESPath over the mapped body: its value is the DetailType
    queue: str | None = None  # sqs: a queue URL or name (same account and region)
    topic: str | None = Field(default=None,
                              pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
    function: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_:.\-]{1,140}$")  # lambda: a name or an ARN
    invocation: Literal["async", "sync"] = "async"
    state_machine: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$")
    # `{EXPR}` placeholders (JMESPath over the envelope, `enriched` and `mapped`) fill the path: mapping/urls.py.
    url: str | None = None
    method: HTTP_METHOD | MethodChoice = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=10, gt=0, le=900)
    signing: SigningConfig | None = None
    # The client-credentials block of before `auth:`; `auth: {oauth2: ...}` is copied here, so senders read one.
    oauth2: OAuth2Config | None = None
    auth: AuthConfig | None = None
    # A forward proxy (http://host:port; credentials as {secret:REF}), "direct" to ignore the stack's HOOKLINE_PROXY.
    proxy: str | None = None
    # How a mapped body is written (mapping/formats.py); a route without a transform sends the
    # original bytes with their original Content-Type whatever this says.
    format: Literal["json", "form", "xml", "csv", "ndjson"] = "json"
    xml_root: str = Field(default="root", min_length=1)  # format: xml — the root element's name
    csv_header: bool = True  # format: csv — a header row before the data line(s)
    stream: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_.-]{1,64}$")
    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    prefix: str = Field(default="", max_length=512)
    owner: str | None = None
    review_by: date | None = None
    # Shared by every concurrent invocation (delivery/guards/limits.py).
    rate_limit: Annotated[str, AfterValidator(_check_rate_limit)] | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    circuit_breaker: Annotated[CircuitBreakerConfig | Literal["off"], BeforeValidator(_breaker_off)] = Field(
        default_factory=CircuitBreakerConfig)

    @model_validator(mode="before")
    @classmethod
    def _oauth2_in_one_place(cls, data: Any) -> Any:
        # `oauth2:` (the original key) and `auth: {oauth2: ...}` are one setting: senders read `oauth2`.
        auth = data.get("auth") if isinstance(data, dict) else None
        if isinstance(auth, dict) and auth.get("oauth2") is not None:
            if data.get("oauth2") is not None and data["oauth2"] != auth["oauth2"]:
                raise ValueError("oauth2 is given twice (oauth2: and auth.oauth2:); keep the one under auth:")
            data = {**data, "oauth2": auth["oauth2"]}
        return data

    @model_validator(mode="after")
    def _one_auth(self) -> DestinationConfig:
        scheme = self.auth.scheme if self.auth else None
        if self.oauth2 is not None and scheme not in (None, "oauth2"):
            raise ValueError(f"oauth2: and auth.{scheme}: both authenticate; keep one")
        return self

    @property
    def auth_type(self) -> str:
        """The authentication a destination uses, for listings (never a secret)."""
        scheme = self.auth.scheme if self.auth else None
        kinds = []
        if self.oauth2 is not None:
            kinds.append(f"oauth2 ({self.oauth2.grant})")
        elif scheme:
            kinds.append(scheme)
        if self.auth and self.auth.mtls:
            kinds.append("mtls")
        if self.signing:
            kinds.append("signing")
        return " + ".join(kinds) or "none"

    def secret_refs(self) -> list[str]:
        """Every secret reference the destination reads (`hookline validate` reports unset ones)."""
        refs = [self.signing.secret] if self.signing else []
        o, a = self.oauth2, self.auth
        if o is not None:
            refs += [r for r in (o.client_secret, o.private_key) if r]
        if a is not None:
            refs += [a.basic.password] if a.basic else []
            refs += [a.api_key.value] if a.api_key else []
            refs += [a.bearer] if a.bearer else []
            refs += [a.mtls.cert, a.mtls.key] if a.mtls else []
        refs += [ref for template in self.headers.values() for ref in HEADER_SECRET.findall(template)]
        refs += HEADER_SECRET.findall(self.proxy or "")
        return refs

    @property
    def breaker(self) -> CircuitBreakerConfig | None:
        return None if self.circuit_breaker == "off" else self.circuit_breaker  # type: ignore[return-value]

    @property
    def rate(self) -> tuple[float, float] | None:
        return parse_rate_limit(self.rate_limit) if self.rate_limit else None


class RetryConfig(_Model):
    schedule_seconds: list[int] = Field(default_factory=lambda: list(DEFAULT_SCHEDULE))

    @field_validator("schedule_seconds")
    @classmethod
    def _bounded(cls, v: list[int]) -> list[int]:
        for d in v:
            if d < 0 or d > SQS_MAX_VISIBILITY_SECONDS:
                raise ValueError(f"each delay must be within 0..{SQS_MAX_VISIBILITY_SECONDS} s (SQS limit)")
        return v


class EnrichConfig(_Model):
    """A call to another configured destination before mapping; its response is `enriched.<name>`."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)
    destination: str
    method: Literal["GET", "POST"] = "GET"
    path: str = ""  # appended to the destination's url; `{EXPR}` placeholders (JMESPath), URL-encoded
    cache_seconds: int = Field(default=0, ge=0, le=86400)
    on_missing: Literal["skip", "default", "fail"] = "fail"  # what a 404 / 410 means
    default: Any = None  # with on_missing: default
    body: dict[str, Any] | None = None  # with method: POST, a transform spec sent as JSON


class RouteConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=80)
    source: str
    destination: str
    when: str | None = None
    transform: dict[str, Any] | None = None
    retry: RetryConfig | None = None
    schema_: dict[str, Any] | str | None = Field(default=None, alias="schema")
    enrich: list[EnrichConfig] = Field(default_factory=list)
    # Governance: the entity this route writes, and how a write into the owner is justified.
    writes: str | None = None
    one_way_copy: bool = False
    precedence: int | None = Field(default=None, ge=0)  # higher wins when routes write one field
    owner: str | None = None
    review_by: date | None = None

    # Records: the record key (JMESPath over the envelope), per-key FIFO delivery, the stale-update guard.
    key: str | None = None
    ordered: bool = False
    version: str | None = None


class EntityConfig(_Model):
    """A data type (customer, order, ...) and its single system of record."""

    owner: str  # a source or destination name
    steward: str | None = None  # a person or team, free text
    fields: list[str] = Field(default_factory=list)
    precedence: list[str] | None = None  # sources, first wins, when routes write one field


class PaginationConfig(_Model):
    """How a sync walks the pages (defaults per style in hookline.sync.pagination)."""

    style: Literal["cursor", "page", "offset", "next_url", "link"]
    param: str | None = None  # cursor / page / offset: the query parameter
    next_path: str | None = None  # cursor: JMESPath to the next cursor; next_url: to the next URL
    start: int | None = Field(default=None, ge=0)  # page: first page number (1); offset: first offset (0)
    limit_param: str | None = None  # page / offset: the page-size parameter
    limit: int | None = Field(default=None, ge=1, le=10000)


class WatermarkConfig(_Model):
    path: str  # JMESPath over a record: its last-modified value
    param: str  # query parameter that asks the API for records changed since the watermark


class SyncConfig(_Model):
    """Pull from an API that cannot push; each item becomes an event of `source`."""

    source: str
    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = "@"
    id_path: str = "id"
    type: str = "sync"
    next_cursor_path: str | None = None
    cursor_param: str = "cursor"
    max_pages: int = Field(default=10, ge=1, le=1000)
    timeout_seconds: float = Field(default=10, gt=0, le=900)
    version_path: str | None = None  # part of the event id: a changed record is a new event
    pagination: PaginationConfig | None = None
    watermark: WatermarkConfig | None = None
    every: str = Field(default="15m", pattern=r"^\s*\d+\s*[mhd]\s*$")
    oauth2: OAuth2Config | None = None
    params: dict[str, str] = Field(default_factory=dict)  # fixed query parameters on every page
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)


class ArchiveConfig(_Model):
    """`archive:`: every accepted event and attempt kept in S3 for `hookline events search` (docs/events.md).
    The deployed bucket's lifecycle comes from the template parameter ArchiveRetentionDays; 0 here turns
    the archive's writes off."""

    retention_days: int = Field(default=30, ge=0, le=3650)


class HooklineConfig(_Model):
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    destinations: dict[str, DestinationConfig] = Field(default_factory=dict)
    routes: list[RouteConfig] = Field(default_factory=list)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    syncs: dict[str, SyncConfig] = Field(default_factory=dict)
    entities: dict[str, EntityConfig] = Field(default_factory=dict)

    def routes_for(self, source: str) -> list[RouteConfig]:
        return [r for r in self.routes if r.source == source]

    def route(self, name: str) -> RouteConfig:
        for r in self.routes:
            if r.name == name:
                return r
        raise KeyError(name)

    def schedule_for(self, route: RouteConfig) -> list[int]:
        return list((route.retry or self.retry).schedule_seconds)

    @cached_property
    def route_index(self) -> RouteIndex:
        """The routes compiled and indexed by source (built at load, once per configuration)."""
        return RouteIndex(self.routes)


# ---------------------------------------------------------------- checks shared by the capabilities' checks.py


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            name = "schema" if p == "schema_" else str(p)
            out += ("." if out else "") + name
    return out


_PYDANTIC_HINTS = {
    "missing": "add this key",
    "extra_forbidden": "remove it, or check its spelling against the configuration reference, docs/configuration.md",
    "literal_error": "use one of the listed values",
    "value_error": "",
}
_SECRET_ERROR = "not a secret reference"  # noqa: S105 (an error text) # nosec B105


def pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        hint = SECRET_HINT if msg.startswith(_SECRET_ERROR) else _PYDANTIC_HINTS.get(err["type"], "")
        problems.append(Problem(_loc(loc), msg, hint))
    return problems


def check_jmespath(expr: str, path: str, problems: list[Problem]) -> None:
    try:
        compile_expression(expr)
    except JMESPathError as e:
        detail = str(e).splitlines()[0]
        problems.append(Problem(path, f"invalid JMESPath expression {expr!r}: {detail}",
                                "quote keys with dashes, e.g. headers.\"x-github-event\""))


def check_url(url: str, path: str, problems: list[Problem]) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(Problem(path, f"not an absolute http(s) URL: {url!r}", "write it as https://host/path"))


def check_headers(headers: dict[str, str], path: str, problems: list[Problem]) -> None:
    for name, value in headers.items():
        for ref in HEADER_SECRET.findall(value):
            if not SECRET_REF.match(ref):
                problems.append(Problem(f"{path}.{name}", f"{{secret:{ref}}} is not a secret reference",
                                        SECRET_HINT))
        if name.lower() in CREDENTIAL_HEADERS and not HEADER_SECRET.search(value):
            problems.append(Problem(f"{path}.{name}", "credential header holds a plain-text value",
                                    "write it as e.g. \"Bearer {secret:ssm:/crm/token}\""))


def check_schema(spec: dict[str, Any] | str, base_dir: Path, path: str, problems: list[Problem]) -> None:
    # lazy: jsonschema (~230 ms) loads only when a configuration with a schema is checked.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if isinstance(spec, str):
        file = (base_dir / spec).resolve()
        yaml = yaml_module()
        try:
            spec = json.loads(file.read_text()) if file.suffix == ".json" else yaml.safe_load(file.read_text())
        except (OSError, ValueError, yaml.YAMLError) as e:
            problems.append(Problem(path, f"cannot read schema file {str(file)!r}: {e}",
                                    "give a path relative to the configuration file, or an inline schema"))
            return
    try:
        Draft202012Validator.check_schema(spec)
    except SchemaError as e:
        problems.append(Problem(path, f"invalid JSON Schema: {e.message}", "see https://json-schema.org"))


def load_schema(spec: dict[str, Any] | str | None, base_dir: Path) -> dict[str, Any] | None:
    if spec is None or isinstance(spec, dict):
        return spec
    file = base_dir / spec
    text = file.read_text()
    return json.loads(text) if file.suffix == ".json" else yaml_module().safe_load(text)
