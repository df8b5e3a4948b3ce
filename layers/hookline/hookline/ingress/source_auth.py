"""Generic source auth (`sources.x.auth`) for senders that do not sign with a catalog provider's scheme:
basic, api_key, bearer, jwt (JWKS), a generic hmac (the catalog's fields, written under the source), a
catalog provider, ip_allowlist and all_of. docs/providers.md, "Generic source auth".

Each refusal raises AuthFailed, whose text is for the operator's log only: the caller's 401 says
"authentication failed" and nothing else, so a prober cannot learn which check it got past. Secrets are
compared in constant time, every configured one (rotation) each time, and never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import difflib
import hashlib
import hmac
import ipaddress
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jmespath

from hookline.core import ports
from hookline.core.errors import Problem
from hookline.ingress import providers
from hookline.ingress.jwks import JwksCache, KeysUnavailable, UnknownKey
from hookline.ingress.providers.compile import ProviderError, compile_entry, names
from hookline.ingress.providers.request import Request
from hookline.ingress.signatures import MAX_ID_LENGTH, SignatureError, SourceMisconfigured

if TYPE_CHECKING:
    from hookline.core.config import (
        SourceApiKeyAuth,
        SourceAuthConfig,
        SourceBasicAuth,
        SourceHmacAuth,
        SourceJwtAuth,
        SourceProviderAuth,
    )
    from hookline.ingress.providers import Provider, Verified

__all__ = ["AuthFailed", "Authenticated", "KeysUnavailable", "SourceAuth", "hmac_entry", "identify", "parse_networks"]

HMAC_ALGORITHMS = ("hmac-sha1", "hmac-sha256", "hmac-sha512")
_KEY_ALGORITHMS = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}  # JWK kty -> JWT alg prefixes
_PRINTABLE = re.compile(r"[\x20-\x7e]+")


class AuthFailed(Exception):
    """Why a request was refused, for the log (never a secret). `misconfigured`: the operator's to fix."""

    def __init__(self, message: str, misconfigured: bool = False) -> None:
        super().__init__(message)
        self.misconfigured = misconfigured


@dataclass(frozen=True)
class Authenticated:
    signed: Verified | None  # an hmac/provider method's verdict: the event id and type it found, what it signs
    credential_headers: frozenset[str]  # header names (lower-case) that carried credentials: never forwarded


def hmac_entry(cfg: SourceHmacAuth, where: str) -> Provider:
    """The catalog entry an `hmac:` method describes, compiled (ProviderError names `where` and the key)."""
    signature = {"algorithm": "hmac-sha256", "encoding": "hex", "content": "{body}", **cfg.signature}
    if signature["algorithm"] not in HMAC_ALGORITHMS:
        raise ProviderError(f"{where}: signature.algorithm: {signature['algorithm']!r} is not one of "
                            f"{', '.join(HMAC_ALGORITHMS)} (other algorithms: a provider: of the catalog)")
    data: dict[str, Any] = {"title": "hmac", "docs": "-", "setup": "-", "secret": "the shared secret",  # nosec B105 - a label for docs, not a secret
                            "proof": "configuration", "signature": signature}
    data.update({k: v for k, v in (("timestamp", cfg.timestamp), ("id", cfg.id), ("type", cfg.type)) if v})
    return compile_entry("hmac", data, where)


