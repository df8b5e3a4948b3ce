"""OAuth2 client-credentials tokens for destinations (Salesforce, HubSpot, Dynamics, ...).

`TokenCache.token(cfg)` returns a bearer token for a destination's `oauth2:` block:

- fetched with the client-credentials grant (RFC 6749 §4.4): a form POST of `grant_type`,
  `client_id`, `client_secret` (client_secret_post, which Salesforce, HubSpot, Auth0 and
  Entra ID all accept), plus `scope` and `audience` when configured;
- cached per (token URL, client id, scope, audience) until `expires_in` minus a margin (60 s,
  or a tenth of the lifetime for short-lived tokens); a response without `expires_in`
  (Salesforce omits it) is cached for `default_lifetime` seconds, and a 401 refreshes it;
- fetched once for concurrent deliveries (one lock per cache key), so a batch of ten does
  not make ten token requests;
- `invalidate(cfg, token)` drops a token a destination rejected (401) — only if it is still
  the cached one, so ten deliveries failing with the same stale token refresh it once.

With `grant: jwt_bearer` the form is RFC 7523's signed assertion instead (core/jwt_bearer.py),
and a token answered without `expires_in` lives as long as the assertion did.

Every failure of the token endpoint raises `TokenError` (the delivery is retried): its
message names the endpoint and the OAuth error code, never the client secret or a token.
A private key that cannot sign raises `TokenKeyError` (a `config` failure: retrying cannot fix it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from hookline.core import deadline
from hookline.core.config import OAuth2Config
from hookline.core.jwt_bearer import GRANT_TYPE as JWT_BEARER
from hookline.core.jwt_bearer import sign_assertion
from hookline.secrets import SecretResolver, scrub

DEFAULT_LIFETIME_SECONDS = 900
MARGIN_SECONDS = 60
MAX_DETAIL_CHARS = 200
MAX_TOKEN_RESPONSE_BYTES = 64 * 1024  # tokens are a few KiB; JWTs with many claims stay well under


class TokenError(Exception):
    """The token endpoint failed; safe to log (no secret, no token)."""


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # on the cache's clock


def _key(cfg: OAuth2Config) -> tuple[str | None, ...]:
    return (cfg.grant, cfg.token_url, cfg.client_id, cfg.issuer, cfg.subject, cfg.scope, cfg.audience)


class TokenCache:
    def __init__(self, secrets: SecretResolver, session: requests.Session | None = None, *,
                 clock: Callable[[], float] = time.monotonic, margin_seconds: float = MARGIN_SECONDS,
                 default_lifetime: float = DEFAULT_LIFETIME_SECONDS, timeout_seconds: float = 10,
                 user_agent: str | None = None, wall_clock: Callable[[], float] = time.time) -> None:
        self._secrets = secrets
        self._wall_clock = wall_clock  # a JWT assertion's iat/exp are epoch seconds
        self._session = session or deadline.session()
        self._clock = clock
        self._margin = margin_seconds
        self._default_lifetime = default_lifetime
        self._timeout = timeout_seconds
        self._user_agent = user_agent
        self._tokens: dict[tuple[Any, ...], _Token] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetches = 0  # token requests made (observability and tests)

    # -- public

    def token(self, cfg: OAuth2Config, timeout: float | None = None) -> str:
        """A valid access token for `cfg`, from the cache or freshly fetched (raises TokenError)."""
        key = _key(cfg)
        cached = self._valid(key)
        if cached is not None:
            return cached
        with self._lock_for(key):
            cached = self._valid(key)  # another thread may have fetched it while we waited
            if cached is not None:
                return cached
            token = self._fetch(cfg, timeout)
            self._tokens[key] = token
            return token.value

    def cached(self, cfg: OAuth2Config) -> str | None:
        """A still-valid cached token, without fetching."""
        return self._valid(_key(cfg))

    def invalidate(self, cfg: OAuth2Config, token: str) -> None:
        """Forget `token` (the destination answered 401 with it), unless it was already replaced."""
        key = _key(cfg)
        with self._lock_for(key):
            current = self._tokens.get(key)
            if current is not None and current.value == token:
                del self._tokens[key]

    def known_values(self) -> list[str]:
        """Tokens currently cached: callers scrub these from error texts."""
        return [t.value for t in list(self._tokens.values())]

    # -- internals

    def _valid(self, key: tuple[Any, ...]) -> str | None:
        token = self._tokens.get(key)
        if token is not None and self._clock() < token.expires_at:
            return token.value
        return None

    def _lock_for(self, key: tuple[Any, ...]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _fetch(self, cfg: OAuth2Config, timeout: float | None) -> _Token:
        if cfg.grant == "jwt_bearer":
            secret = self._secrets.resolve(cfg.private_key or "")  # the model requires it for this grant
            form = {"grant_type": JWT_BEARER, "assertion": sign_assertion(cfg, secret, self._wall_clock())}
            default_lifetime = float(cfg.assertion_lifetime_seconds)
        else:
            secret = self._secrets.resolve(cfg.client_secret or "")  # as above
            form = {"grant_type": "client_credentials", "client_id": cfg.client_id or "", "client_secret": secret}
            default_lifetime = self._default_lifetime
            if cfg.scope:
                form["scope"] = cfg.scope
        if cfg.audience:
            form["audience"] = cfg.audience
        headers = {"Accept": "application/json"}
        if self._user_agent:
            headers["User-Agent"] = self._user_agent
        where = f"oauth2 token endpoint {cfg.token_url}"
        started = self._clock()
        self.fetches += 1
        limit = min(self._timeout, timeout) if timeout else self._timeout
        # The limit holds for the whole exchange (a trickled answer too), and the body read is capped.
        with deadline.limit(limit) as watch:
            try:
                resp = self._session.post(cfg.token_url, data=form, headers=headers, allow_redirects=False,
                                          timeout=limit, stream=True)
                raw, more = deadline.read_limited(resp, MAX_TOKEN_RESPONSE_BYTES)
                resp.close()
            except requests.Timeout:
                raise TokenError(f"{where} timed out") from None
            except requests.RequestException as e:
                if watch.expired:
                    raise TokenError(f"{where} timed out (no complete answer within {limit:g} s)") from None
                raise TokenError(f"{where} unreachable ({type(e).__name__})") from None
        if more:
            raise TokenError(f"{where} answered with a body larger than {MAX_TOKEN_RESPONSE_BYTES // 1024} KiB")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not 200 <= resp.status_code <= 299:
            detail = ""
            if isinstance(data, dict) and data.get("error"):
                detail = f": {data.get('error')}"
                if data.get("error_description"):
                    detail += f" ({data.get('error_description')})"
            detail = scrub(detail, [secret, form.get("assertion", "")])[:MAX_DETAIL_CHARS]
            raise TokenError(f"{where} answered {resp.status_code}{detail}")
        if not isinstance(data, dict):
            raise TokenError(f"{where} answered {resp.status_code} without a JSON object")
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise TokenError(f"{where} answered {resp.status_code} without an access_token")
        token_type = data.get("token_type")
        if isinstance(token_type, str) and token_type.lower() not in ("bearer", ""):
            raise TokenError(f"{where} issued a {token_type!r} token; only bearer tokens are supported")
        lifetime = default_lifetime
        expires_in = data.get("expires_in")
        try:
            if expires_in is not None and not isinstance(expires_in, bool) and float(expires_in) > 0:
                lifetime = float(expires_in)
        except (TypeError, ValueError):
            pass
        margin = min(self._margin, lifetime / 10)
        return _Token(value, started + lifetime - margin)
