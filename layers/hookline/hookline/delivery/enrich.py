"""Enrichment steps: `routes[].enrich`, calls to other configured destinations before mapping.

```yaml
routes:
  - name: stripe-to-crm
    enrich:
      - name: contact                      # the response lands at enriched.contact
        destination: crm_search            # any configured destination: its headers, signing, OAuth2
        method: GET                        # GET (default) or POST
        path: "/contacts?email={body.data.object.receipt_email}"   # appended to its url
        cache_seconds: 300                 # reuse a 2xx answer for this long (per warm container)
        on_missing: default                # a 404/410: skip | default | fail (default fail)
        default: {id: null}
```

- Steps run in order; a step's path and body see the envelope with the earlier steps' results
  (`enriched.<name>`). `{EXPR}` placeholders in `path` are JMESPath, URL-encoded; a missing value,
  or one that would leave its path segment (`.`, `..`, `/`: mapping/urls.py), is a `mapping`
  failure and no request is made. `body` (POST) is a transform spec, sent as JSON.
- A 2xx answer is parsed as JSON (else kept as text) and stored at `enriched.<name>`.
- 404 and 410 mean "not found": `skip` leaves `enriched.<name>` out, `default` puts `default`
  there, `fail` dead-letters the event (`permanent_http`; replay it once the record exists).
- Every other failure is classified like a delivery attempt (outcomes.py): 408/425/429/5xx,
  time-outs and connection errors are retried on the route's schedule; other 4xx are permanent.
- The engine runs the steps inside the once-per-`event_id:route` send (engine.py), so a copy of a
  message that was already delivered makes no enrichment call and no delivery.
- The cache is in memory, per warm Lambda container (and per `hookline dev` process): only 2xx
  answers are kept, keyed by destination, method, URL and body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookline.core.errors import Problem
from hookline.mapping.errors import MappingError

if TYPE_CHECKING:
    from hookline.core.config import DestinationConfig, EnrichConfig, HooklineConfig, RouteConfig
    from hookline.core.outcomes import HttpResult

__all__ = ["EnrichFailed", "EnrichResponse", "Enricher", "enrich_problems", "sender_fetch"]

MISSING_STATUSES = (404, 410)
MAX_CACHE_ENTRIES = 1024
INFLIGHT_WAIT_SECONDS = 30.0  # at most this long behind an identical call before calling too

# (destination config, method, url, body, event_id, step route label, deadline) -> the HTTP result
Fetch = Callable[["DestinationConfig", str, str, bytes, str, str, "float | None"], "HttpResult"]


@dataclass(frozen=True)
class EnrichResponse:
    """One step's call, for `hookline map try` and logs."""

    name: str
    destination: str
    method: str
    path: str
    status_code: int | None
    result: str  # ok | cached | skipped | default
    body: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "destination": self.destination, "method": self.method, "path": self.path,
                "status_code": self.status_code, "result": self.result, "body": self.body}


