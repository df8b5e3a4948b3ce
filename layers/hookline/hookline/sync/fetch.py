"""The sync's HTTP client (an adapter): one page per call, with the sync's credentials.

- Credentials: the sync's `headers` (each `{secret:REF}` resolved) and, with `oauth2:`, a
  client-credentials bearer token from the same TokenCache the destinations use (a 401 drops
  the token and the page is asked for once more).
- Redirects are never followed: a 3xx is a failed page. The credentials must not travel to
  wherever a redirect points, and a source API that moved should be reconfigured, not chased.
- A page is read up to `max_page_bytes` and refused past it, before JSON parsing, so one
  oversized answer cannot exhaust the function's memory.
- 429 / 503 with Retry-After raise `RateLimited` with the delay in seconds; the runner decides
  whether to wait within its deadline or stop and resume on the next run.
Error texts never carry a secret: the resolved values and tokens are scrubbed out.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any

import requests

from hookline import __version__
from hookline.config import SyncConfig
from hookline.delivery.oauth import TokenCache, TokenError
from hookline.errors import SecretResolutionError
from hookline.secrets import HEADER_SECRET, SecretResolver, scrub
from hookline.sync.pagination import Request

MAX_ERROR_BODY = 200


@dataclass(frozen=True)
class FetchedPage:
    data: Any
    link_next: str | None = None  # the response's Link rel="next", if any
    bytes: int = 0


class FetchError(Exception):
    """A page could not be fetched; the message is safe to log and show."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(FetchError):
    def __init__(self, message: str, retry_after: float, status: int) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float, default: float = 1.0) -> float:
    """Retry-After as seconds (delta-seconds or an HTTP date); `default` when absent or unreadable."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(when.timestamp() - now, 0.0)


class HttpFetcher:
    def __init__(self, secrets: SecretResolver, session: requests.Session | None = None,
                 tokens: TokenCache | None = None, clock: Any = time.time) -> None:
        self._secrets = secrets
        self._session = session or requests.Session()
        self._session.trust_env = False  # no proxy or .netrc credentials picked up from the environment
        self._tokens = tokens or TokenCache(secrets, self._session)
        self._clock = clock

    def __call__(self, sync: SyncConfig, request: Request) -> FetchedPage:
        try:
            headers = {"Accept": "application/json", "User-Agent": f"hookline/{__version__}"}
            headers |= {k: self._secrets.interpolate(v) for k, v in sync.headers.items()}
            token = self._tokens.token(sync.oauth2, sync.timeout_seconds) if sync.oauth2 else None
        except (SecretResolutionError, TokenError) as e:
            raise FetchError(f"credentials unavailable: {e}") from None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self._get(sync, request, headers)
        if resp.status_code == 401 and token and sync.oauth2:
            resp.close()
            self._tokens.invalidate(sync.oauth2, token)
            try:
                token = self._tokens.token(sync.oauth2, sync.timeout_seconds)
            except TokenError as e:
                raise FetchError(f"credentials unavailable: {e}") from None
            headers["Authorization"] = f"Bearer {token}"
            resp = self._get(sync, request, headers)
        secrets = [headers[k] for k, v in sync.headers.items() if HEADER_SECRET.search(v)]
        secrets += self._tokens.known_values()
        try:
            return self._read(sync, request, resp, secrets)
        finally:
            resp.close()

    def _get(self, sync: SyncConfig, request: Request, headers: dict[str, str]) -> requests.Response:
        try:
            return self._session.request(sync.method, request.url, params=request.params, headers=headers,
                                         timeout=sync.timeout_seconds, allow_redirects=False, stream=True)
        except requests.Timeout:
            raise FetchError(f"{request.url} did not answer within {sync.timeout_seconds} s") from None
        except requests.RequestException as e:
            raise FetchError(f"{request.url} unreachable ({type(e).__name__})") from None

    def _read(self, sync: SyncConfig, request: Request, resp: requests.Response, secrets: list[str]) -> FetchedPage:
        status = resp.status_code
        where = f"{request.url} answered {status}"
        if status in (429, 503) and (status == 429 or resp.headers.get("Retry-After")):
            delay = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
            raise RateLimited(f"{where} (Retry-After {resp.headers.get('Retry-After') or 'absent'})", delay, status)
        if 300 <= status < 400:
            raise FetchError(f"{where}, a redirect to {resp.headers.get('Location', '?')!r}: not followed "
                             "(set syncs.<name>.url to the final address)", status)
        body = self._body(resp, sync.max_page_bytes, where)
        if not 200 <= status < 300:
            text = scrub(body[:MAX_ERROR_BODY].decode("utf-8", "replace"), secrets)
            raise FetchError(f"{where}: {' '.join(text.split())}", status)
        try:
            data = json.loads(body)
        except ValueError:
            raise FetchError(f"{where} with a body that is not JSON ({len(body)} bytes)", status) from None
        link = (resp.links.get("next") or {}).get("url")
        return FetchedPage(data, link, len(body))

    @staticmethod
    def _body(resp: requests.Response, limit: int, where: str) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{where} with a {declared}-byte page, over max_page_bytes ({limit}): ask for smaller "
                             "pages (pagination.limit) or raise syncs.<name>.max_page_bytes")
        chunks, size = [], 0
        for chunk in resp.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{where} with a page over max_page_bytes ({limit} bytes): ask for smaller "
                                 "pages (pagination.limit) or raise syncs.<name>.max_page_bytes")
            chunks.append(chunk)
        return b"".join(chunks)
