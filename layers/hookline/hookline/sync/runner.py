"""Batch sync: pull from APIs that cannot push, on the EventBridge Scheduler schedule.

Each item of each page becomes an event of the sync's source, recorded through the same
idempotent path as a webhook (so an item seen on two polls is queued once), and the
cursor is kept in the event log table so the next run continues where this one stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jmespath

from hookline.config import HooklineConfig, SyncConfig
from hookline.observability import logger

# fetch(method, url, headers, params, timeout) -> parsed JSON page; raises on HTTP/network failure.
Fetch = Callable[[str, str, dict[str, str], dict[str, str], float], Any]

CURSOR_ROUTE = "#cursor"


class PageError(Exception):
    """A page could not be used (redirected, too large, not JSON): the message says what to change."""


@dataclass
class SyncResult:
    job: str
    pages: int = 0
    items: int = 0
    accepted: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class CursorStore:
    """Cursor per sync job, kept beside the event log (partition `#sync:<name>`)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, name: str) -> str | None:
        item = self._table.get_item(Key={"event_id": f"#sync:{name}", "route": CURSOR_ROUTE}).get("Item")
        return item.get("cursor") if item else None

    def put(self, name: str, cursor: str) -> None:
        self._table.put_item(Item={"event_id": f"#sync:{name}", "route": CURSOR_ROUTE, "cursor": cursor})


def item_event_id(name: str, item: Any, id_path: str) -> str:
    found = jmespath.search(id_path, item) if isinstance(item, dict) else None
    if found is None or found == "":
        found = "sha256:" + hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
    return f"{name}:{found}"


def run_job(job: str, config: HooklineConfig, ingress: Any, fetch: Fetch, cursors: CursorStore,
            interpolate: Callable[[str], str]) -> list[SyncResult]:
    names = list(config.syncs) if job in ("all", "", None) else [job]
    unknown = [n for n in names if n not in config.syncs]
    if unknown:
        raise KeyError(f"unknown sync job(s) {unknown}; configured: {sorted(config.syncs)}")
    return [_run_one(n, config.syncs[n], ingress, fetch, cursors, interpolate) for n in names]


def _run_one(name: str, sync: SyncConfig, ingress: Any, fetch: Fetch, cursors: CursorStore,
             interpolate: Callable[[str], str]) -> SyncResult:
    result = SyncResult(job=name)
    headers = {k: interpolate(v) for k, v in sync.headers.items()}
    cursor = cursors.get(name)
    for _ in range(sync.max_pages):
        params = {sync.cursor_param: cursor} if cursor else {}
        try:
            page = fetch(sync.method, sync.url, headers, params, sync.timeout_seconds)
        except Exception as e:  # the next scheduled run retries from the saved cursor
            result.errors.append(f"page {result.pages + 1}: {type(e).__name__}: {e}")
            break
        result.pages += 1
        items = jmespath.search(sync.items_path, page) or []
        if not isinstance(items, list):
            items = [items]
        page_ok = True
        for item in items:
            result.items += 1
            body = json.dumps(item).encode()
            resp = ingress.record(sync.source, item_event_id(name, item, sync.id_path), sync.type,
                                  {"content-type": "application/json", "x-hookline-sync": name}, body, item)
            if resp.status == 202:
                result.accepted += 1
            elif resp.status == 200:
                result.duplicates += 1
            else:
                result.failed += 1
                page_ok = False
        next_cursor = jmespath.search(sync.next_cursor_path, page) if sync.next_cursor_path else None
        # Advance only past fully recorded pages: a failed item is fetched again next run.
        if not page_ok or not next_cursor:
            break
        cursor = str(next_cursor)
        cursors.put(name, cursor)
    logger.info("sync finished", extra={"job": name, "pages": result.pages, "items": result.items,
                                        "accepted": result.accepted, "duplicates": result.duplicates,
                                        "failed": result.failed})
    return result


MAX_PAGE_BYTES = 10 * 1024 * 1024


def http_fetch(session: Any = None, max_page_bytes: int = MAX_PAGE_BYTES) -> Fetch:
    """Pages over HTTP: no redirects (the API key must not travel to another host), at most `max_page_bytes`."""
    import requests

    from hookline.delivery import deadline

    s = session or deadline.session()

    def fetch(method: str, url: str, headers: dict[str, str], params: dict[str, str], timeout: float) -> Any:
        with deadline.limit(timeout):
            resp = s.request(method, url, headers=headers, params=params, timeout=timeout, allow_redirects=False,
                             stream=True)
            try:
                if resp.is_redirect:
                    raise PageError(f"{url} answered {resp.status_code} redirecting to "
                                    f"{resp.headers.get('Location')}; redirects are not followed (they would carry "
                                    "the sync's headers to another host): set the sync's url to the final address")
                resp.raise_for_status()
                raw, more = deadline.read_limited(resp, max_page_bytes)
            except requests.RequestException as e:
                raise PageError(f"{url}: {type(e).__name__}: {e}") from None
            finally:
                resp.close()
        if more:
            raise PageError(f"{url} answered a page larger than {max_page_bytes // 1024} KiB; ask for fewer items "
                            "per page (a page-size parameter in the sync's url or params)")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise PageError(f"{url} answered a page that is not JSON ({e})") from None

    return fetch
