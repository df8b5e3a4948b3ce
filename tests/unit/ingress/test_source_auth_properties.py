"""Hostile input: every `auth:` method answers any request with a pass or an AuthFailed, never another exception
(which ingress would turn into a 503, and a prober into a signal). Headers mix each method's own names with
arbitrary ones and values that look almost right (Basic/Bearer prefixes, JWT-shaped text, base64); the
source IP is anything API Gateway could be made to report, or nothing. The JWT keys come from a fixed JWKS
handed to the cache directly (no network)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookline.core.config import SourceAuthConfig
from hookline.ingress.jwks import JwksCache
from hookline.ingress.providers import Request
from hookline.ingress.source_auth import AuthFailed, SourceAuth
from tests.support.fakes import FakeSecrets

NOW = 1_760_000_000.0
_N = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers().n
JWKS = json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "e": "AQAB",
                             "n": base64.urlsafe_b64encode(_N.to_bytes(256, "big")).decode().rstrip("=")}]}).encode()
AUTHS = [SourceAuthConfig.model_validate(a) for a in (
    {"basic": {"user": "env:U", "password": ["env:P", "env:EMPTY"]}},
    {"api_key": {"header": "X-Key", "value": "env:K"}},
    {"api_key": {"query": "key", "value": "env:K"}},
    {"bearer": ["env:T", "env:K"]},
    {"jwt": {"jwks_url": "https://keys.example/certs", "issuer": "i", "audience": "a",
             "algorithms": ["RS256", "ES256", "EdDSA"], "body_sha256_claim": "h", "max_age_seconds": 60}},
    {"jwt": {"jwks_url": "https://keys.example/certs", "issuer": "i", "audience": "a", "header": "X-Token",
             "prefix": ""}},
    {"hmac": {"secrets": ["env:K"], "signature": {"header": "X-Sig", "prefix": "v1=", "content": "{timestamp}.{body}"},
              "timestamp": {"header": "X-Ts"}, "id": {"header": "X-Id", "path": "id"}}},
    {"provider": {"name": "stripe", "secrets": ["env:K"]}},
    {"ip_allowlist": ["203.0.113.0/24", "2001:db8::/32"]},
    {"all_of": [{"ip_allowlist": ["0.0.0.0/0", "::/0"]}, {"bearer": "env:T"}]},
)]
OWN = ["authorization", "x-key", "x-token", "x-sig", "x-ts", "x-id", "stripe-signature", "content-type"]
# Headers that reach the key lookup and the signature check (a known kid, an unknown one, none, odd types).
jwt_heads = st.sampled_from(['{"alg":"RS256","kid":"k1"}', '{"alg":"RS256"}', '{"alg":"ES256","kid":"k1"}',
                             '{"alg":"RS256","kid":"zz"}', '{"alg":"EdDSA","kid":"k1"}', '{"alg":"RS256","kid":7}',
                             '{"alg":null}', '[]']) | st.text(max_size=30)
claims = st.sampled_from(['{"exp":1e20,"iss":"i","aud":"a","iat":0}', '{"exp":"x","iss":"i","aud":["a"]}',
                          '{"exp":true,"iss":"i","aud":"a","h":1}', '{}']) | st.text(max_size=60)
jwt_like = st.tuples(jwt_heads, claims, st.text(max_size=20)).map(
    lambda p: ".".join(base64.urlsafe_b64encode(x.encode()).decode().rstrip("=") for x in p))
values = (st.text(max_size=120)
          | st.sampled_from(["Basic ", "Bearer ", "basic Zm9vOmJhcg==", "Bearer tok", "v1=" + "a" * 64,
                             "t=1,v1=" + "a" * 64, str(int(NOW)), "Basic " + "=" * 8, "Bearer a.b.c", "\x00"])
          | jwt_like | jwt_like.map(lambda t: "Bearer " + t)
          | st.from_regex(r"[A-Za-z0-9+/=,;: .-]{0,90}", fullmatch=True))
ips = st.none() | st.ip_addresses().map(str) | st.text(max_size=45) | st.sampled_from(["::ffff:203.0.113.9", ""])


@st.composite
def requests(draw: Any) -> Request:
    names = st.sampled_from(OWN) | st.from_regex(r"[a-z-]{1,20}", fullmatch=True)
    return Request(method=draw(st.sampled_from(["POST", "GET"])),
                   headers=draw(st.dictionaries(names, values, max_size=6)),
                   body=draw(st.binary(max_size=200) | st.sampled_from([b"{}", b'{"id":"x"}', b"[1]"])),
                   query=draw(st.dictionaries(st.sampled_from(["key", "x"]) | st.text(max_size=5), values,
                                              max_size=3)),
                   source_ip=draw(ips), url=draw(st.none() | st.just("https://h.example/webhooks/s")))


@given(auth=st.sampled_from(AUTHS), request=requests(), now=st.floats(min_value=0, max_value=4e9, allow_nan=False))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_method_answers_any_request_with_a_pass_or_auth_failed(auth: SourceAuthConfig, request: Request,
                                                                     now: float) -> None:
    secrets = FakeSecrets({"U": "user", "P": "pass", "EMPTY": "", "K": "key", "T": "tok"})
    checker = SourceAuth(secrets, lambda: now, JwksCache(fetch=lambda url: JWKS, clock=lambda: now))
    try:
        checker.check(auth, request)
    except AuthFailed as e:
        assert "pass" not in str(e).split() and "tok" not in str(e).split()  # no configured value in a reason
