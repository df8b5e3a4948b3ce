"""SigV4 request signing for `auth: {aws_sigv4: {service, region}}` destinations: botocore's own signer.

API Gateway with IAM auth, Lambda function URLs (AWS_IAM), OpenSearch: each checks a SigV4
signature made with the calling role's credentials. botocore's `SigV4Auth` signs, with the
credentials botocore's chain finds (the Lambda role's, from the environment), refreshed by
botocore when they near expiry. Every header given is signed except the few botocore leaves
out (User-Agent, Expect, X-Amzn-Trace-Id), so the sender must send exactly these headers, in
any order, and add none that are signed later.
"""

from __future__ import annotations

import threading
from typing import Any

SIGNED_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


class SigV4Error(Exception):
    """No credentials to sign with (a configuration problem of the function's environment)."""


class SigV4Signer:
    """implements ports.RequestSigner; thread-safe (credentials are frozen per signature)."""

    def __init__(self, credentials: Any | None = None) -> None:
        self._credentials = credentials  # botocore Credentials; None: botocore's default chain, on first use
        self._lock = threading.Lock()

    def sign(self, *, method: str, url: str, headers: dict[str, str], body: bytes, service: str,
             region: str) -> dict[str, str]:
        # lazy: botocore's auth module is only needed by destinations that sign.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        # Lambda function URLs and API Gateway accept the payload hash header; S3-style services need it.
        request.headers["X-Amz-Content-Sha256"] = SigV4Auth(None, service, region).payload(request)
        SigV4Auth(self._frozen(), service, region).add_auth(request)
        return {name: value for name, value in request.headers.items() if name.lower() in SIGNED_HEADERS}

    def _frozen(self) -> Any:
        with self._lock:
            if self._credentials is None:
                # lazy: with the signer's modules, only for destinations that sign.
                import botocore.session

                self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                raise SigV4Error("no AWS credentials to sign with: the function's role provides them in AWS; "
                                 "locally set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
            return self._credentials.get_frozen_credentials()
