"""Destination auth and egress against real local receivers, each checking the credential on its own.

The sender is the deliver function's HttpSender; every receiver is a real HTTP(S) server on 127.0.0.1:

- basic, api_key (header and query) and bearer: the receiver compares the values it was given;
- aws_sigv4: signed by botocore (adapters/aws/sigv4.py), recomputed by requests-aws4auth, another library;
- mtls: a CA made here (cryptography), an HTTPS receiver with ssl.CERT_REQUIRED;
- oauth2 jwt_bearer: a token endpoint verifies the assertion with PyJWT and the public key, then issues a
  token, and the destination checks it arrives;
- a forward proxy sees the request.

Each also fails the way the docs say (docs/configuration.md#destination-auth): refused credentials are
`permanent_http` (after one token refresh for oauth2), an unusable key or certificate is `config`.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from requests_aws4auth import AWS4Auth

from hookline.adapters.aws.sigv4 import SigV4Signer
from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.delivery.send.http import HttpSender
from hookline.secrets import SecretResolver
from tests.support.certs import issue
from tests.support.forward_proxy import ForwardProxy
from tests.support.receiver import Received, Receiver, Script

AKID, SECRET_KEY, SESSION_TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-xyz"


def sender(env: dict[str, str], **kw: Any) -> HttpSender:
    return HttpSender(SecretResolver(environ=env), **kw)


def dest(url: str, **kw: Any) -> DestinationConfig:
    return DestinationConfig.model_validate({"url": url, **kw})


def send(s: HttpSender, d: DestinationConfig, **kw: Any) -> Any:
    return s.send(d, event_id="evt-1", route="r", body=b'{"n": 1}', **kw)


def answer_if(check: Any) -> Script:
    return Script(respond=lambda r: 200 if check(r) else 401)


# ---------------------------------------------------------------- basic, api_key, bearer


def test_basic_auth_reaches_the_receiver_and_a_wrong_password_is_permanent_http() -> None:
    expected = "Basic " + base64.b64encode(b"hookline:s3cr3t-pass").decode()
    with Receiver(answer_if(lambda r: r.headers.get("authorization") == expected)) as rx:
        d = dest(rx.url + "/hook", auth={"basic": {"user": "hookline", "password": "env:PW"}})
        assert send(sender({"PW": "s3cr3t-pass"}), d).outcome.delivered
        wrong = send(sender({"PW": "wrong-pass"}), d)
    assert wrong.status_code == 401 and wrong.outcome.reason == outcomes.PERMANENT_HTTP
    assert len(rx.requests) == 2  # no retry of a refused credential within the attempt


def test_api_key_in_a_header_and_in_the_query_string_never_in_the_error() -> None:
    key = "k-1234567890abcdef"
    with Receiver(answer_if(lambda r: r.headers.get("x-api-key") == key)) as rx:
        d = dest(rx.url + "/h", auth={"api_key": {"header": "X-Api-Key", "value": "env:KEY"}})
        assert send(sender({"KEY": key}), d).outcome.delivered
        assert send(sender({"KEY": "other-key-0000"}), d).outcome.reason == outcomes.PERMANENT_HTTP

    def in_query(r: Received) -> bool:
        return parse_qs(urlsplit(r.path).query) == {"x": ["1"], "api_key": [key]}

    # the receiver echoes the request line back in its error body: the key must not reach our error text
    script = Script(responder=lambda r: (200, b"{}") if in_query(r) else (403, f"bad key in {r.path}".encode()))
    with Receiver(script) as rx:
        d = dest(rx.url + "/h?x=1", auth={"api_key": {"query": "api_key", "value": "env:KEY"}})
        assert send(sender({"KEY": key}), d).outcome.delivered
        refused = send(sender({"KEY": "other-key-0000"}), d)
    assert refused.outcome.reason == outcomes.PERMANENT_HTTP
    assert "other-key-0000" not in (refused.error or "") and "bad key" in (refused.error or "")


def test_bearer_token_from_a_secret() -> None:
    with Receiver(answer_if(lambda r: r.headers.get("authorization") == "Bearer tok-abcdef123")) as rx:
        d = dest(rx.url + "/h", auth={"bearer": "env:TOKEN"})
        assert send(sender({"TOKEN": "tok-abcdef123"}), d).outcome.delivered
        refused = send(sender({"TOKEN": "tok-expired999"}), d)
    assert refused.outcome.reason == outcomes.PERMANENT_HTTP
    missing = send(sender({}), d)  # an unset variable will not appear by retrying
    assert missing.outcome.reason == outcomes.CONFIG and "env:TOKEN" in (missing.error or "")


# ---------------------------------------------------------------- SigV4, recomputed by requests-aws4auth


def sigv4_verifier(region: str, service: str, secret_key: str) -> Any:
    def check(r: Received) -> bool:
        auth = r.headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return False
        fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        signed = fields["SignedHeaders"].split(";")
        headers = {k: v for k, v in r.headers.items() if k != "authorization"}
        again = requests.Request(r.method, f"http://{r.headers['host']}{r.path}", headers=headers,
                                 data=r.body).prepare()
        AWS4Auth(AKID, secret_key, region, service, session_token=headers.get("x-amz-security-token"),
                 include_hdrs=signed)(again)
        theirs = dict(p.strip().split("=", 1) for p in again.headers["Authorization"][17:].split(","))
        return bool(theirs["Signature"] == fields["Signature"] and "idempotency-key" in signed)
    return check


@pytest.fixture
def role_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # what Lambda gives the function's role: botocore's default chain reads them from the environment
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


def test_sigv4_signed_by_botocore_verifies_with_requests_aws4auth(role_credentials: None) -> None:
    with Receiver(answer_if(sigv4_verifier("eu-west-1", "lambda", SECRET_KEY))) as rx:
        d = dest(rx.url + "/invoke?x=a%20b", auth={"aws_sigv4": {"service": "lambda"}},
                 headers={"X-Tenant": "t1"})
        result = send(sender({}, signer=SigV4Signer()), d)
        assert result.outcome.delivered, result.error
        assert rx.requests[0].headers["x-amz-security-token"] == SESSION_TOKEN
        # a receiver holding another secret refuses the same request: the check can fail
        with Receiver(answer_if(sigv4_verifier("eu-west-1", "lambda", "another-secret"))) as other:
            refused = send(sender({}, signer=SigV4Signer()), dest(other.url + "/invoke", auth=d.auth.model_dump()))
    assert refused.status_code == 401 and refused.outcome.reason == outcomes.PERMANENT_HTTP
    assert SECRET_KEY not in (refused.error or "")


def test_sigv4_without_a_region_is_config_and_no_request(monkeypatch: pytest.MonkeyPatch,
                                                         role_credentials: None) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with Receiver() as rx:
        result = send(sender({}, signer=SigV4Signer()), dest(rx.url, auth={"aws_sigv4": {"service": "execute-api"}}))
    assert result.outcome.reason == outcomes.CONFIG and "region" in (result.error or "")
    assert rx.requests == []


# ---------------------------------------------------------------- mTLS with a local CA


class Pki:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""

    def __init__(self, tmp: Path) -> None:
        now, ca = datetime.datetime.now(datetime.UTC), "hookline-test-ca"
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = issue(ca, self.ca_key, ca, self.ca_key, now, ca=True)
        self.server_key = ec.generate_private_key(ec.SECP256R1())
        self.server = issue("127.0.0.1", self.server_key, ca, self.ca_key, now,
                            san=x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                            usage=ExtendedKeyUsageOID.SERVER_AUTH)
        self.client_key = ec.generate_private_key(ec.SECP256R1())
        self.client = issue("hookline-client", self.client_key, ca, self.ca_key, now,
                            usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        self.ca_file = tmp / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self.server_files = (tmp / "server.pem", tmp / "server.key")
        self.server_files[0].write_bytes(self.server.public_bytes(serialization.Encoding.PEM))
        self.server_files[1].write_text(pem(self.server_key))

    def client_env(self) -> dict[str, str]:
        return {"CLIENT_CERT": self.client.public_bytes(serialization.Encoding.PEM).decode(),
                "CLIENT_KEY": pem(self.client_key)}


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def https_receiver(pki: Pki, script: Script | None = None) -> Receiver:
    rx = Receiver(script)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pki.server_files)
    ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no request
    ctx.load_verify_locations(pki.ca_file)
    rx.server.socket = ctx.wrap_socket(rx.server.socket, server_side=True)
    rx.url = f"https://127.0.0.1:{rx.port}"
    return rx


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pki:
    made = Pki(tmp_path)
    # the receiver's certificate is the test CA's: requests trusts it through its documented variable
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(made.ca_file))
    return made


def test_mtls_client_certificate_is_required_by_the_receiver(pki: Pki) -> None:
    mtls = {"mtls": {"cert": "env:CLIENT_CERT", "key": "env:CLIENT_KEY"}}
    with https_receiver(pki) as rx:
        s = sender(pki.client_env())
        assert send(s, dest(rx.url + "/h", auth=mtls)).outcome.delivered
        without = send(s, dest(rx.url + "/h"))
        assert len(rx.requests) == 1  # the handshake without a certificate never became a request
    assert without.status_code is None and without.error_kind == outcomes.CONNECTION  # retried, documented
    assert pki.client_env()["CLIENT_KEY"] not in (without.error or "")


def test_mtls_with_a_bad_pem_or_another_key_is_config_and_no_request(pki: Pki) -> None:
    env = pki.client_env()
    with https_receiver(pki) as rx:
        bad = send(sender({**env, "CLIENT_KEY": "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----"}),
                   dest(rx.url, auth={"mtls": {"cert": "env:CLIENT_CERT", "key": "env:CLIENT_KEY"}}))
        other = send(sender({**env, "CLIENT_KEY": pem(ec.generate_private_key(ec.SECP256R1()))}),
                     dest(rx.url, auth={"mtls": {"cert": "env:CLIENT_CERT", "key": "env:CLIENT_KEY"}}))
    assert bad.outcome.reason == outcomes.CONFIG and "not an unencrypted PEM private key" in (bad.error or "")
    assert other.outcome.reason == outcomes.CONFIG and "is not the key of the certificate" in (other.error or "")
    assert rx.requests == []


# ---------------------------------------------------------------- OAuth2 JWT bearer


class TokenEndpoint:
    """Verifies the RFC 7523 assertion with PyJWT and the registered public key, then issues a token."""

    def __init__(self, public_key: Any, audience: str) -> None:
        self.public_key, self.audience = public_key, audience
        self.issued: list[str] = []
        self.refused: list[str] = []

    def __call__(self, r: Received) -> tuple[int, bytes]:
        form = {k: v[0] for k, v in parse_qs(r.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, b'{"error": "unsupported_grant_type"}'
        try:
            claims = jwt.decode(form["assertion"], self.public_key, algorithms=["RS256"], audience=self.audience,
                                issuer="3MVG9-consumer-key", options={"require": ["exp", "iat", "sub"]})
        except jwt.PyJWTError as e:
            self.refused.append(type(e).__name__)
            return 400, b'{"error": "invalid_grant", "error_description": "signature or claims refused"}'
        token = f"at-{len(self.issued) + 1}-for-{claims['sub']}"
        self.issued.append(token)
        return 200, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600}).encode()


def jwt_dest(url: str, token_url: str) -> DestinationConfig:
    return dest(url, auth={"oauth2": {"grant": "jwt_bearer", "token_url": token_url, "issuer": "3MVG9-consumer-key",
                                      "subject": "integration@example.com", "audience": "https://login.example",
                                      "private_key": "env:SF_KEY"}})


def test_jwt_bearer_token_is_issued_for_a_verified_assertion_and_reaches_the_destination() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = TokenEndpoint(key.public_key(), "https://login.example")
    with Receiver(Script(responder=endpoint)) as login, \
            Receiver(answer_if(lambda r: r.headers.get("authorization", "").removeprefix("Bearer ")
                               in endpoint.issued)) as api:
        s = sender({"SF_KEY": pem(key)})
        d = jwt_dest(api.url + "/services/data/v60.0/sobjects/Contact", login.url + "/services/oauth2/token")
        assert send(s, d).outcome.delivered and send(s, d).outcome.delivered
    assert endpoint.issued == ["at-1-for-integration@example.com"]  # one token, cached for the second
    assert [r.headers["authorization"] for r in api.requests] == ["Bearer at-1-for-integration@example.com"] * 2


def test_jwt_bearer_refused_token_is_refreshed_once_then_permanent_http() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = TokenEndpoint(key.public_key(), "https://login.example")
    with Receiver(Script(responder=endpoint)) as login, Receiver(Script(statuses=[401])) as api:
        result = send(sender({"SF_KEY": pem(key)}), jwt_dest(api.url, login.url + "/token"))
    assert len(endpoint.issued) == 2 and len(api.requests) == 2  # one refresh, one resend
    assert result.status_code == 401 and result.outcome.reason == outcomes.PERMANENT_HTTP


def test_jwt_bearer_with_the_wrong_key_or_a_bad_pem() -> None:
    registered = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    endpoint = TokenEndpoint(registered.public_key(), "https://login.example")
    with Receiver(Script(responder=endpoint)) as login, Receiver() as api:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        refused = send(sender({"SF_KEY": pem(other)}), jwt_dest(api.url, login.url + "/token"))
        bad = send(sender({"SF_KEY": "not a key"}), jwt_dest(api.url, login.url + "/token"))
    # the endpoint refused the assertion: an OAuth failure (retried: the key may be registered late)
    assert endpoint.refused == ["InvalidSignatureError"] and refused.error_kind == outcomes.OAUTH
    assert "invalid_grant" in (refused.error or "")
    # a key that cannot sign at all: config, and the token endpoint is never asked
    assert bad.outcome.reason == outcomes.CONFIG and "oauth2.private_key env:SF_KEY" in (bad.error or "")
    assert len(login.requests) == 1 and api.requests == []


# ---------------------------------------------------------------- forward proxy


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "HOOKLINE_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_a_destination_proxy_sees_the_request_and_its_password_never_reaches_the_error(no_env_proxy: None) -> None:
    with ForwardProxy() as proxy, Receiver(Script(statuses=[200, 500])) as rx:
        d = dest(rx.url + "/hook", proxy=f"http://egress:{{secret:env:PROXY_PW}}@127.0.0.1:{proxy.port}")
        s = sender({"PROXY_PW": "proxy-pass-123"})
        assert send(s, d).outcome.delivered
        failed = send(s, d)
    expected_auth = "Basic " + base64.b64encode(b"egress:proxy-pass-123").decode()
    assert proxy.seen == [("POST", rx.url + "/hook", expected_auth)] * 2
    assert len(rx.requests) == 2 and failed.status_code == 500
    assert "proxy-pass-123" not in (failed.error or "")


def test_the_stack_proxy_applies_unless_the_destination_says_direct(no_env_proxy: None) -> None:
    with ForwardProxy() as proxy, Receiver() as rx:
        s = sender({}, environ={"HOOKLINE_PROXY": f"http://127.0.0.1:{proxy.port}"})
        assert send(s, dest(rx.url + "/via")).outcome.delivered
        assert send(s, dest(rx.url + "/direct", proxy="direct")).outcome.delivered
    assert [p[1] for p in proxy.seen] == [rx.url + "/via"]
    assert [r.path for r in rx.requests] == ["/via", "/direct"]
