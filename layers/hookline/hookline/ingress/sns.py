"""AWS SNS as a source: message signatures checked with the certificate SNS names, fetched only from SNS.

An SNS message says where its signing certificate is (`SigningCertURL`) and, for a subscription, where to
confirm it (`SubscribeURL`). Both come from the request, so both are attacker-controlled until checked:
a URL is fetched only when it is https on `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`), exactly,
with no user, no port and no look-alike suffix. Anything else is refused before any connection is made.

The canonical string and the two signature versions (1: RSA-SHA1, 2: RSA-SHA256) are AWS's:
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from hookline.core import ports
from hookline.ingress.signatures import SignatureError

if TYPE_CHECKING:
    import ssl

MESSAGE_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
# The keys signed, in order, per message type (AWS's canonical form: "Key\nValue\n" for each present key).
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?")
DEFAULT_TOLERANCE_SECONDS = 3600  # SNS's longest HTTP/S retry policy spans an hour
CERT_TTL_SECONDS = 3600
MAX_CERTS = 32
MAX_CERT_BYTES = 64 * 1024


def url_problem(url: str, *, confirm: bool = False) -> str | None:
    """Why `url` must not be fetched, or None: https, host exactly sns.<region>.amazonaws.com[.cn], no user
    or port; a certificate path ends in .pem, a confirmation is Action=ConfirmSubscription."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https":
        return "is not https"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "carries a user name"
    if port is not None or parts.netloc != (parts.hostname or ""):
        return "names a port or an unusual host form"
    if not _SNS_HOST.fullmatch(parts.netloc):
        return "is not on sns.<region>.amazonaws.com"
    if confirm:
        if parse_qs(parts.query).get("Action") != ["ConfirmSubscription"]:
            return "is not a ConfirmSubscription request"
    elif not parts.path.endswith(".pem") or parts.query or parts.fragment:
        return "is not a .pem certificate path"
    return None


class HttpsGetter:
    """GET over https with certificate and host name checks (ssl's defaults), bounded in size and time.

    `connect_to` is the test seam: the TCP connection goes to that (host, port) while TLS still checks the
    certificate against the URL's own host name (a test's local CA issues one for sns.<region>...)."""

    def __init__(self, context: ssl.SSLContext | None = None, *, timeout: float = 5.0,
                 connect_to: tuple[str, int] | None = None, max_bytes: int = MAX_CERT_BYTES) -> None:
        self.context = context
        self.timeout = timeout
        self.connect_to = connect_to
        self.max_bytes = max_bytes

    def get(self, url: str) -> bytes:
        # lazy: only SNS sources fetch anything; ingress's cold start does not pay for ssl and http.client.
        import http.client
        import socket
        import ssl

        if self.context is None:
            self.context = ssl.create_default_context()
        parts = urlsplit(url)
        host = parts.hostname or ""
        address = self.connect_to or (host, parts.port or 443)
        sock = socket.create_connection(address, timeout=self.timeout)
        try:
            tls = self.context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        conn = http.client.HTTPSConnection(host, timeout=self.timeout, context=self.context)
        conn.sock = tls
        try:
            path = parts.path or "/"
            conn.request("GET", f"{path}?{parts.query}" if parts.query else path, headers={"Host": host})
            resp = conn.getresponse()
            body = resp.read(self.max_bytes + 1)
            if resp.status != 200:
                raise OSError(f"GET {host}{path} answered {resp.status}")
            if len(body) > self.max_bytes:
                raise OSError(f"GET {host}{path} answered more than {self.max_bytes} bytes")
            return body
        finally:
            conn.close()


# Where an SnsVerifier without an injected fetcher gets one. Only `hookline dev` replaces it
# (hookline.local.sns_trust): there, SNS is a local server whose CA the developer names.
default_fetcher: Callable[[], ports.HttpsFetcher] = HttpsGetter


@dataclass(frozen=True)
class Message:
    type: str
    message_id: str
    topic_arn: str
    fields: Mapping[str, Any]

    @property
    def topic_name(self) -> str:
        return self.topic_arn.rsplit(":", 1)[-1]


class _Cert:
    __slots__ = ("expires", "key", "not_after", "not_before")

    def __init__(self, key: Any, expires: float, not_before: float, not_after: float) -> None:
        self.key, self.expires, self.not_before, self.not_after = key, expires, not_before, not_after


