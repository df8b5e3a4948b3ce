"""The providers' event-listing APIs, one page per call (an adapter: `requests`, no redirects).

- Stripe: `GET /v1/events?created[gte]=SINCE&limit=100[&starting_after=ID]`, newest first, `has_more`;
  the key as a Bearer token. Each listed event is the object Stripe posts as the webhook body, with the
  same `id`, so it is recorded under the id its webhook would have had.
- GitHub: `GET /app/hook/deliveries` or `/repos/OWNER/REPO/hooks/ID/deliveries` (`per_page=100`, newest
  first, the next page in the Link header's cursor); the payload is not in the list, so a delivery that
  failed is redelivered by GitHub (`POST .../deliveries/ID/attempts`) and comes in as a webhook again, its
  `guid` the `X-GitHub-Delivery` id ingress records it under.

429 / 503 with Retry-After raise `RateLimited` (the runner waits within its deadline or stops and resumes).
Errors never carry the key.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import requests

from hookline import __version__
from hookline.core.config import ReconcileConfig
from hookline.core.errors import SecretResolutionError

STRIPE_API = "https://api.stripe.com"
GITHUB_API = "https://api.github.com"
PROVIDERS = ("stripe", "github")
_HOOK = re.compile(r"^[\w.-]+/[\w.-]+/\d+$")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class ApiError(Exception):
    """A page could not be read; safe to log and show (no key)."""


class RateLimited(ApiError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Listed:
    """One event the provider knows of. `redeliver`: GitHub's delivery id to ask again (no payload to record)."""

    event_id: str
    type: str | None
    created: float
    body: bytes = b""
    parsed: Any = None
    failed: bool = False  # GitHub: the delivery did not succeed
    redeliver: int | None = None


@dataclass
class Page:
    events: list[Listed]
    cursor: dict[str, Any] | None  # the next page's request (saved as the checkpoint); None: the last page
    done_before: bool = False  # GitHub: the page reached deliveries older than the lookback


@dataclass
class Http:
    """GET / POST with the key; `session` injectable for tests (a real local server in them)."""

    key: Callable[[], str]
    timeout: float = 20.0
    session: Any = field(default_factory=requests.Session)

    def call(self, method: str, url: str, headers: dict[str, str]) -> requests.Response:
        try:
            key = self.key()
        except SecretResolutionError as e:
            raise ApiError(f"reconcile.api_key could not be resolved: {e}") from None
        hdrs = {"Authorization": f"Bearer {key}", "User-Agent": f"hookline/{__version__} reconcile", **headers}
        where = url.split("?")[0]
        try:
            r = self.session.request(method, url, headers=hdrs, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as e:
            raise ApiError(f"{method} {where}: {type(e).__name__}: {str(e).replace(key, '***')[:200]}") from None
        if r.status_code in (429, 503) and r.headers.get("Retry-After"):
            raise RateLimited(f"{method} {where} answered {r.status_code}", _retry_after(r.headers["Retry-After"]))
        if not 200 <= r.status_code < 300:
            text = r.text[:200].replace(key, "***")
            hint = " (check reconcile.api_key: it needs read access to events)" if r.status_code in (401, 403) else ""
            raise ApiError(f"{method} {where} answered {r.status_code}{hint}: {text}")
        return r


def _retry_after(value: str) -> float:
    try:
        return max(float(value), 0.0)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(when.timestamp() - time.time(), 0.0)


class Stripe:
    def __init__(self, cfg: ReconcileConfig, http: Http) -> None:
        self.base = (cfg.api_url or STRIPE_API).rstrip("/")
        self.http = http

    def first(self, since: float) -> dict[str, Any]:
        return {"created_gte": int(since), "starting_after": None}

    def page(self, cursor: dict[str, Any]) -> Page:
        query: dict[str, Any] = {"created[gte]": cursor["created_gte"], "limit": 100}
        if cursor.get("starting_after"):
            query["starting_after"] = cursor["starting_after"]
        data = _json(self.http.call("GET", f"{self.base}/v1/events?{urlencode(query)}", {}))
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ApiError("GET /v1/events: no `data` list in the answer (is reconcile.api_url Stripe's API?)")
        events = [Listed(event_id=str(e["id"]), type=e.get("type"), created=float(e.get("created") or 0),
                         body=json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode(), parsed=e)
                  for e in items if isinstance(e, dict) and e.get("id")]
        more = bool(data.get("has_more")) and bool(events)
        return Page(events, {**cursor, "starting_after": events[-1].event_id} if more else None)


class GitHub:
    def __init__(self, cfg: ReconcileConfig, http: Http) -> None:
        base = (cfg.api_url or GITHUB_API).rstrip("/")
        owner_repo_hook = cfg.hook.split("/")
        self.deliveries = (f"{base}/app/hook/deliveries" if cfg.hook == "app" else
                           f"{base}/repos/{owner_repo_hook[0]}/{owner_repo_hook[1]}/hooks/{owner_repo_hook[2]}"
                           "/deliveries")
        self.http = http
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

    def first(self, since: float) -> dict[str, Any]:
        return {"since": since, "url": f"{self.deliveries}?per_page=100"}

    def page(self, cursor: dict[str, Any]) -> Page:
        r = self.http.call("GET", cursor["url"], self.headers)
        items = _json(r)
        if not isinstance(items, list):
            raise ApiError("GET deliveries: not a list (is reconcile.api_url GitHub's API, reconcile.hook right?)")
        events, older = [], False
        for d in items:
            if not isinstance(d, dict) or not d.get("guid"):
                continue
            created = _epoch(d.get("delivered_at"))
            if created < cursor["since"]:
                older = True
                continue
            ok = 200 <= int(d.get("status_code") or 0) < 300
            events.append(Listed(event_id=str(d["guid"]), type=d.get("event"), created=created, failed=not ok,
                                 redeliver=None if ok else int(d["id"])))
        nxt = _NEXT.search(r.headers.get("Link") or "")
        return Page(events, {**cursor, "url": nxt.group(1)} if nxt and not older else None, older)

    def redeliver(self, listed: Listed) -> None:
        self.http.call("POST", f"{self.deliveries}/{listed.redeliver}/attempts", self.headers)


def _epoch(text: Any) -> float:
    if not text:
        return 0.0
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        raise ApiError(f"{r.request.method} {r.url.split('?')[0]}: the answer is not JSON") from None


def provider_of(src: Any) -> str | None:
    """Whose API lists the source's events: its catalog `provider:`, or a built-in `verify.scheme` of that name
    (the same event ids either way: Stripe's body `id`, GitHub's X-GitHub-Delivery)."""
    return src.provider or (src.verify.scheme if src.verify is not None else None)


def hook_problem(hook: str) -> str | None:
    return None if hook == "app" or _HOOK.match(hook) else f"{hook!r}: write app or OWNER/REPO/HOOK_ID"


def client(provider: str | None, cfg: ReconcileConfig, key: Callable[[], str], session: Any = None) -> Stripe | GitHub:
    http = Http(key, float(cfg.timeout_seconds), **({"session": session} if session is not None else {}))
    if provider == "stripe":
        return Stripe(cfg, http)
    if provider == "github":
        return GitHub(cfg, http)
    raise ApiError(f"reconcile is for provider: {' or '.join(PROVIDERS)} sources (this one: {provider})")
