"""`hookline send SOURCE` for an `auth:` source: the credentials its sender would attach (basic, api_key,
bearer), or its signature (hmac, provider: hookline's signer, for local trials only). An ip_allowlist is the
sending machine's address, so there is nothing to add; a jwt needs the issuer's private key, which a trial
does not have."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from hookline.commands._ops import header_line
from hookline.core.errors import SecretResolutionError
from hookline.ingress.providers import ProviderError, Request, load, sign
from hookline.ingress.source_auth import hmac_entry


def build(auth: Any, resolve: Callable[[str], str], body: bytes, url: str, *, content_type: str,
          extra: list[str]) -> tuple[dict[str, str], str]:
    """The headers and the URL (an api_key in the query added) for a trial request to an `auth:` source."""
    headers = {"Content-Type": content_type, "User-Agent": "hookline-send"}
    for item in extra:
        header = header_line(item)
        if header is None:
            raise ValueError(f"-H {item!r}: expected 'Name: value'")
        headers[header[0]] = header[1]
    try:
        added, query = auth_request(auth, resolve, body, url, headers)
    except SecretResolutionError as e:
        raise ValueError(str(e)) from None
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return {**headers, **added}, url


def auth_request(auth: Any, resolve: Callable[[str], str], body: bytes, url: str,
                 headers: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(headers to add, query parameters to add) that satisfy `auth` (a SourceAuthConfig); ValueError when a
    method cannot be met by a trial sender."""
    added: dict[str, str] = {}
    query: dict[str, str] = {}
    for m in (auth.all_of or [auth]):
        method, value = m.method, getattr(m, m.method)
        if method == "basic":
            pair = f"{resolve(value.user)}:{resolve(_first(value.password))}"
            added["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif method == "api_key":
            if value.header:
                added[value.header] = resolve(_first(value.value))
            else:
                query[value.query] = resolve(_first(value.value))
        elif method == "bearer":
            added["Authorization"] = "Bearer " + resolve(_first(value))
        elif method in ("hmac", "provider"):
            added.update(_signed(method, value, resolve, body, url, {**headers, **added}))
        elif method == "jwt":
            raise ValueError("a jwt source takes tokens its issuer signs: send through the issuer (e.g. a Pub/Sub "
                             "push subscription), or try the source with a copy using bearer or api_key")
        elif method == "all_of":
            more_headers, more_query = auth_request(m, resolve, body, url, headers)
            added.update(more_headers)
            query.update(more_query)
    return added, query


def _first(refs: str | list[str]) -> str:
    return refs[0] if isinstance(refs, list) else refs


def _signed(method: str, cfg: Any, resolve: Callable[[str], str], body: bytes, url: str,
            headers: dict[str, str]) -> dict[str, str]:
    try:
        entry = hmac_entry(cfg, "auth.hmac") if method == "hmac" else load(cfg.name)
    except ProviderError as e:
        raise ValueError(str(e)) from None
    request = Request(method="POST", headers={k.lower(): v for k, v in headers.items()}, body=body, url=url)
    return sign(entry, resolve(cfg.secrets[0]), request, now=time.time())