class EnrichFailed(Exception):
    """A step failed. `http` is set for HTTP outcomes (classified like a delivery); else `reason` says."""

    def __init__(self, error: str, *, http: HttpResult | None = None, reason: str = "mapping",
                 enriched: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.http = http
        self.reason = reason
        self.enriched = enriched or {}


@dataclass
class _Step:
    config: EnrichConfig
    path: Any  # compiled URL template: envelope -> str
    body: Any = None  # compiled transform for POST


@dataclass
class Enricher:
    """Runs a route's steps (thread-safe; one per deliver function)."""

    config: HooklineConfig
    fetch: Fetch
    clock: Callable[[], float] = time.monotonic
    base_dir: Path | None = None  # the configuration's folder (lookup files in a POST body spec)
    _cache: dict[tuple[str, str, str, bytes], tuple[float, Any]] = field(default_factory=dict)
    _steps: dict[str, list[_Step]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _inflight: dict[tuple[str, str, str, bytes], threading.Event] = field(default_factory=dict)

    def steps(self, route: RouteConfig) -> list[_Step]:
        steps = self._steps.get(route.name)
        if steps is None:
            # lazy: mapping's compiler (~80 ms) loads on the first route with enrichment, not in every cold start.
            from hookline.mapping.compiler import compile_transform
            from hookline.mapping.urls import compile_url_template

            steps = [_Step(step, compile_url_template(step.path),
                           compile_transform(step.body, self.base_dir) if step.body is not None else None)
                     for step in route.enrich]
            self._steps[route.name] = steps
        return steps

    def run(self, route: RouteConfig, envelope: Mapping[str, Any], event_id: str,
            deadline: float | None = None) -> tuple[dict[str, Any], list[EnrichResponse]]:
        """`enriched` (name -> response) and what each step did; raises EnrichFailed."""
        enriched: dict[str, Any] = {}
        responses: list[EnrichResponse] = []
        for step in self.steps(route):
            cfg = step.config
            label = f"enrich {cfg.name} ({cfg.destination} {cfg.method}"
            view = {**envelope, "enriched": dict(enriched)}
            try:
                path = step.path(view)
                payload = b""
                if step.body is not None:
                    payload = json.dumps(step.body.apply(view), separators=(",", ":")).encode()
            except MappingError as e:
                raise EnrichFailed(f"{label}): {e}", enriched=enriched) from None
            label = f"{label} {path})"
            dest = self.config.destinations.get(cfg.destination)
            if dest is None:
                raise EnrichFailed(f"{label}: destination {cfg.destination!r} is not in the configuration",
                                   reason="config", enriched=enriched)
            url = dest.url.rstrip("/") + path if path else dest.url
            key = (cfg.destination, cfg.method, url, payload)
            cached = self._cached(key, wait=cfg.cache_seconds > 0)
            if cached is not None:
                enriched[cfg.name] = cached[1]
                responses.append(EnrichResponse(cfg.name, cfg.destination, cfg.method, path, 200, "cached",
                                                cached[1]))
                continue
            try:
                result = self.fetch(dest, cfg.method, url, payload, event_id, f"{route.name}.enrich.{cfg.name}",
                                    deadline)
            finally:
                self._landed(key)
            status = result.status_code
            if result.outcome.delivered:
                value = _parse(result.body)
                enriched[cfg.name] = value
                if cfg.cache_seconds:
                    self._store(key, value, cfg.cache_seconds)
                responses.append(EnrichResponse(cfg.name, cfg.destination, cfg.method, path, status, "ok", value))
            elif status in MISSING_STATUSES and cfg.on_missing != "fail":
                if cfg.on_missing == "default":
                    enriched[cfg.name] = json.loads(json.dumps(cfg.default))
                responses.append(EnrichResponse(cfg.name, cfg.destination, cfg.method, path, status,
                                                "default" if cfg.on_missing == "default" else "skipped",
                                                enriched.get(cfg.name)))
            else:
                error = f"{label}: {result.error or f'HTTP {status}'}"
                raise EnrichFailed(error, http=replace(result, error=error), enriched=enriched)
        return enriched, responses

    def _cached(self, key: tuple[str, str, str, bytes], wait: bool) -> tuple[float, Any] | None:
        """A live cached answer; with `wait`, a concurrent identical call is waited for (one request
        per key at a time: a batch of ten events for one customer makes one lookup)."""
        while True:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and hit[0] <= self.clock():
                    del self._cache[key]
                    hit = None
                if hit is not None:
                    return hit[0], json.loads(json.dumps(hit[1]))
                flight = self._inflight.get(key) if wait else None
                if flight is None:
                    if wait:
                        self._inflight[key] = threading.Event()
                    return None
            flight.wait(INFLIGHT_WAIT_SECONDS)

    def _landed(self, key: tuple[str, str, str, bytes]) -> None:
        with self._lock:
            flight = self._inflight.pop(key, None)
        if flight is not None:
            flight.set()

    def _store(self, key: tuple[str, str, str, bytes], value: Any, seconds: int) -> None:
        with self._lock:
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                now = self.clock()
                for stale in [k for k, (exp, _) in self._cache.items() if exp <= now] or list(self._cache)[:1]:
                    del self._cache[stale]
            self._cache[key] = (self.clock() + seconds, value)


def _parse(body: bytes | None) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def sender_fetch(sender: Any) -> Fetch:
    """A Fetch over the delivery's HttpSender: the destination's headers, signing and OAuth2 apply."""

    def fetch(dest: DestinationConfig, method: str, url: str, body: bytes, event_id: str, label: str,
              deadline: float | None) -> HttpResult:
        headers = {"Accept": "application/json", **dest.headers}
        call = dest.model_copy(update={"url": url, "method": method, "headers": headers})
        return sender.send(call, event_id=event_id, route=label, body=body, content_type="application/json",
                           deadline=deadline)

    return fetch


def enrich_problems(route: RouteConfig, cfg: HooklineConfig, where: str,
                    base_dir: Path | None = None) -> list[Problem]:
    """Static checks for `hookline validate`."""
    # lazy: as above; this check runs in validation only.
    from hookline.mapping.compiler import MappingSpecError, compile_transform
    from hookline.mapping.urls import compile_url_template

    problems: list[Problem] = []
    names: set[str] = set()
    if route.transform is None:
        problems.append(Problem(f"{where}.enrich", "enrichment results are only used by a transform, and this "
                                                   "route has none (the original body is sent unchanged)",
                                "add a transform that reads enriched.<name>, or remove enrich"))
    for i, step in enumerate(route.enrich):
        p = f"{where}.enrich[{i}]"
        if step.name in names:
            problems.append(Problem(f"{p}.name", f"duplicate enrichment name {step.name!r}",
                                    "each step's result is enriched.<name>: make names unique"))
        names.add(step.name)
        if step.destination not in cfg.destinations:
            known = ", ".join(sorted(cfg.destinations)) or "none"
            problems.append(Problem(f"{p}.destination", f"unknown destination {step.destination!r}",
                                    f"define it under destinations: (known: {known})"))
        if step.path and not step.path.startswith(("/", "?")):
            problems.append(Problem(f"{p}.path", f"path {step.path!r} must start with '/' or '?'",
                                    "it is appended to the destination's url"))
        for sub, spec in (("path", step.path), ("body", step.body)):
            if spec is None:
                continue
            try:
                if sub == "path":
                    compile_url_template(spec)
                else:
                    compile_transform(spec, base_dir)
            except MappingSpecError as e:
                for loc, msg in e.problems:
                    problems.append(Problem(f"{p}.{sub}" + (f".{loc}" if loc and sub == "body" else ""), msg))
        if step.body is not None and step.method != "POST":
            problems.append(Problem(f"{p}.body", "a body is sent only with method: POST", "set method: POST"))
        if "default" in step.model_fields_set and step.on_missing != "default":
            problems.append(Problem(f"{p}.default", "default is used only with on_missing: default",
                                    "set on_missing: default, or remove default"))
    return problems
