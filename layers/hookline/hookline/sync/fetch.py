"""The sync's HTTP client (an adapter): one page per call, with the sync's credentials.

- Credentials: the sync's `headers` (each `{secret:REF}` resolved) and, with `oauth2:`, a
  client-credentials bearer token from the same TokenCache the destinations use (a 401 drops
  the token and the page is asked for once more).
- Redirects are never followed: a 3xx is a failed page. The credentials must not travel to
  wherever a redirect points, and a source API that moved should be reconfigured, not chased.
- A page is read up to `max_page_bytes` and refused past it, before JSON parsing, so one
  oversized answer cannot exhaust the function's memory.
- `timeout_seconds` is a wall-clock limit on the whole page, token fetch and body included
  (the deadline watchdog of core/deadline.py): a trickling source is cut off there.
- 429 / 503 with Retry-After raise `RateLimited` with the delay in seconds; the runner decides
  whether to wait within its deadline or stop and resume on the next run.
Error texts never carry a secret: the resolved values and tokens are scrubbed out.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import requests

from hookline import __version__
from hookline.core import deadline
from hookline.core.auth import DIRECT, PROXY_ENV
from hookline.core.config import OAuth2Config, SyncConfig
from hookline.core.errors import SecretResolutionError
from hookline.core.oauth import TokenCache, TokenError
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
    """`timeout_seconds` bounds a whole page: the token fetch, the request, a 401's second token and
    request, and the body read together. requests' own timeout bounds each socket read only, so a
    source trickling a byte a second held a page 79.9 s under `timeout_seconds: 2`; the deadline
    watchdog (core/deadline.py) shuts the socket when the page's time is up."""

    def __init__(self, secrets: SecretResolver, session: requests.Session | None = None,
                 tokens: TokenCache | None = None, clock: Any = time.time, monotonic: Any = time.monotonic,
                 proxy: str | None = None) -> None:
        self._secrets = secrets
        self._session = session or deadline.session()
        self._session.trust_env = False  # no proxy or .netrc credentials picked up from the environment
        # ...but the stack's EgressProxy (HOOKLINE_PROXY), as destinations use it; `direct`/empty: none.
        chosen = (os.environ.get(PROXY_ENV, "") if proxy is None else proxy).strip()
        self._proxy = None if not chosen or chosen.lower() == DIRECT else chosen
        self._tokens = tokens or TokenCache(secrets, self._session)
        self._clock = clock
        self._monotonic = monotonic

    def __call__(self, sync: SyncConfig, request: Request) -> FetchedPage:
        ends = self._monotonic() + sync.timeout_seconds
        oauth2 = sync.oauth2
        try:
            headers = {"Accept": "application/json", "User-Agent": f"hookline/{__version__}"}
            headers |= {k: self._secrets.interpolate(v) for k, v in sync.headers.items()}
            token = self._token(oauth2, sync, ends) if oauth2 else None
        except (SecretResolutionError, TokenError) as e:
            raise FetchError(f"credentials unavailable: {e}") from None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        secrets = [headers[k] for k, v in sync.headers.items() if HEADER_SECRET.search(v)]
        try:
            proxies = self._proxies(secrets)
        except SecretResolutionError as e:
            raise FetchError(f"proxy credentials unavailable: {e}") from None
        page = self._page(sync, request, headers, ends, secrets, refresh_on_401=bool(token), proxies=proxies)
        if page is None and oauth2 is not None and token:
            self._tokens.invalidate(oauth2, token)
            try:
                headers["Authorization"] = f"Bearer {self._token(oauth2, sync, ends)}"
            except TokenError as e:
                raise FetchError(f"credentials unavailable: {e}") from None
            page = self._page(sync, request, headers, ends, secrets, refresh_on_401=False, proxies=proxies)
        if page is None:  # only a refreshable 401 comes back as None, and it was refreshed above
            raise FetchError(f"{request.url} answered 401", 401)
        return page

    def _proxies(self, secrets: list[str]) -> dict[str, str] | None:
        if self._proxy is None:
            return None
        secrets += [self._secrets.resolve(ref) for ref in HEADER_SECRET.findall(self._proxy)]
        url = self._secrets.interpolate(self._proxy)
        return {"http": url, "https": url}

    def _token(self, oauth2: OAuth2Config, sync: SyncConfig, ends: float) -> str:
        left = ends - self._monotonic()
        if left <= 0:
            raise TokenError(f"no time left for the oauth2 token endpoint within timeout_seconds "
                             f"({sync.timeout_seconds:g} s)")
        return self._tokens.token(oauth2, left)

    def _page(self, sync: SyncConfig, request: Request, headers: dict[str, str], ends: float, secrets: list[str],
              *, refresh_on_401: bool, proxies: dict[str, str] | None = None) -> FetchedPage | None:
        """The page, or None when the source answered 401 to a token worth refreshing once."""
        left = ends - self._monotonic()
        timed_out = FetchError(f"{request.url} did not answer within {sync.timeout_seconds:g} s (the whole page: "
                               "a slow answer is cut off there); the next run resumes from this page. If the "
                               "source is just slow, raise syncs.<name>.timeout_seconds or ask for smaller pages")
        if left <= 0:
            raise timed_out
        with deadline.limit(left) as watch:
            try:
                resp = self._session.request(sync.method, request.url, params=request.params, headers=headers,
                                             timeout=left, allow_redirects=False, stream=True, proxies=proxies)
                try:
                    if resp.status_code == 401 and refresh_on_401:
                        return None
                    page = self._read(sync, request, resp, secrets + self._tokens.known_values())
                finally:
                    resp.close()
            except requests.RequestException as e:
                if watch.expired or isinstance(e, requests.Timeout):
                    raise timed_out from None
                raise FetchError(f"{request.url} unreachable ({type(e).__name__})") from None
            except FetchError:
                if watch.expired:  # a body cut short by the watchdog reads as truncated JSON
                    raise timed_out from None
                raise
        if watch.expired:
            raise timed_out
        return page

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
