"""Pagination styles: how the request for the next page follows from the last page.

The position in a run is always *the next request* (URL + query parameters), whatever the
style: that is what the run's checkpoint stores, so a run stopped by its deadline, a 429 or a
failed page resumes with exactly the request it would have made next.

| style    | next request                                                              | stops when |
|----------|---------------------------------------------------------------------------|------------|
| cursor   | `param` = JMESPath `next_path` over the page                              | no cursor |
| page     | `param` + 1 (first `start`, default 1); optional `limit_param`=`limit`    | an empty page |
| offset   | `param` + records on this page (first `start`, 0); `limit_param`=`limit`  | an empty page |
| next_url | the URL at JMESPath `next_path` (relative ones resolved), its own query   | no URL |
| link     | the `Link: <...>; rel="next"` response header (RFC 8288)                  | no rel=next |

A next URL must stay on the sync's own origin: the sync's credentials go with every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlparse

import jmespath

from hookline.core.config import PaginationConfig, SyncConfig
from hookline.core.errors import Problem
from hookline.core.expressions import search as expr_search

DEFAULTS: dict[str, dict[str, Any]] = {
    "cursor": {"param": "cursor"},
    "page": {"param": "page", "start": 1},
    "offset": {"param": "offset", "start": 0, "limit_param": "limit", "limit": 100},
    "next_url": {},
    "link": {},
}


class PaginationError(Exception):
    pass


@dataclass(frozen=True)
class Request:
    url: str
    params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        return cls(str(data["url"]), {str(k): str(v) for k, v in (data.get("params") or {}).items()})


def effective(sync: SyncConfig) -> PaginationConfig | None:
    """The sync's pagination with the style's defaults filled in (legacy cursor keys understood)."""
    pag = sync.pagination
    if pag is None:
        if not sync.next_cursor_path:
            return None
        pag = PaginationConfig(style="cursor", param=sync.cursor_param, next_path=sync.next_cursor_path)
    values = {**DEFAULTS[pag.style], **pag.model_dump(exclude_none=True)}
    return PaginationConfig(**values)


def pagination_problems(name: str, sync: SyncConfig) -> list[Problem]:
    p = f"syncs.{name}.pagination"
    problems: list[Problem] = []
    pag = sync.pagination
    if pag is None:
        return problems
    if sync.next_cursor_path:
        problems.append(Problem(f"syncs.{name}.next_cursor_path", "given together with pagination:",
                                "use pagination: {style: cursor, param: cursor, next_path: ...} only"))
    if pag.style in ("cursor", "next_url") and not pag.next_path:
        example = "next_cursor" if pag.style == "cursor" else "links.next"
        problems.append(Problem(f"{p}.next_path", f"style {pag.style} needs next_path (JMESPath over the page)",
                                f"e.g. next_path: {example}"))
    if pag.next_path:
        if pag.style not in ("cursor", "next_url"):
            problems.append(Problem(f"{p}.next_path", f"not used by style {pag.style}", "remove it"))
        try:
            jmespath.compile(pag.next_path)
        except Exception as e:
            problems.append(Problem(f"{p}.next_path", f"invalid JMESPath expression: {e}", ""))
    if pag.style in ("next_url", "link"):
        for key in ("param", "start", "limit_param", "limit"):
            if getattr(pag, key) is not None:
                problems.append(Problem(f"{p}.{key}", f"not used by style {pag.style}: the next URL is given "
                                        "by the API", "remove it"))
    if pag.style == "cursor" and (pag.start is not None or pag.limit_param is not None):
        problems.append(Problem(p, "start / limit_param are not used by style cursor",
                                "remove them (fixed parameters go in syncs.<name>.params)"))
    return problems


def first_request(sync: SyncConfig, watermark: str | None) -> Request:
    params = dict(sync.params)
    if sync.watermark is not None and watermark is not None:
        params[sync.watermark.param] = watermark
    pag = effective(sync)
    if pag is not None and pag.style in ("page", "offset"):
        params[str(pag.param)] = str(pag.start)
        if pag.limit_param and pag.limit:
            params[pag.limit_param] = str(pag.limit)
    return Request(sync.url, params)


def next_request(sync: SyncConfig, current: Request, page: Any, records: int, link_next: str | None) -> Request | None:
    """The request for the page after `current`, or None at the end."""
    pag = effective(sync)
    if pag is None:
        return None
    params = dict(current.params)
    if pag.style == "cursor":
        cursor = expr_search(str(pag.next_path), page) if isinstance(page, dict | list) else None
        if cursor in (None, "") or (str(cursor) == params.get(str(pag.param))):
            return None  # no cursor, or the same one again (an API that repeats its last page)
        params[str(pag.param)] = str(cursor)
        return Request(current.url, params)
    if pag.style in ("page", "offset"):
        # Only an empty page ends the walk: an API may cap the page below the `limit` asked for, and
        # stopping at a short page would then skip the rest. It costs one request per run.
        if records == 0:
            return None
        here = int(params.get(str(pag.param), pag.start or 0))
        params[str(pag.param)] = str(here + (1 if pag.style == "page" else records))
        return Request(current.url, params)
    if pag.style == "next_url":
        target = expr_search(str(pag.next_path), page) if isinstance(page, dict | list) else None
    else:
        target = link_next
    if not target or not isinstance(target, str):
        return None
    url = urljoin(current.url, target)
    _same_origin(sync.url, url)
    if url == current.url and not current.params:
        return None
    return Request(url, {})


def _same_origin(base: str, url: str) -> None:
    a, b = urlparse(base), urlparse(url)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        raise PaginationError(f"the next page's URL leaves the sync's origin ({b.scheme}://{b.netloc}); "
                              "not followed: the sync's credentials would go with it")
