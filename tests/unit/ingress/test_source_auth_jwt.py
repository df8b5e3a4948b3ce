"""The `jwt` source auth method: tokens signed by keys this test makes with cryptography (compact JWS built by
hand, not by PyJWT), their JWKS served by a real local HTTP server that counts its requests. The key cache runs
on a clock the test moves: a hit after the first fetch, one refetch for a new kid, at most one refetch per
`refetch_seconds` for invented kids, expiry after `cache_seconds`, stale keys while the issuer is down, and
one fetch for ten threads that miss together."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from hookline.core.config import SourceAuthConfig
from hookline.ingress.ingress import Ingress, IngressDeps
from hookline.ingress.jwks import JwksCache, KeysUnavailable
from hookline.ingress.providers import Request
from hookline.ingress.source_auth import AuthFailed, SourceAuth
from hookline.validation import parse_config
from tests.support.aging import Clock, together
from tests.support.fakes import FakeEventLogEntries, FakePayloadStore, FakeQueue, FakeSecrets, MemoryTable

NOW = 1_760_000_000.0
AUDIENCE = "https://hooks.example.com/webhooks/pubsub"
PUSH_ACCOUNT = "push@project.iam.gserviceaccount.com"
RSA_K1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_K2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_P1 = ec.generate_private_key(ec.SECP256R1())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, size: int | None = None) -> str:
    return b64url(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": _int(numbers.n), "e": _int(numbers.e), **extra}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": _int(numbers.x, 32), "y": _int(numbers.y, 32),
            "alg": "ES256"}


def token(claims: dict[str, Any], key: Any = RSA_K1, kid: str | None = "k1", alg: str = "RS256") -> str:
    """A compact JWS made with cryptography's primitives: what an issuer's own library would send."""
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if alg == "RS256":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(signing_input)
        sig = mac.finalize()
    else:  # "none"
        sig = b""
    return f"{signing_input.decode()}.{b64url(sig)}"


class Issuer(ThreadingHTTPServer):
    """An issuer's JWKS endpoint on loopback: what it serves can change, and every GET is counted."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.daemon_threads = True
        self.keys: list[dict[str, Any]] = [rsa_jwk(RSA_K1, "k1")]
        self.status = 200
        self.delay = 0.0  # widens the window in which threads that miss together overlap one fetch
        self.fetches = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/certs"


