"""HTTP delivery to a destination: one attempt, its headers, its result. The only HTTP client.

What a destination receives (the delivery contract):

- the body given (the mapped JSON, or the original body unchanged) with its Content-Type;
- `Idempotency-Key: <event id>:<route>` — the same on every retry and replay;
- the destination's `headers`, each `{secret:REF}` resolved by the SecretResolver;
- with `signing:` the Standard Webhooks headers `webhook-id` (= the idempotency key, stable
  across retries so the receiver can deduplicate), `webhook-timestamp` (the attempt's time)
  and `webhook-signature`, over the exact bytes sent;
- with `oauth2:` `Authorization: Bearer <token>` from the TokenCache (client credentials or JWT
  bearer); a 401 drops the token, fetches a new one and resends once;
- with `auth:` the scheme's credential (core/auth.py): Basic, an API key header or query
  parameter, a bearer token, a SigV4 signature over the final request (botocore's, through the
  RequestSigner port), and/or a client certificate (mTLS);
- through the destination's `proxy:` or the stack's HOOKLINE_PROXY, when set;
- `User-Agent: hookline/<version>`.

Header precedence, lowest first: defaults (User-Agent, Content-Type) < the destination's
headers < the auth scheme's headers < Idempotency-Key < signature headers < the OAuth2
Authorization < the SigV4 headers (signed last, over everything else).

`url` and `method` may be given per send: a destination whose url or method is templated
(mapping/urls.py) is resolved by the engine, with the event, before it gets here.

Redirects are not followed (see outcomes.py). Connections are pooled per host in one
`requests.Session` sized for the batch's concurrency; cookies are never stored, so one
destination's cookies cannot reach another. A response body is read up to 64 KiB. The timeout
(or what is left of the invocation) bounds the whole exchange, body included (deadline.py).

Nothing secret leaves this module: error texts carry status codes, exception class names
and at most 500 characters of a response body, with every secret value, token and the
signature scrubbed out (a destination that echoes request headers cannot leak them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from hookline import __version__
from hookline.core import outcomes
from hookline.core.auth import AuthConfigError, AuthParts, DestinationAuth, with_params
from hookline.core.config import DestinationConfig
from hookline.core.deadline import limit as deadline_limit
from hookline.core.deadline import session as deadline_session
from hookline.core.errors import SecretResolutionError
from hookline.core.jwt_bearer import TokenKeyError
from hookline.core.oauth import TokenCache, TokenError
from hookline.core.outcomes import HttpResult, truncate
from hookline.core.signing import sign_standard_webhooks
from hookline.secrets import HEADER_SECRET, SecretResolver, scrub

if TYPE_CHECKING:
    from hookline.core.ports import RequestSigner

USER_AGENT = f"hookline/{__version__}"
IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_RESPONSE_BYTES = 64 * 1024
MIN_REQUEST_SECONDS = 0.5  # less time than this left in the invocation: do not start a request


def idempotency_key(event_id: str, route: str) -> str:
    return f"{event_id}:{route}"


@dataclass
class _Attempt:
    headers: dict[str, str]
    scrub: list[str] = field(default_factory=list)
    url: str = ""
    method: str = "POST"
    auth: AuthParts = field(default_factory=AuthParts)
    proxies: dict[str, str] | None = None


class HttpSender:
    """Sends one delivery (thread-safe: the deliver function calls it from a pool of threads)."""

    def __init__(self, secrets: SecretResolver, session: requests.Session | None = None, *, pool_size: int = 10,
                 oauth: TokenCache | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, user_agent: str = USER_AGENT,
                 signer: RequestSigner | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.secrets = secrets
        self.session = session or pooled_session(pool_size)
        self.oauth = oauth or TokenCache(secrets, self.session, user_agent=user_agent)
        self.auth = DestinationAuth(secrets, signer, environ=environ)
        self._clock = clock
        self._monotonic = monotonic
        self.user_agent = user_agent

    def send(self, dest: DestinationConfig, *, event_id: str, route: str, body: bytes,
             content_type: str = "application/json", deadline: float | None = None, url: str | None = None,
             method: str | None = None) -> HttpResult:
        """Deliver `body`; `deadline` (on the monotonic clock) bounds the time spent, timeouts included.

        `url` / `method`: this event's, when the destination's are templated (else the destination's own).
        """
        started = self._clock()
        key = idempotency_key(event_id, route)
        try:
            attempt = self._headers(dest, key, body, content_type, started)
            attempt.url, attempt.method = _request_line(dest, url, method)
            attempt.proxies, proxy_secrets = self.auth.proxies(dest)
            attempt.scrub += proxy_secrets
        except SecretResolutionError as e:
            # An unset variable will not appear by retrying: a config failure now, not retries_exhausted later.
            kind = outcomes.INVALID_REQUEST if e.permanent else outcomes.SECRET
            return HttpResult(started, 0.0, error=truncate(str(e)), error_kind=kind)
        except (_Unbuildable, AuthConfigError) as e:
            return HttpResult(started, 0.0, error=truncate(str(e)), error_kind=outcomes.INVALID_REQUEST)
        token: str | None = None
        if dest.oauth2 is not None:
            budget = self._budget(dest.timeout_seconds, deadline)
            if budget is None and self.oauth.cached(dest.oauth2) is None:
                # A token fetch would overrun the invocation: retry later instead.
                return HttpResult(started, 0.0, error="not sent: the invocation's time budget is spent",
                                  error_kind=outcomes.TIMEOUT)
            try:
                token = self.oauth.token(dest.oauth2, timeout=budget)
            except TokenKeyError as e:  # the key cannot sign: retrying cannot fix it
                return HttpResult(started, 0.0, error=truncate(str(e)), error_kind=outcomes.INVALID_REQUEST)
            except (TokenError, SecretResolutionError) as e:
                return HttpResult(started, 0.0, error=truncate(str(e)), error_kind=outcomes.OAUTH)
            attempt.headers["Authorization"] = f"Bearer {token}"
            attempt.scrub.append(token)
        result = self._request(dest, body, attempt, started, deadline, 0.0, 0)
        if result.status_code == 401 and dest.oauth2 is not None and token is not None:
            # The token expired early or was revoked: one fresh token, one more try.
            self.oauth.invalidate(dest.oauth2, token)
            budget = self._budget(dest.timeout_seconds, deadline)
            if budget is None:
                return HttpResult(started, result.latency_ms, status_code=result.status_code,
                                  error="token refused (401); no time left in the invocation to fetch a new one",
                                  error_kind=outcomes.TIMEOUT, requests_made=result.requests_made)
            try:
                token = self.oauth.token(dest.oauth2, timeout=budget)
            except (TokenError, TokenKeyError, SecretResolutionError) as e:
                return HttpResult(started, result.latency_ms, error=truncate(str(e)), error_kind=outcomes.OAUTH,
                                  requests_made=result.requests_made)
            attempt.headers["Authorization"] = f"Bearer {token}"
            attempt.scrub.append(token)
            result = self._request(dest, body, attempt, started, deadline, result.latency_ms, result.requests_made)
        return result

    # -- building the request

    def _headers(self, dest: DestinationConfig, key: str, body: bytes, content_type: str,
                 started: float) -> _Attempt:
        attempt = _Attempt({"User-Agent": self.user_agent, "Content-Type": content_type})
        for name, template in dest.headers.items():
            attempt.headers[name] = self.secrets.interpolate(template)
            attempt.scrub += [self.secrets.resolve(ref) for ref in HEADER_SECRET.findall(template)]
        attempt.auth = self.auth.parts(dest)
        attempt.scrub += attempt.auth.scrub
        for name, value in attempt.auth.headers.items():
            _set(attempt.headers, name, value)
        _set(attempt.headers, IDEMPOTENCY_KEY, key)
        if dest.signing is not None:
            secret = self.secrets.resolve(dest.signing.secret)
            attempt.scrub.append(secret)
            try:
                signed = sign_standard_webhooks(secret, key, int(started), body)
            except ValueError:
                raise _Unbuildable(f"signing secret {dest.signing.secret} is not a whsec_<base64> key") from None
            for name, value in signed.items():
                _set(attempt.headers, name, value)
            attempt.scrub.append(signed["webhook-signature"].partition(",")[2])
        _check_header_values(attempt.headers)
        return attempt

    def _budget(self, timeout: float, deadline: float | None) -> float | None:
        if deadline is None:
            return timeout
        left = deadline - self._monotonic()
        return None if left < MIN_REQUEST_SECONDS else min(timeout, left)

    # -- one HTTP round trip

    def _request(self, dest: DestinationConfig, body: bytes, attempt: _Attempt, started: float,
                 deadline: float | None, latency_ms: float, made: int) -> HttpResult:
        timeout = self._budget(dest.timeout_seconds, deadline)
        if timeout is None:
            return HttpResult(started, latency_ms, error="not sent: the invocation's time budget is spent",
                              error_kind=outcomes.TIMEOUT, requests_made=made)
        url = with_params(attempt.url, attempt.auth.params)
        headers = attempt.headers
        try:
            signed = self.auth.sign(dest, attempt.method, url, headers, body)
        except AuthConfigError as e:
            return HttpResult(started, latency_ms, error=truncate(str(e)), error_kind=outcomes.INVALID_REQUEST,
                              requests_made=made)
        if signed:
            headers = {**headers, **signed}
            attempt.scrub.append(signed.get("Authorization", "").rpartition("Signature=")[2])
        t0 = time.perf_counter()
        # `timeout` bounds each socket read; the watch bounds the whole exchange, body included.
        with deadline_limit(timeout) as watch:
            try:
                resp = self.session.request(attempt.method, url, data=body, headers=headers, timeout=timeout,
                                            allow_redirects=False, stream=True, cert=attempt.auth.cert,
                                            proxies=attempt.proxies)
            except requests.Timeout:
                return self._failed(started, latency_ms, t0, made + 1, outcomes.TIMEOUT,
                                    f"timed out after {timeout:g} s")
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader,
                    requests.exceptions.URLRequired) as e:
                # Messages of these exceptions may quote a header value: name the class only.
                return self._failed(started, latency_ms, t0, made, outcomes.INVALID_REQUEST,
                                    f"request cannot be built ({type(e).__name__}): check the destination's url "
                                    "and headers")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as e:
                if watch.expired:
                    return self._failed(started, latency_ms, t0, made + 1, outcomes.TIMEOUT,
                                        f"timed out after {timeout:g} s (no complete response)")
                return self._failed(started, latency_ms, t0, made + 1, outcomes.CONNECTION,
                                    f"connection failed ({type(e).__name__})")
            except requests.RequestException as e:
                return self._failed(started, latency_ms, t0, made + 1, outcomes.CONNECTION,
                                    f"request failed ({type(e).__name__})")
            try:
                excerpt = _read_limited(resp)
            except (requests.RequestException, OSError) as e:
                if watch.expired:
                    return self._failed(started, latency_ms, t0, made + 1, outcomes.TIMEOUT,
                                        f"timed out after {timeout:g} s (no complete response)")
                return self._failed(started, latency_ms, t0, made + 1, outcomes.CONNECTION,
                                    f"response broken off ({type(e).__name__})")
            finally:
                resp.close()
        latency_ms += (time.perf_counter() - t0) * 1000
        status = resp.status_code
        error = None
        if not 200 <= status <= 299:
            text = excerpt.decode("utf-8", errors="replace")
            if 300 <= status <= 399 and resp.headers.get("Location"):
                text = f"redirect to {resp.headers['Location']} not followed; update the destination url. {text}"
            error = truncate(scrub(f"HTTP {status}: {text}".strip(), attempt.scrub + self.oauth.known_values()))
        return HttpResult(started, latency_ms, status_code=status, error=error,
                          retry_after=resp.headers.get("Retry-After"), requests_made=made + 1, body=excerpt)

    @staticmethod
    def _failed(started: float, latency_ms: float, t0: float, made: int, kind: str, error: str) -> HttpResult:
        return HttpResult(started, latency_ms + (time.perf_counter() - t0) * 1000, error=error, error_kind=kind,
                          requests_made=made)


class _Unbuildable(Exception):
    """The request cannot be built from the configuration (a permanent `config` failure)."""


def _request_line(dest: DestinationConfig, url: str | None, method: str | None) -> tuple[str, str]:
    if method is None and not isinstance(dest.method, str):
        raise _Unbuildable("the destination's method depends on the event (method: {when: ...}): the engine "
                           "resolves it before sending")
    return url or dest.url or "", method or str(dest.method)


def _check_header_values(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            raise _Unbuildable(f"header {name} has a line break or NUL in its value (check its secret)")
        try:
            value.encode("latin-1")  # what http.client sends; anything else fails mid-request
        except UnicodeEncodeError:
            raise _Unbuildable(f"header {name} has characters HTTP headers cannot carry "
                               "(non-Latin-1; check its value or secret)") from None


def _set(headers: dict[str, str], name: str, value: str) -> None:
    """Set a header, replacing any spelling of the same name (header names are case-insensitive)."""
    for existing in [k for k in headers if k.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def _read_limited(resp: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)[:MAX_RESPONSE_BYTES]


def pooled_session(pool_size: int = 10) -> requests.Session:
    """A Session whose per-host pool holds `pool_size` connections (the batch's concurrency)."""
    return deadline_session(pool_size)
