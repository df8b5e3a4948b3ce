"""`destinations:` in hookline.yaml: where events are delivered (http, warehouse and AWS target types), how
hookline authenticates to them (`auth`, `oauth2`, `signing`), the method, and the guards shared by every
invocation (`rate_limit`, `max_concurrency`, `circuit_breaker`). Syncs authenticate with `OAuth2Config` too.

Checks that need delivery (a warehouse destination is complete, an AWS target's fields) are in
delivery/checks.py and delivery/send/targets.py.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from hookline.core.config_base import HEADER_SECRET, SecretRef, _Model


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
