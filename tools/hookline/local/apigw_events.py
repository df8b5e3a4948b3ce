"""API Gateway HTTP API (payload format 2.0) events, as API Gateway builds them.

Used by `hookline dev`'s HTTP server and by events/ generation, so the ingress handler
sees the same event shape locally as behind a real HTTP API.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from email.utils import formatdate
from urllib.parse import parse_qsl

# API Gateway sends text bodies as-is and everything else base64-encoded.
_TEXT_TYPES = ("application/json", "text/", "application/xml", "application/x-www-form-urlencoded",
               "application/javascript", "+json", "+xml")


def _is_text(content_type: str | None) -> bool:
    ct = (content_type or "").lower()
    return any(t in ct for t in _TEXT_TYPES)


def http_api_event(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    query: str = "",
    route_key: str = "POST /webhooks/{source}",
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
    stage: str = "$default",
    now: float | None = None,
) -> dict:
    now = time.time() if now is None else now
    # HTTP APIs lower-case header names and join repeated headers with commas.
    lower: dict[str, str] = {}
    for k, v in headers.items():
        key = k.lower()
        lower[key] = f"{lower[key]},{v}" if key in lower else v
    domain = lower.get("host") or f"{api_id}.execute-api.us-east-1.amazonaws.com"
    cookies = [c.strip() for c in lower.pop("cookie", "").split(";") if c.strip()]
    is_text = _is_text(lower.get("content-type")) and _utf8(body)
    qs: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        qs[k] = f"{qs[k]},{v}" if k in qs else v
    event: dict = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            # The host the client addressed, as API Gateway reports it (a custom domain, or execute-api's):
            # URL-signing providers (Twilio ...) sign that URL, so `hookline dev` must not invent another.
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": lower.get("user-agent", "")},
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route_key,
            "stage": stage,
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if qs:
        event["queryStringParameters"] = qs
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode("ascii")
    return event


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
