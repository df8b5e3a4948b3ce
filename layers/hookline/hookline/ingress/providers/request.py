"""What a provider's signature may cover: the request as the sender made it, not just headers and body.

Built once at the edge (functions/ingress/app.py) from API Gateway's HTTP API event, so URL-signing
providers (Twilio, HubSpot v3, Mandrill ...) see the URL the sender addressed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""
    query: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None  # the public URL, query string included
    source_ip: str | None = None

    def __post_init__(self) -> None:
        # Callers pass lower-cased names; lowering here forgives a slip (a test's "X-Slack-Signature").
        if any(k != k.lower() for k in self.headers):
            object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})


def public_url(event: Mapping[str, Any], base: str | None = None) -> str:
    """The URL the sender signed: `base` (a source's `public_url`, when a custom domain or proxy rewrites
    the path) or https://{domainName}{rawPath}, plus `?rawQueryString` when there is one."""
    ctx = event.get("requestContext") or {}
    query = event.get("rawQueryString") or ""
    if base is None:
        headers = event.get("headers") or {}
        # API Gateway answers on https only and sets X-Forwarded-Proto itself; `hookline dev` says http.
        scheme = "http" if headers.get("x-forwarded-proto") == "http" else "https"
        path = event.get("rawPath") or (ctx.get("http") or {}).get("path") or "/"
        base = f"{scheme}://{ctx.get('domainName') or 'localhost'}{path}"
    return f"{base}?{query}" if query else base


def from_http_api_event(event: Mapping[str, Any], body: bytes) -> Request:
    """A Request from an API Gateway HTTP API (payload 2.0) event whose body is already decoded."""
    http = (event.get("requestContext") or {}).get("http") or {}
    return Request(method=(http.get("method") or "POST").upper(),
                   headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
                   body=body, query=dict(event.get("queryStringParameters") or {}),
                   url=public_url(event), source_ip=http.get("sourceIp"))