class SnsVerifier:
    """Verifies SNS messages; certificates cached per URL for `ttl` seconds (clock injected), at most
    `max_certs` of them, fetched once per URL however many threads ask at the same time."""

    def __init__(self, fetcher: ports.HttpsFetcher | None = None, *, clock: Callable[[], float] = time.time,
                 ttl: float = CERT_TTL_SECONDS, max_certs: int = MAX_CERTS,
                 url_check: Callable[..., str | None] = url_problem) -> None:
        self.fetcher = fetcher or default_fetcher()
        self.clock = clock
        self.ttl = ttl
        self.max_certs = max_certs
        # The host rule. Only tests replace it (their local server is not on amazonaws.com).
        self.url_check = url_check
        self._certs: dict[str, _Cert] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- messages

    def verify(self, body: bytes, *, tolerance_seconds: int | None = None) -> Message:
        """The message, when its signature and timestamp hold; SignatureError (safe to log) otherwise."""
        try:
            fields = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise SignatureError("the body is not an SNS message (not JSON)") from None
        if not isinstance(fields, dict):
            raise SignatureError("the body is not an SNS message (not a JSON object)")
        kind = fields.get("Type")
        if kind not in MESSAGE_TYPES:
            raise SignatureError(f"the SNS message Type is not one of {', '.join(MESSAGE_TYPES)}")
        for key in ("MessageId", "TopicArn", "Timestamp", "Signature", "SigningCertURL", "SignatureVersion"):
            if not isinstance(fields.get(key), str) or not fields[key]:
                raise SignatureError(f"the SNS message has no {key}")
        version = fields["SignatureVersion"]
        if version not in ("1", "2"):
            raise SignatureError(f"SNS SignatureVersion {version[:8]!r} is not 1 or 2")
        cert_url = fields["SigningCertURL"]
        problem = self.url_check(cert_url)
        if problem:
            raise SignatureError(f"SigningCertURL {problem}: certificates are fetched only from SNS itself")
        now = self.clock()
        self._check_time(fields["Timestamp"], now,
                         DEFAULT_TOLERANCE_SECONDS if tolerance_seconds is None else tolerance_seconds)
        try:
            signature = base64.b64decode(fields["Signature"], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("the SNS Signature is not base64") from None
        cert = self._cert(cert_url, now)
        if not cert.not_before <= now <= cert.not_after:
            raise SignatureError("the SNS signing certificate is outside its validity period")
        # lazy: cryptography (~30 ms) loads for the first SNS message, not with every source's ingress
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303  # nosec B303 - SNS version 1 is SHA1
        try:
            cert.key.verify(signature, canonical(fields), padding.PKCS1v15(), digest)
        except InvalidSignature:
            raise SignatureError("the SNS Signature does not match the message") from None
        except (TypeError, ValueError) as e:
            raise SignatureError(f"the SNS signing certificate cannot check this signature: {e}") from None
        return Message(kind, fields["MessageId"], fields["TopicArn"], fields)

    def confirm(self, message: Message) -> None:
        """GET the SubscribeURL of a verified SubscriptionConfirmation (the same host rule as certificates)."""
        url = message.fields.get("SubscribeURL")
        problem = self.url_check(url, confirm=True) if isinstance(url, str) else "is missing"
        if problem:
            raise SignatureError(f"SubscribeURL {problem}: subscriptions are confirmed only with SNS itself")
        self.fetcher.get(url)

    @staticmethod
    def _check_time(stamp: str, now: float, tolerance: int) -> None:
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise SignatureError("the SNS Timestamp is not an ISO 8601 time") from None
        if abs(now - at) > tolerance:
            raise SignatureError(f"the SNS Timestamp is more than {tolerance} s from now (a replay?)")

    # -- certificates

    def _cert(self, url: str, now: float) -> _Cert:
        with self._lock:
            cached = self._certs.get(url)
            if cached is not None and cached.expires > now:
                return cached
            loading = self._loading.setdefault(url, threading.Lock())
        with loading:  # one fetch per URL: the others wait for it and use its answer
            with self._lock:
                cached = self._certs.get(url)
                if cached is not None and cached.expires > self.clock():
                    return cached
            try:
                cert = self._fetch(url, now)
            except BaseException:
                with self._lock:
                    self._loading.pop(url, None)
                raise
            with self._lock:
                if len(self._certs) >= self.max_certs and url not in self._certs:
                    # Evict the entry closest to expiry: a flood of distinct SNS URLs cannot grow memory.
                    del self._certs[min(self._certs, key=lambda u: self._certs[u].expires)]
                self._certs[url] = cert  # cached before the lock goes: a later arrival finds it, not a fetch
                self._loading.pop(url, None)
            return cert

    def _fetch(self, url: str, now: float) -> _Cert:
        # lazy: as in verify
        from cryptography import x509

        try:
            pem = self.fetcher.get(url)
        except OSError as e:
            raise SignatureError(f"the SNS signing certificate could not be fetched: {type(e).__name__}") from None
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise SignatureError("SigningCertURL did not answer a PEM certificate") from None
        return _Cert(cert.public_key(), now + self.ttl, cert.not_valid_before_utc.timestamp(),
                     cert.not_valid_after_utc.timestamp())


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes SNS signs: "Key\\nValue\\n" for each of the message type's keys that is present."""
    out = []
    for key in _SIGNED[fields["Type"]]:
        value = fields.get(key)
        if value is None:
            continue
        out.append(f"{key}\n{value}\n")
    return "".join(out).encode("utf-8")


def event_body(message: Message) -> dict[str, Any]:
    """What routes see of a Notification: the SNS message, its `Message` parsed when it is a JSON object
    (CloudWatch alarms, EventBridge...), so `body.Message.AlarmName` works without a $eval."""
    fields = dict(message.fields)
    text = fields.get("Message")
    if isinstance(text, str) and text.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):  # not JSON after all: the text as sent
            fields["Message"] = json.loads(text)
    return fields


def event_payload(message: Message) -> tuple[bytes, dict[str, Any]]:
    """The event a Notification becomes: event_body's JSON, stored and delivered as the event's body (delivery
    parses the stored bytes again: they must carry the decoded Message too)."""
    fields = event_body(message)
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), fields
