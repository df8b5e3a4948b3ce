"""A stand-in for SNS's side of the certificate check: a local CA, a TLS certificate it issues for
sns.us-east-1.amazonaws.com, a signing certificate, a real HTTPS server serving it (counting requests), and
messages signed in AWS's canonical form, written out here independently of hookline.ingress.sns."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.certs import issue

HOST = "sns.us-east-1.amazonaws.com"
CERT_PATH = "/SimpleNotificationService-0000000000000000000000.pem"
CERT_URL = f"https://{HOST}{CERT_PATH}"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


@dataclass
class Pki:
    dir: Path
    signing_key: Any
    signing_pem: bytes

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.pem"


def make_pki(directory: Path, now: dt.datetime) -> Pki:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = issue("test CA", ca_key, "test CA", ca_key, now, ca=True)
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls = issue(HOST, tls_key, "test CA", ca_key, now, san=x509.DNSName(HOST))
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing = issue("sns.amazonaws.com", signing_key, "test CA", ca_key, now)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.pem").write_bytes(tls.public_bytes(serialization.Encoding.PEM) + tls_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Pki(directory, signing_key, signing.public_bytes(serialization.Encoding.PEM))


class LocalSns:
    """A real HTTPS server with the local CA's certificate for sns.us-east-1.amazonaws.com: the signing
    certificate on *.pem, a confirmation answer elsewhere; every request's path is counted in `paths`."""

    def __init__(self, pki: Pki) -> None:
        self.paths: list[str] = []
        pem, paths = pki.signing_pem, self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                body = pem if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.dir / "tls.pem")
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def message(pki: Pki, kind: str = "Notification", *, at: dt.datetime, version: str = "2", cert_url: str = CERT_URL,
            **extra: Any) -> dict[str, Any]:
    fields = {"Type": kind, "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn": TOPIC,
              "Timestamp": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "SignatureVersion": version, "SigningCertURL": cert_url}
    if kind == "Notification":
        fields.update(Subject="ALARM: dlq", Message=json.dumps({"AlarmName": "dlq", "NewStateValue": "ALARM"}))
    else:
        fields.update(Message="You have chosen to subscribe", Token="2336412f37fb",
                      SubscribeURL=f"https://{HOST}/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f37fb")
    fields.update(extra)
    # AWS's canonical form: "Key\nValue\n" for each present key of the type's list, in this order.
    keys = (["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"] if kind == "Notification" else
            ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"])
    text = "".join(f"{k}\n{fields[k]}\n" for k in keys if k in fields)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS's version 1 is SHA1
    signature = pki.signing_key.sign(text.encode(), padding.PKCS1v15(), digest)
    fields["Signature"] = base64.b64encode(signature).decode()
    return fields