class _Handler(BaseHTTPRequestHandler):
    server: Issuer

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.fetches += 1
        time.sleep(self.server.delay)
        body = json.dumps({"keys": self.server.keys}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def pubsub(issuer: Issuer, **overrides: Any) -> SourceAuthConfig:
    jwt_cfg = {"jwks_url": issuer.url, "issuer": ["https://accounts.google.com", "accounts.google.com"],
               "audience": AUDIENCE, "claims": {"email": PUSH_ACCOUNT, "email_verified": True},
               "cache_seconds": 3600, "refetch_seconds": 60, **overrides}
    return SourceAuthConfig.model_validate({"jwt": jwt_cfg})


def google_claims(now: float = NOW, **overrides: Any) -> dict[str, Any]:
    # The claims Pub/Sub's push tokens carry (cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
    return {"aud": AUDIENCE, "azp": "113774264463038321964", "email": PUSH_ACCOUNT, "email_verified": True,
            "exp": int(now) + 3600, "iat": int(now), "iss": "https://accounts.google.com",
            "sub": "113774264463038321964", **overrides}


def bearer(jwt_text: str, body: bytes = b'{"message":{"messageId":"1"}}') -> Request:
    return Request(headers={"authorization": f"Bearer {jwt_text}"}, body=body)


class Checker:
    def __init__(self) -> None:
        self.clock = Clock(NOW)
        self.auth = SourceAuth(FakeSecrets({}), self.clock, JwksCache(clock=self.clock))

    def check(self, cfg: SourceAuthConfig, request: Request) -> None:
        self.auth.check(cfg, request)

    def refused(self, cfg: SourceAuthConfig, request: Request) -> str:
        with pytest.raises(AuthFailed) as e:
            self.auth.check(cfg, request)
        return str(e.value)


def test_a_pubsub_push_token_is_accepted_and_its_keys_fetched_once(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer)
    for _ in range(5):
        c.check(cfg, bearer(token(google_claims())))
        c.clock.advance(10)
    assert issuer.fetches == 1
    c.check(cfg, bearer(token(google_claims(iss="accounts.google.com"))))  # Google's other spelling
    assert issuer.fetches == 1


def test_each_way_a_token_can_be_wrong_is_refused_with_its_reason(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer, algorithms=["RS256", "ES256"])
    public_pem = RSA_K1.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    good = token(google_claims())
    head, payload, sig = good.split(".")
    forged_payload = b64url(json.dumps(google_claims(email="attacker@evil.example")).encode())
    cases = {
        "expired": (token(google_claims(exp=int(NOW) - 61)), "JWT expired"),
        "not yet valid": (token(google_claims(nbf=int(NOW) + 120)), "not valid yet"),
        "issued in the future": (token(google_claims(iat=int(NOW) + 120)), "issued in the future"),
        "audience": (token(google_claims(aud="https://elsewhere.example")), "audience is not"),
        "issuer": (token(google_claims(iss="https://evil.example")), "issuer is not"),
        "email": (token(google_claims(email="other@project.iam.gserviceaccount.com")), "claim email"),
        "unverified email": (token(google_claims(email_verified=False)), "claim email_verified"),
        "no exp": (token({k: v for k, v in google_claims().items() if k != "exp"}), "exp"),
        "payload swapped": (f"{head}.{forged_payload}.{sig}", "signature does not verify"),
        "signature byte": (f"{head}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}",
                           "signature does not verify"),
        "another key, same kid": (token(google_claims(), key=RSA_K2), "signature does not verify"),
        "alg none": (token(google_claims(), alg="none"), "algorithm 'none'"),
        # the classic confusion: HS256 keyed with the public key's PEM, which anyone can read from the JWKS
        "HS256 with the public key": (token(google_claims(), key=public_pem, alg="HS256"), "algorithm 'HS256'"),
        "ES256 naming the RSA key": (token(google_claims(), key=EC_P1, alg="ES256"), "cannot be verified by its RSA"),
        "not a JWT": ("not.a.jwt", "does not hold a JWT"),
    }
    for name, (text, reason) in cases.items():
        assert reason in c.refused(cfg, bearer(text)), name
    assert reason_of(c, cfg, Request(headers={}, body=b"")) == "missing Authorization header"
    assert "not Bearer" in reason_of(c, cfg, Request(headers={"authorization": f"Basic {good}"}))
    c.check(cfg, bearer(good))  # and the good one still passes
    es_only = pubsub(issuer, algorithms=["ES256"])
    assert "algorithm 'RS256' is not one of ES256" in c.refused(es_only, bearer(good))


def reason_of(c: Checker, cfg: SourceAuthConfig, request: Request) -> str:
    return c.refused(cfg, request)


def test_leeway_and_expiry_follow_the_injected_clock(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer, leeway_seconds=30)
    text = token(google_claims(exp=int(NOW) + 100))
    c.check(cfg, bearer(text))
    c.clock.advance(129)  # 29 s past exp: within the leeway
    c.check(cfg, bearer(text))
    c.clock.advance(2)
    assert "JWT expired" in c.refused(cfg, bearer(text))


def test_a_new_kid_refetches_the_set_once_and_invented_kids_at_most_once_per_refetch_seconds(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer, refetch_seconds=60)
    c.check(cfg, bearer(token(google_claims())))
    assert issuer.fetches == 1
    c.clock.advance(120)
    issuer.keys = [rsa_jwk(RSA_K1, "k1"), rsa_jwk(RSA_K2, "k2")]  # the issuer rotates: k2 appears
    c.check(cfg, bearer(token(google_claims(now=c.clock()), key=RSA_K2, kid="k2")))
    assert issuer.fetches == 2
    c.check(cfg, bearer(token(google_claims(now=c.clock()), key=RSA_K2, kid="k2")))
    assert issuer.fetches == 2  # now known
    # A flood of invented kids: one refetch per minute at most, however many requests.
    c.clock.advance(61)
    for i in range(20):
        assert "no key" in c.refused(cfg, bearer(token(google_claims(now=c.clock()), kid=f"invented-{i}")))
        c.clock.advance(1)
    assert issuer.fetches == 3
    c.clock.advance(41)  # 61 s after that refetch
    c.refused(cfg, bearer(token(google_claims(now=c.clock()), kid="invented-x")))
    assert issuer.fetches == 4


def test_keys_expire_after_cache_seconds_and_stale_keys_serve_while_the_issuer_is_down(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer, cache_seconds=600, refetch_seconds=60)
    c.check(cfg, bearer(token(google_claims())))
    c.clock.advance(599)
    c.check(cfg, bearer(token(google_claims(now=c.clock()))))
    assert issuer.fetches == 1
    c.clock.advance(2)  # past cache_seconds: the known kid is fetched again
    c.check(cfg, bearer(token(google_claims(now=c.clock()))))
    assert issuer.fetches == 2
    issuer.status = 500
    c.clock.advance(601)
    c.check(cfg, bearer(token(google_claims(now=c.clock()))))  # the fetch failed: the held key still verifies
    assert issuer.fetches == 3
    with pytest.raises(KeysUnavailable):  # a kid never seen cannot be checked: the sender should retry (503)
        c.clock.advance(61)
        c.auth.check(cfg, bearer(token(google_claims(now=c.clock()), key=RSA_K2, kid="k2")))
    assert issuer.fetches == 4


def test_an_unreachable_issuer_is_keys_unavailable_and_is_not_asked_again_within_refetch_seconds(
        issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer)
    issuer.status = 503
    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            c.auth.check(cfg, bearer(token(google_claims())))
    assert issuer.fetches == 1
    issuer.status = 200
    c.clock.advance(60)
    c.check(cfg, bearer(token(google_claims(now=c.clock()))))
    assert issuer.fetches == 2


def test_ten_threads_that_miss_together_share_one_fetch(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer)
    issuer.delay = 0.2
    text = token(google_claims())
    together(lambda i: c.check(cfg, bearer(text)))
    assert issuer.fetches == 1
    # after the refetch interval, ten threads with invented kids: still one fetch between them
    c.clock.advance(61)
    invented = [token(google_claims(now=c.clock()), kid=f"nope-{i}") for i in range(10)]
    reasons = together(lambda i: c.refused(cfg, bearer(invented[i])))
    assert issuer.fetches == 2 and all("no key" in r for r in reasons)


def test_a_symmetric_key_in_the_set_is_never_used(issuer: Issuer) -> None:
    c, cfg = Checker(), pubsub(issuer)
    secret = b"shared-by-anyone-who-reads-the-set"
    issuer.keys = [{"kty": "oct", "kid": "sym", "k": b64url(secret)}, rsa_jwk(RSA_K1, "k1")]
    assert "algorithm 'HS256'" in c.refused(cfg, bearer(token(google_claims(), key=secret, kid="sym", alg="HS256")))
    rs_kid_sym = token(google_claims(), kid="sym")  # RS256 naming the oct key: no such signing key
    assert "no key 'sym'" in c.refused(cfg, bearer(rs_kid_sym))


def test_a_key_published_for_one_algorithm_serves_only_that_one(issuer: Issuer) -> None:
    c = Checker()
    issuer.keys = [rsa_jwk(RSA_K1, "k1", alg="RS512")]
    cfg = pubsub(issuer, algorithms=["RS256", "RS512"])
    assert "not its key's (RS512)" in c.refused(cfg, bearer(token(google_claims())))


def plaid(issuer: Issuer) -> SourceAuthConfig:
    return SourceAuthConfig.model_validate({"jwt": {
        "jwks_url": issuer.url, "issuer": "plaid", "audience": "plaid-webhooks", "algorithms": ["ES256"],
        "header": "Plaid-Verification", "prefix": "", "body_sha256_claim": "request_body_sha256",
        "max_age_seconds": 300, "leeway_seconds": 0}})


def test_a_plaid_style_token_binds_the_body_and_its_age(issuer: Issuer) -> None:
    """Plaid's scheme (plaid.com/docs/api/webhooks/webhook-verification): ES256, the body's SHA-256 in
    request_body_sha256, iat at most 5 minutes old. (Plaid itself publishes no iss/aud and serves keys from an
    authenticated API rather than a JWKS URL: docs/providers.md says what that leaves to configure.)"""
    issuer.keys = [ec_jwk(EC_P1, "p1")]
    c, cfg = Checker(), plaid(issuer)
    body = b'{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE"}'

    def req(claims: dict[str, Any], raw: bytes = body) -> Request:
        return Request(headers={"plaid-verification": token(claims, key=EC_P1, kid="p1", alg="ES256")}, body=raw)

    claims = {"iat": int(NOW), "exp": int(NOW) + 3600, "iss": "plaid", "aud": "plaid-webhooks",
              "request_body_sha256": hashlib.sha256(body).hexdigest()}
    c.check(cfg, req(claims))
    assert "body's SHA-256" in c.refused(cfg, req(claims, body.replace(b"SYNC", b"SINK")))
    assert "body's SHA-256" in c.refused(cfg, req({k: v for k, v in claims.items() if k != "request_body_sha256"}))
    assert "over max_age_seconds 300" in c.refused(cfg, req({**claims, "iat": int(NOW) - 301}))
    assert "has no iat" in c.refused(cfg, req({k: v for k, v in claims.items() if k != "iat"}))


def test_through_ingress_a_good_token_is_accepted_a_bad_one_401_and_keys_out_of_reach_503(issuer: Issuer) -> None:
    auth = pubsub(issuer).model_dump(mode="json")
    cfg = parse_config({"sources": {"pubsub": {"auth": auth, "id_path": "message.messageId"}},
                        "destinations": {"d": {"url": "http://d.invalid/in"}},
                        "routes": [{"name": "r", "source": "pubsub", "destination": "d"}]})
    clock, queue = Clock(NOW), FakeQueue()
    deps = IngressDeps(config=cfg, secrets=FakeSecrets({}), publisher=queue, payloads=FakePayloadStore(),
                       entries=FakeEventLogEntries(MemoryTable(), clock=clock), clock=clock)
    deps.source_auth = SourceAuth(deps.secrets, clock, JwksCache(clock=clock))
    ingress = Ingress(deps)

    def post(jwt_text: str, message_id: str) -> tuple[int, Any]:
        body = json.dumps({"message": {"messageId": message_id, "data": "aGk="}, "subscription": "s"}).encode()
        headers = {"authorization": f"Bearer {jwt_text}", "content-type": "application/json"}
        resp = ingress.accept("pubsub", headers, body, request=Request(headers=headers, body=body))
        return resp.status, resp.body

    assert post(token(google_claims()), "m-1") == (202, {"status": "accepted", "id": "m-1"})
    assert "authorization" not in queue.tasks[0].headers
    assert post(token(google_claims(aud="https://other.example")), "m-2") == (401, {"error": "authentication failed"})
    issuer.status = 500
    clock.advance(61)
    assert post(token(google_claims(now=clock()), key=RSA_K2, kid="k2"), "m-3") == (
        503, {"error": "authentication keys unavailable; retry later"})