def parse_networks(cidrs: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of an ip_allowlist (ValueError names the bad entry); a bare address is its own /32 or /128."""
    nets = []
    for cidr in cidrs:
        try:
            nets.append(ipaddress.ip_network(cidr.strip(), strict=True))
        except ValueError as e:
            raise ValueError(f"{cidr!r}: {e}") from None
    return nets


def identify(id_path: str | None, type_path: str | None, parsed: object) -> tuple[str | None, str | None]:
    """The event id and type at the source's id_path / type_path in the parsed body, for methods that sign
    nothing (an id longer than MAX_ID_LENGTH or not printable is replaced by its hash, as for signed ones)."""
    found = []
    for expr in (id_path, type_path):
        try:
            value = _jmespath(expr).search(parsed) if expr else None
        except Exception:  # a hostile body must not turn a lookup into a 5xx
            value = None
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        found.append(text or None)
    event_id, event_type = found
    if event_id is not None and (len(event_id) > MAX_ID_LENGTH or not _PRINTABLE.fullmatch(event_id)):
        event_id = "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    return event_id, event_type[:MAX_ID_LENGTH] if event_type else None


@lru_cache(maxsize=256)
def _jmespath(expr: str) -> Any:
    return jmespath.compile(expr)


def _jose_header(token: str) -> dict[str, Any] | None:
    """A compact JWS's header, or None. Read here, not by jwt.get_unverified_header: PyJWT checks each
    segment character by character in Python, ~100 us a token, and decode() reads the header again anyway."""
    head, dot, _ = token.partition(".")
    if not dot or len(head) > 4096:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _any_equal(given: str, expected: list[str]) -> bool:
    matched = False
    for value in expected:  # all of them, always: the time taken says nothing of which one came close
        matched |= _equal(given, value)
    return matched


def _credential(request: Request, header: str, scheme: str) -> str:
    """The credential after `scheme` (case-insensitive, as RFC 9110 says) in `header`."""
    value = (request.headers.get(header.lower()) or "").strip()
    if not value:
        raise AuthFailed(f"missing {header} header")
    if not value.lower().startswith(scheme.lower()):
        raise AuthFailed(f"{header} header is not {scheme.strip() or 'the expected'} credentials")
    return value[len(scheme):].strip()


class SourceAuth:
    """Checks requests against sources' `auth:`; one per ingress process (compiled entries, networks, keys)."""

    def __init__(self, secrets: ports.Secrets, clock: Callable[[], float], jwks: JwksCache | None = None) -> None:
        self.secrets = secrets
        self.clock = clock
        self.jwks = jwks if jwks is not None else JwksCache(clock=clock)
        # id(config object) -> (the object, kept alive so its id is not reused; what was compiled from it)
        self._compiled: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def check(self, auth: SourceAuthConfig, request: Request, *, where: str = "auth", id_path: str | None = None,
              type_path: str | None = None) -> Authenticated:
        """Authenticated, or AuthFailed; SecretResolutionError and KeysUnavailable are the caller's 503."""
        methods = list(auth.all_of) if auth.all_of else [auth]
        # The address first: it costs nothing, and a request from elsewhere then resolves no secret, fetches no key.
        methods.sort(key=lambda m: m.method != "ip_allowlist")
        signed: Verified | None = None
        headers: set[str] = set()
        for m in methods:
            result = self._one(m, request, where, id_path, type_path, headers)
            signed = signed or result
        return Authenticated(signed, frozenset(headers))

    def _one(self, m: SourceAuthConfig, request: Request, where: str, id_path: str | None, type_path: str | None,
             headers: set[str]) -> Verified | None:
        method = m.method
        value = getattr(m, method)
        if method == "ip_allowlist":
            self._ip(value, request)
        elif method == "basic":
            headers.add("authorization")
            self._basic(value, request)
        elif method == "api_key":
            if value.header:
                headers.add(value.header.lower())
            self._api_key(value, request)
        elif method == "bearer":
            headers.add("authorization")
            given = _credential(request, "Authorization", "Bearer ")
            if not _any_equal(given, self._resolve(value)):
                raise AuthFailed("bearer token does not match")
        elif method == "jwt":
            headers.add(value.header.lower())
            self._jwt(value, request)
        elif method in ("hmac", "provider"):
            return self._signed(method, value, request, where, id_path, type_path, headers)
        else:  # all_of inside all_of
            inner = self.check(m, request, where=where, id_path=id_path, type_path=type_path)
            headers.update(inner.credential_headers)
            return inner.signed
        return None

    def _resolve(self, refs: str | list[str]) -> list[str]:
        return [v for v in self.secrets.resolve_all(refs if isinstance(refs, list) else [refs]) if v]

    def _compile(self, key: Any, make: Callable[[], Any]) -> Any:
        found = self._compiled.get(id(key))
        if found is None:
            with self._lock:
                found = self._compiled.get(id(key))
                if found is None:
                    found = self._compiled[id(key)] = (key, make())
        return found[1]

    # -- the methods

    def _ip(self, cidrs: list[str], request: Request) -> None:
        try:
            nets = self._compile(cidrs, lambda: parse_networks(cidrs))
        except ValueError as e:
            raise AuthFailed(f"ip_allowlist entry {e}", misconfigured=True) from None
        if not request.source_ip:
            raise AuthFailed("no source IP in the request (API Gateway's requestContext.http.sourceIp)")
        try:
            ip = ipaddress.ip_address(request.source_ip.strip())
        except ValueError:
            raise AuthFailed(f"source IP {request.source_ip[:64]!r} is not an IP address") from None
        # An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is still that IPv4 address.
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if not any(ip in net or (mapped is not None and mapped in net) for net in nets):
            raise AuthFailed(f"source IP {ip} is not in the ip_allowlist")

    def _basic(self, cfg: SourceBasicAuth, request: Request) -> None:
        encoded = _credential(request, "Authorization", "Basic ")
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            raise AuthFailed("Authorization header is not Basic base64(user:password)") from None
        if not sep:
            raise AuthFailed("Authorization header is not Basic base64(user:password)")
        users, passwords = self._resolve(cfg.user), self._resolve(cfg.password)
        if not users or not passwords:
            raise AuthFailed("basic: a configured user or password is empty", misconfigured=True)
        # Both compared, whatever the first answer: which half was wrong must not show in the time taken.
        user_ok = _any_equal(user, users)
        password_ok = _any_equal(password, passwords)
        if not (user_ok and password_ok):
            raise AuthFailed("basic credentials do not match")

    def _api_key(self, cfg: SourceApiKeyAuth, request: Request) -> None:
        if cfg.header:
            given, where = (request.headers.get(cfg.header.lower()) or "").strip(), f"header {cfg.header}"
        else:
            given, where = (request.query.get(cfg.query or "") or "").strip(), f"query parameter {cfg.query}"
        if not given:
            raise AuthFailed(f"missing {where}")
        expected = self._resolve(cfg.value)
        if not expected:
            raise AuthFailed("api_key: the configured value is empty", misconfigured=True)
        if not _any_equal(given, expected):
            raise AuthFailed(f"API key in {where} does not match")

    def _jwt(self, cfg: SourceJwtAuth, request: Request) -> None:
        # lazy: PyJWT (and cryptography) load only when a jwt method checks its first token.
        import jwt

        token = _credential(request, cfg.header, cfg.prefix)
        if not token:
            raise AuthFailed(f"missing token in the {cfg.header} header")
        header = _jose_header(token)
        if header is None:
            raise AuthFailed(f"{cfg.header} header does not hold a JWT")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in cfg.algorithms:
            raise AuthFailed(f"JWT algorithm {str(alg)[:20]!r} is not one of {', '.join(cfg.algorithms)}")
        if kid is not None and not isinstance(kid, str):
            raise AuthFailed("JWT kid is not a string")
        try:
            key = self.jwks.key(cfg.jwks_url, kid, cache_seconds=cfg.cache_seconds,
                                refetch_seconds=cfg.refetch_seconds)
        except UnknownKey as e:
            raise AuthFailed(str(e)) from None
        if key.alg not in (None, alg):  # a key published for one algorithm serves only that one
            raise AuthFailed(f"JWT algorithm {alg} is not its key's ({key.alg})")
        if not alg.startswith(_KEY_ALGORITHMS.get(key.kty, ("-",))):  # PyJWT raises TypeError for those
            raise AuthFailed(f"JWT algorithm {alg} cannot be verified by its {key.kty} key")
        audiences = cfg.audience if isinstance(cfg.audience, list) else [cfg.audience]
        try:
            # Times are checked below against the injected clock; PyJWT would read the system's.
            claims = jwt.decode(token, key.jwk.key, algorithms=[alg], audience=audiences,
                                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                         "verify_iss": False, "require": ["exp", "iss", "aud"]})
        except jwt.InvalidSignatureError:
            raise AuthFailed(f"JWT signature does not verify with key {str(kid)[:64]!r} of {cfg.jwks_url}") from None
        except jwt.InvalidAudienceError:
            raise AuthFailed(f"JWT audience is not {' or '.join(audiences)}") from None
        except jwt.PyJWTError as e:
            raise AuthFailed(f"JWT refused: {e}") from None
        self._claims(cfg, claims, request)

    def _claims(self, cfg: SourceJwtAuth, claims: dict[str, Any], request: Request) -> None:
        now, leeway = self.clock(), cfg.leeway_seconds
        times = {k: claims.get(k) for k in ("exp", "nbf", "iat")}
        for name, value in times.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise AuthFailed(f"JWT {name} is not a number")
        exp, nbf, iat = times["exp"], times["nbf"], times["iat"]
        if now > exp + leeway:
            raise AuthFailed(f"JWT expired {int(now - exp)} s ago")
        if nbf is not None and now < nbf - leeway:
            raise AuthFailed("JWT is not valid yet (nbf)")
        if iat is not None and iat > now + leeway:
            raise AuthFailed("JWT issued in the future (iat)")
        if cfg.max_age_seconds is not None:
            if iat is None:
                raise AuthFailed("JWT has no iat, and max_age_seconds needs one")
            if now - iat > cfg.max_age_seconds + leeway:
                raise AuthFailed(f"JWT issued {int(now - iat)} s ago, over max_age_seconds {cfg.max_age_seconds}")
        issuers = cfg.issuer if isinstance(cfg.issuer, list) else [cfg.issuer]
        if claims.get("iss") not in issuers:
            raise AuthFailed(f"JWT issuer is not {' or '.join(issuers)}")
        for name, expected in (cfg.claims or {}).items():
            if claims.get(name) != expected:  # the value received is the sender's (an email): not logged
                raise AuthFailed(f"JWT claim {name} is not the configured value")
        if cfg.body_sha256_claim:
            given = claims.get(cfg.body_sha256_claim)
            digest = hashlib.sha256(request.body).hexdigest()
            if not isinstance(given, str) or not _equal(given.lower(), digest):
                raise AuthFailed(f"the body's SHA-256 is not the JWT's {cfg.body_sha256_claim}")

    def _signed(self, method: str, cfg: SourceHmacAuth | SourceProviderAuth, request: Request, where: str,
                id_path: str | None, type_path: str | None, headers: set[str]) -> Verified:
        try:
            if method == "hmac":
                entry = self._compile(cfg, lambda: hmac_entry(cfg, f"{where}.hmac"))
                tolerance = None
            else:
                entry, tolerance = providers.load(cfg.name), cfg.tolerance_seconds
        except providers.ProviderError as e:
            raise AuthFailed(str(e), misconfigured=True) from None
        if entry.header:
            headers.add(entry.header.lower())
        try:
            return providers.verify(entry, self._resolve(cfg.secrets), request, now=self.clock(),
                                    tolerance_seconds=tolerance, id_path=id_path, type_path=type_path)
        except SourceMisconfigured as e:
            raise AuthFailed(f"{method}: {e}", misconfigured=True) from None
        except SignatureError as e:
            raise AuthFailed(f"{method}: {e}") from None


