"""Destination auth and egress: what a request to a destination carries besides its body.

`DestinationAuth.parts(dest)` turns a destination's `auth:` block into request pieces:

- `basic: {user, password}` -> `Authorization: Basic base64(user:password)`;
- `api_key: {header: NAME, value}` -> header NAME; `{query: NAME, value}` -> `?NAME=value`
  (the URL with the key in it is never logged: `redact_url`);
- `bearer: REF` -> `Authorization: Bearer <value>`;
- `mtls: {cert, key}` -> `requests`' `cert=(certfile, keyfile)`: PEM files written once per
  process (and again when the secret rotates) in a private directory, mode 0600;
- `aws_sigv4: {service, region}` -> `sign()`, the last step before sending, through the
  RequestSigner port (botocore's signer, in adapters/aws/sigv4.py);
- `oauth2:` -> core/oauth.py's TokenCache (the sender asks it, and refreshes on a 401).

And `proxies(dest)`: the destination's `proxy:`, else the stack's HOOKLINE_PROXY, else none
("direct" opts a destination out of the stack's proxy).

A secret that cannot be read raises SecretResolutionError (as for headers); a value that can
never work (a certificate that is not PEM, a key that does not match it, no region for SigV4)
raises AuthConfigError: a `config` failure, dead-lettered at once. Every secret value used is
listed in `AuthParts.scrub` so error texts can be cleaned of it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hookline.core.config import HEADER_SECRET, DestinationConfig

if TYPE_CHECKING:
    from hookline.core.ports import RequestSigner, Secrets

PROXY_ENV = "HOOKLINE_PROXY"
DIRECT = "direct"
REDACTED = "***"


class AuthConfigError(Exception):
    """The destination's auth cannot work as configured (safe to log: references and names only)."""


@dataclass
class AuthParts:
    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)  # query parameters to add
    cert: tuple[str, str] | None = None  # (certificate file, key file)
    scrub: list[str] = field(default_factory=list)


class DestinationAuth:
    """Thread-safe: one per sender, shared by the delivery threads."""

    def __init__(self, secrets: Secrets, signer: RequestSigner | None = None, *,
                 environ: Mapping[str, str] | None = None) -> None:
        self.secrets = secrets
        self.signer = signer
        self._environ = environ if environ is not None else os.environ
        self._cert_dir: str | None = None
        self._cert_files: dict[str, tuple[str, str]] = {}  # digest of (cert, key) -> files
        self._lock = threading.Lock()

    # -- static pieces (headers, query, client certificate)

    def parts(self, dest: DestinationConfig) -> AuthParts:
        out = AuthParts()
        auth = dest.auth
        if auth is None:
            return out
        if auth.basic is not None:
            password = self.secrets.resolve(auth.basic.password)
            token = base64.b64encode(f"{auth.basic.user}:{password}".encode()).decode("ascii")
            out.headers["Authorization"] = f"Basic {token}"
            out.scrub += [password, token]
        elif auth.api_key is not None:
            value = self.secrets.resolve(auth.api_key.value)
            if auth.api_key.header:
                out.headers[auth.api_key.header] = value
            else:
                out.params.append((auth.api_key.query or "", value))
            out.scrub.append(value)
        elif auth.bearer is not None:
            value = self.secrets.resolve(auth.bearer)
            out.headers["Authorization"] = f"Bearer {value}"
            out.scrub.append(value)
        if auth.mtls is not None:
            cert, key = self.secrets.resolve(auth.mtls.cert), self.secrets.resolve(auth.mtls.key)
            out.cert = self._files(auth.mtls.cert, auth.mtls.key, cert, key)
            out.scrub.append(key)
        return out

    # -- SigV4: after every other header is final

    def sign(self, dest: DestinationConfig, method: str, url: str, headers: dict[str, str],
             body: bytes) -> dict[str, str]:
        sigv4 = dest.auth.aws_sigv4 if dest.auth else None
        if sigv4 is None:
            return {}
        if self.signer is None:  # a wiring mistake: say what to pass
            raise AuthConfigError("auth.aws_sigv4 needs a RequestSigner (adapters.aws.sigv4.SigV4Signer; "
                                  "wiring passes one)")
        region = sigv4.region or self._environ.get("AWS_REGION") or self._environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise AuthConfigError("auth.aws_sigv4 has no region and AWS_REGION is not set: add region: ...")
        try:
            return self.signer.sign(method=method, url=url, headers=headers, body=body, service=sigv4.service,
                                    region=region)
        except Exception as e:  # no credentials in the environment: it will not fix itself by retrying
            raise AuthConfigError(f"auth.aws_sigv4: cannot sign ({type(e).__name__}: {e})") from None

    # -- egress

    def proxy_url(self, dest: DestinationConfig) -> str | None:
        """The proxy template in force for `dest` (secrets not yet filled in), or None for direct."""
        chosen = dest.proxy or self._environ.get(PROXY_ENV) or None
        return None if chosen is None or chosen.strip().lower() == DIRECT else chosen.strip()

    def proxies(self, dest: DestinationConfig) -> tuple[dict[str, str] | None, list[str]]:
        """`requests`' proxies= for `dest`, and the secret values in it (to scrub)."""
        template = self.proxy_url(dest)
        if template is None:
            return None, []
        values = [self.secrets.resolve(ref) for ref in HEADER_SECRET.findall(template)]
        url = self.secrets.interpolate(template)
        return {"http": url, "https": url}, values

    # -- mTLS files

    def _files(self, cert_ref: str, key_ref: str, cert: str, key: str) -> tuple[str, str]:
        digest = hashlib.sha256(f"{cert}\0{key}".encode()).hexdigest()
        with self._lock:
            found = self._cert_files.get(digest)
            if found is not None:
                return found
            _check_pair(cert_ref, key_ref, cert, key)
            if self._cert_dir is None:
                self._cert_dir = tempfile.mkdtemp(prefix="hookline-mtls-")  # mode 0700
            paths = []
            for suffix, text in (("crt", cert), ("key", key)):
                path = os.path.join(self._cert_dir, f"{digest[:16]}.{suffix}")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(text if text.endswith("\n") else text + "\n")
                paths.append(path)
            self._cert_files[digest] = (paths[0], paths[1])
            return paths[0], paths[1]

    def close(self) -> None:
        with self._lock:
            if self._cert_dir is not None:
                shutil.rmtree(self._cert_dir, ignore_errors=True)
                self._cert_dir = None
                self._cert_files.clear()


