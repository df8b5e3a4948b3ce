"""Destination auth and egress, unit level: the config model, the request pieces each scheme adds,
the mTLS files, URL redaction, and the JWT-bearer token cache on injected clocks and threads.

Against real receivers: tests/integration/test_destination_auth.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import stat
import threading
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from hookline.core.auth import AuthConfigError, DestinationAuth, egress_of, redact_url, with_params
from hookline.core.config import DestinationConfig
from hookline.core.jwt_bearer import GRANT_TYPE, TokenKeyError
from hookline.core.oauth import TokenCache
from hookline.secrets import SecretResolver
from tests.support.aging import Clock, together


def dest(**kw: Any) -> DestinationConfig:
    return DestinationConfig.model_validate({"url": "https://api.example/hook", **kw})


def pem_key(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def self_signed(key: Any, name: str = "hookline-client") -> str:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


# ---------------------------------------------------------------- the model


def test_auth_schemes_parse_and_name_their_type() -> None:
    assert dest(auth={"basic": {"user": "u", "password": "env:P"}}).auth_type == "basic"
    assert dest(auth={"api_key": {"query": "key", "value": "env:K"}}).auth_type == "api_key"
    assert dest(auth={"bearer": "env:T"}).auth_type == "bearer"
    assert dest(auth={"aws_sigv4": {"service": "lambda", "region": "eu-west-1"}}).auth_type == "aws_sigv4"
    both = dest(auth={"bearer": "env:T", "mtls": {"cert": "env:C", "key": "env:K"}})
    assert both.auth_type == "bearer + mtls"
    assert dest().auth_type == "none"


def test_the_original_oauth2_key_reads_as_auth_oauth2_client_credentials() -> None:
    block = {"token_url": "https://login.example/token", "client_id": "c", "client_secret": "env:S"}
    old, new = dest(oauth2=block), dest(auth={"oauth2": block})
    assert old.oauth2 == new.oauth2 and old.oauth2 is not None
    assert old.oauth2.grant == "client_credentials"
    assert old.auth_type == new.auth_type == "oauth2 (client_credentials)"
    # the pre-validated JSON form (what Lambda reads) loads back to the same destination
    dumped = new.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert DestinationConfig.model_validate(dumped) == new


@pytest.mark.parametrize(("auth", "message"), [
    ({"basic": {"user": "u", "password": "hunter2"}}, "not a secret reference"),
    ({"bearer": "plain-token"}, "not a secret reference"),
    ({"api_key": {"value": "env:K"}}, "exactly one of header"),
    ({"api_key": {"header": "X-Key", "query": "k", "value": "env:K"}}, "exactly one of header"),
    ({"basic": {"user": "u", "password": "env:P"}, "bearer": "env:T"}, "give one of"),
    ({}, "give one of"),
    ({"oauth2": {"grant": "jwt_bearer", "token_url": "https://t"}}, "jwt_bearer needs private_key"),
    ({"oauth2": {"token_url": "https://t", "client_id": "c"}}, "client_credentials needs client_secret"),
    ({"aws_sigv4": {"service": "lambda", "region": "Europe"}}, "region"),
])
def test_bad_auth_blocks_say_what_is_wrong(auth: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as e:
        dest(auth=auth)
    assert message in str(e.value)


def test_oauth2_twice_and_two_schemes_are_refused() -> None:
    block = {"token_url": "https://t", "client_id": "c", "client_secret": "env:S"}
    with pytest.raises(ValidationError, match="given twice"):
        dest(oauth2=block, auth={"oauth2": {**block, "client_id": "other"}})
    with pytest.raises(ValidationError, match="both authenticate"):
        dest(oauth2=block, auth={"bearer": "env:T"})


def test_secret_refs_lists_every_auth_secret() -> None:
    d = dest(auth={"basic": {"user": "u", "password": "env:P"}, "mtls": {"cert": "env:C", "key": "ssm:/k"}},
             proxy="http://me:{secret:env:PROXY_PW}@proxy.internal:3128")
    assert sorted(d.secret_refs()) == ["env:C", "env:P", "env:PROXY_PW", "ssm:/k"]


# ---------------------------------------------------------------- the request pieces


def auth_with(**env: str) -> DestinationAuth:
    return DestinationAuth(SecretResolver(environ=env), environ={})


def test_basic_api_key_and_bearer_pieces() -> None:
    a = auth_with(P="pa:ss", K="key-123456", T="tok-abcdef")
    basic = a.parts(dest(auth={"basic": {"user": "svc", "password": "env:P"}}))
    assert basic.headers == {"Authorization": "Basic " + base64.b64encode(b"svc:pa:ss").decode()}
    header = a.parts(dest(auth={"api_key": {"header": "X-Api-Key", "value": "env:K"}}))
    assert header.headers == {"X-Api-Key": "key-123456"} and header.params == []
    query = a.parts(dest(auth={"api_key": {"query": "api_key", "value": "env:K"}}))
    assert query.headers == {} and query.params == [("api_key", "key-123456")]
    bearer = a.parts(dest(auth={"bearer": "env:T"}))
    assert bearer.headers == {"Authorization": "Bearer tok-abcdef"}
    assert "key-123456" in query.scrub and "tok-abcdef" in bearer.scrub and "pa:ss" in basic.scrub


def test_query_api_key_is_redacted_from_the_url() -> None:
    d = dest(url="https://api.example/hook?x=1", auth={"api_key": {"query": "api_key", "value": "env:K"}})
    url = with_params(d.url or "", [("api_key", "key-123456")])
    assert url == "https://api.example/hook?x=1&api_key=key-123456"
    assert redact_url(url, d) == "https://api.example/hook?x=1&api_key=***"
    assert redact_url("http://me:pw@proxy.internal:3128") == "http://***@proxy.internal:3128"


def test_mtls_files_are_private_written_once_and_rewritten_on_rotation() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    env = {"C": self_signed(key), "K": pem_key(key)}
    resolver = SecretResolver(environ=env)
    a = DestinationAuth(resolver, environ={})
    d = dest(auth={"mtls": {"cert": "env:C", "key": "env:K"}})
    first = a.parts(d).cert
    assert first is not None
    for path in first:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(first[0])).st_mode) == 0o700
    assert read(first[1]) == env["K"].strip()
    assert together(lambda i: a.parts(d).cert) == [first] * 10  # one pair of files for every thread
    rotated = ec.generate_private_key(ec.SECP256R1())
    env.update(C=self_signed(rotated), K=pem_key(rotated))
    second = a.parts(d).cert
    assert second is not None and second != first and read(second[0]) == env["C"].strip()
    a.close()
    assert not os.path.exists(first[0])


@pytest.mark.parametrize(("cert", "key", "message"), [
    ("not a pem", None, "auth.mtls.cert env:C is not a PEM certificate"),
    (None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "auth.mtls.key env:K is not an"),
    (None, "other", "is not the key of the certificate env:C"),
])
def test_mtls_bad_pem_or_wrong_key_is_a_config_error(cert: str | None, key: str | None, message: str) -> None:
    real = ec.generate_private_key(ec.SECP256R1())
    other = pem_key(ec.generate_private_key(ec.SECP256R1()))
    env = {"C": cert or self_signed(real), "K": other if key == "other" else (key or pem_key(real))}
    with pytest.raises(AuthConfigError) as e:
        DestinationAuth(SecretResolver(environ=env), environ={}).parts(
            dest(auth={"mtls": {"cert": "env:C", "key": "env:K"}}))
    assert message in str(e.value)
    assert env["K"] not in str(e.value)


def test_sigv4_without_region_or_signer_is_a_config_error() -> None:
    d = dest(auth={"aws_sigv4": {"service": "lambda"}})
    with pytest.raises(AuthConfigError, match="RequestSigner"):
        DestinationAuth(SecretResolver(environ={}), environ={}).sign(d, "POST", d.url or "", {}, b"")

    class Signer:
        def sign(self, **kw: Any) -> dict[str, str]:
            return {"Authorization": f"AWS4-HMAC-SHA256 {kw['service']} {kw['region']}"}

    with pytest.raises(AuthConfigError, match="no region"):
        DestinationAuth(SecretResolver(environ={}), Signer(), environ={}).sign(d, "POST", d.url or "", {}, b"")
    signed = DestinationAuth(SecretResolver(environ={}), Signer(), environ={"AWS_REGION": "eu-west-1"}).sign(
        d, "POST", d.url or "", {}, b"")
    assert signed == {"Authorization": "AWS4-HMAC-SHA256 lambda eu-west-1"}


def test_proxy_per_destination_stack_default_and_direct() -> None:
    a = DestinationAuth(SecretResolver(environ={"PW": "proxy-pass"}),
                        environ={"HOOKLINE_PROXY": "http://stack-proxy:3128"})
    assert a.proxies(dest()) == ({"http": "http://stack-proxy:3128", "https": "http://stack-proxy:3128"}, [])
    own = dest(proxy="http://u:{secret:env:PW}@own-proxy:8080")
    assert a.proxies(own) == ({"http": "http://u:proxy-pass@own-proxy:8080",
                               "https": "http://u:proxy-pass@own-proxy:8080"}, ["proxy-pass"])
    assert a.proxies(dest(proxy="direct")) == (None, [])
    assert egress_of(own, {}) == "proxy own-proxy:8080"
    assert egress_of(dest(), {"HOOKLINE_PROXY": "http://stack-proxy:3128"}) == "proxy stack-proxy:3128"
    assert egress_of(dest(proxy="direct"), {"HOOKLINE_PROXY": "http://p:1"}, vpc=True) == "vpc (NAT)"


# ---------------------------------------------------------------- JWT bearer tokens


class Response:
    def __init__(self, status: int, data: Any) -> None:
        self.status_code, self._data = status, data

    def iter_content(self, size: int) -> Any:
        yield json.dumps(self._data).encode()

    def close(self) -> None:
        pass


class TokenEndpoint:
    """Verifies each assertion with PyJWT and the public key (as the provider does), then issues a token."""

    def __init__(self, public_key: Any, audience: str, expires_in: int | None = 3600) -> None:
        self.public_key, self.audience, self.expires_in = public_key, audience, expires_in
        self.claims: list[dict[str, Any]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def post(self, url: str, data: dict[str, str], **kw: Any) -> Response:
        self.entered.set()
        self.release.wait(10)
        assert data["grant_type"] == GRANT_TYPE
        claims = jwt.decode(data["assertion"], self.public_key, algorithms=["RS256", "ES256"],
                            audience=self.audience, options={"verify_exp": False, "verify_iat": False})
        with self._lock:
            self.claims.append(claims)
            n = len(self.claims)
        body: dict[str, Any] = {"access_token": f"tok-{n}", "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return Response(200, body)


JWT_CFG = {"grant": "jwt_bearer", "token_url": "https://login.example/services/oauth2/token",
           "issuer": "consumer-key", "subject": "integration@example.com", "private_key": "env:PK",
           "audience": "https://login.example", "assertion_lifetime_seconds": 300}


def jwt_cache(endpoint: TokenEndpoint, pem: str, clock: Clock, wall: Clock) -> TokenCache:
    return TokenCache(SecretResolver(environ={"PK": pem}), endpoint, clock=clock, wall_clock=wall)  # type: ignore[arg-type]


def test_jwt_bearer_assertion_is_verified_by_the_endpoint_and_cached_until_expiry() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = TokenEndpoint(key.public_key(), "https://login.example", expires_in=3600)
    clock, wall = Clock(100.0), Clock(1_700_000_000.0)
    cache = jwt_cache(endpoint, pem_key(key), clock, wall)
    cfg = dest(auth={"oauth2": JWT_CFG}).oauth2
    assert cfg is not None
    assert cache.token(cfg) == "tok-1"
    claims = endpoint.claims[0]
    assert claims["iss"] == "consumer-key" and claims["sub"] == "integration@example.com"
    assert claims["iat"] == 1_700_000_000 and claims["exp"] == 1_700_000_300  # from the wall clock
    clock.advance(3600 - 61)
    assert cache.token(cfg) == "tok-1"  # within expires_in minus the margin
    clock.advance(2)
    assert cache.token(cfg) == "tok-2" and cache.fetches == 2
    cache.invalidate(cfg, "tok-2")  # a 401 with it: the next delivery fetches again
    assert cache.token(cfg) == "tok-3"


def test_jwt_bearer_without_expires_in_lives_as_long_as_the_assertion() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    endpoint = TokenEndpoint(key.public_key(), "https://login.example", expires_in=None)
    clock = Clock(0.0)
    cache = jwt_cache(endpoint, pem_key(key), clock, Clock(1_700_000_000.0))
    cfg = dest(auth={"oauth2": {**JWT_CFG, "algorithm": "ES256"}}).oauth2
    assert cfg is not None
    assert cache.token(cfg) == "tok-1"
    clock.advance(300 - 31)  # lifetime 300 s, margin a tenth of it
    assert cache.token(cfg) == "tok-1"
    clock.advance(2)
    assert cache.token(cfg) == "tok-2"


def test_jwt_bearer_ten_threads_make_one_token_request() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = TokenEndpoint(key.public_key(), "https://login.example")
    endpoint.release.clear()
    cache = jwt_cache(endpoint, pem_key(key), Clock(0.0), Clock(1_700_000_000.0))
    cfg = dest(auth={"oauth2": JWT_CFG}).oauth2
    assert cfg is not None
    threading.Thread(target=lambda: (endpoint.entered.wait(10), endpoint.release.set()), daemon=True).start()
    assert together(lambda i: cache.token(cfg)) == ["tok-1"] * 10
    assert cache.fetches == 1


def test_jwt_bearer_with_a_bad_key_is_a_key_error_naming_the_reference_only() -> None:
    endpoint = TokenEndpoint(None, "x")
    cache = jwt_cache(endpoint, "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----",
                      Clock(0.0), Clock(0.0))
    cfg = dest(auth={"oauth2": JWT_CFG}).oauth2
    assert cfg is not None
    with pytest.raises(TokenKeyError) as e:
        cache.token(cfg)
    assert "oauth2.private_key env:PK cannot sign a RS256 assertion" in str(e.value)
    assert "not-a-key" not in str(e.value)
    assert endpoint.claims == []  # no request made


# ---------------------------------------------------------------- hookline validate


def problems_of(destinations: dict[str, Any], routes: list[dict[str, Any]] | None = None) -> list[str]:
    from hookline.core.errors import ConfigError
    from hookline.validation import parse_config

    try:
        parse_config({"sources": {"s": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
                      "destinations": destinations, "routes": routes or []})
    except ConfigError as e:
        return [f"{p.path}: {p.message}" for p in e.problems]
    return []


def test_validate_names_a_bad_url_template_method_expression_and_proxy() -> None:
    assert problems_of({"a": {"url": "https://{body.host}/x"}}) == [
        "destinations.a.url: url 'https://{body.host}/x': placeholders may fill the path only; write the scheme "
        "and host out, e.g. https://crm.example/contacts/{EXPR}"]
    [when] = problems_of({"a": {"url": "https://x.example/c", "method": {"when": "a ==", "then": "PATCH",
                                                                       "else": "POST"}}})
    assert when.startswith("destinations.a.method.when: invalid JMESPath expression 'a =='")
    assert problems_of({"a": {"url": "https://x.example", "proxy": "socks5://p:1080"}}) == [
        "destinations.a.proxy: not a proxy URL: 'socks5://p:1080'"]
    assert problems_of({"a": {"url": "https://x.example", "proxy": "http://u:hunter2@p:3128"}}) == [
        "destinations.a.proxy: the proxy's password is written in plain text"]
    assert problems_of({"a": {"url": "http://x.example", "auth": {"mtls": {"cert": "env:C", "key": "env:K"}}}}) == [
        "destinations.a.auth.mtls: a client certificate is only sent over TLS: the url is not https://"]
    assert problems_of({"a": {"url": "https://x.example/c{/enriched.c.id}", "proxy": "direct",
                              "method": {"when": "enriched.c.id", "then": "PATCH", "else": "POST"}}}) == []


def test_validate_refuses_an_enrichment_step_on_a_templated_destination() -> None:
    found = problems_of({"t": {"url": "https://x.example/c/{body.id}"}, "d": {"url": "https://y.example"}},
                        [{"name": "r", "source": "s", "destination": "d", "transform": {"a": "enriched.e"},
                          "enrich": [{"name": "e", "destination": "t"}]}])
    assert "routes[0].enrich[0].destination: destination 't' has a templated url" in found