# ---------------------------------------------------------------- configuration checks (hookline validate)


def config_problems(p: str, auth: SourceAuthConfig) -> list[Problem]:
    """What `hookline validate` reports in an `auth:` block, each with its path: a bad CIDR, an hmac entry that
    does not compile, an unknown provider, a JWKS URL that is not https."""
    problems: list[Problem] = []
    method = auth.method
    value = getattr(auth, method)
    if method == "all_of":
        for i, inner in enumerate(value):
            problems += config_problems(f"{p}.all_of[{i}]", inner)
    elif method == "ip_allowlist":
        for i, cidr in enumerate(value):
            try:
                parse_networks([cidr])
            except ValueError as e:
                hint = "a CIDR such as 203.0.113.0/24 or 2001:db8::/32, or one address"
                with contextlib.suppress(ValueError):
                    hint = f"did you mean {ipaddress.ip_network(cidr.strip(), strict=False)}?"
                problems.append(Problem(f"{p}.ip_allowlist[{i}]", f"not a network: {e}", hint))
    elif method == "jwt":
        url = value.jwks_url
        local = url.startswith(("http://localhost", "http://127.0.0.1", "http://[::1]"))
        if not url.startswith("https://") and not local:
            problems.append(Problem(f"{p}.jwt.jwks_url", "the keys must be fetched over https",
                                    "e.g. https://www.googleapis.com/oauth2/v3/certs (http only for localhost)"))
    elif method == "hmac":
        try:
            hmac_entry(value, f"{p}.hmac")
        except ProviderError as e:
            where, _, message = str(e).partition(": ")
            key, _, message = message.partition(": ")
            problems.append(Problem(f"{where}.{key}", message or str(e), "docs/providers.md lists an entry's keys"))
    elif method == "provider" and value.name not in names():
        close = difflib.get_close_matches(value.name.lower(), names(), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        problems.append(Problem(f"{p}.provider.name", f"unknown provider {value.name!r}",
                                f"{hint}`hookline sources` lists them"))
    return problems