def _check_pair(cert_ref: str, key_ref: str, cert: str, key: str) -> None:
    """A PEM certificate and the private key of its public key, or AuthConfigError naming which is wrong."""
    # lazy: cryptography loads only for destinations with a client certificate.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(cert.encode())
    except ValueError:
        raise AuthConfigError(f"auth.mtls.cert {cert_ref} is not a PEM certificate "
                              "(-----BEGIN CERTIFICATE-----...)") from None
    try:
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        raise AuthConfigError(f"auth.mtls.key {key_ref} is not an unencrypted PEM private key "
                              "(-----BEGIN PRIVATE KEY-----...)") from None
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if certificate.public_key().public_bytes(*fmt) != private.public_key().public_bytes(*fmt):
        raise AuthConfigError(f"auth.mtls.key {key_ref} is not the key of the certificate {cert_ref}")


def auth_problems(dest: DestinationConfig, path: str) -> list[tuple[str, str, str]]:
    """(path, message, hint) for a destination's auth and proxy that the model cannot see (`hookline validate`)."""
    problems: list[tuple[str, str, str]] = []
    proxy = (dest.proxy or "").strip()
    if proxy and proxy.lower() != DIRECT:
        where = urlsplit(proxy)
        if where.scheme not in ("http", "https") or not where.hostname:
            problems.append((f"{path}.proxy", f"not a proxy URL: {redact_url(proxy)!r}",
                             "write http://host:port, or direct to bypass the stack's proxy"))
        elif where.password and not HEADER_SECRET.search(where.password):
            problems.append((f"{path}.proxy", "the proxy's password is written in plain text",
                             "write it as http://user:{secret:ssm:/hookline/proxy-password}@host:port"))
    if dest.auth is not None and dest.auth.mtls and dest.url and not dest.url.startswith("https://"):
        problems.append((f"{path}.auth.mtls", "a client certificate is only sent over TLS: the url is not https://",
                         "use the destination's https:// address"))
    return problems


def with_params(url: str, params: list[tuple[str, str]]) -> str:
    """`url` with `params` appended to its query string."""
    if not params:
        return url
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redact_url(url: str, dest: DestinationConfig | None = None) -> str:
    """`url` fit to log or show: no userinfo, and the api_key query parameter's value as ***."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    netloc = f"{REDACTED}@{netloc}" if "@" in parts.netloc else netloc
    query = parts.query
    api_key = dest.auth.api_key if dest is not None and dest.auth is not None else None
    if api_key is not None and api_key.query and query:
        query = urlencode([(k, REDACTED if k == api_key.query else v)
                           for k, v in parse_qsl(query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def egress_of(dest: Any, environ: Mapping[str, str] | None = None, vpc: bool = False) -> str:
    """How a destination's requests leave: `direct`, `proxy HOST:PORT` or `vpc` (for listings)."""
    env = environ if environ is not None else os.environ
    chosen = getattr(dest, "proxy", None) or env.get(PROXY_ENV) or None
    if chosen and chosen.strip().lower() != DIRECT:
        where = urlsplit(chosen.strip())
        host = where.hostname or "?"
        return f"proxy {host}:{where.port}" if where.port else f"proxy {host}"
    return "vpc (NAT)" if vpc else "direct"
