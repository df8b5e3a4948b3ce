"""`syncs:` in hookline.yaml: pulling from an API that cannot push, page by page (`pagination`), from a
watermark; each item becomes an event of the sync's `source`. Checks that need the sync capability
(pagination is coherent) are in sync/checks.py and sync/pagination.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hookline.core.config_base import _Model
from hookline.core.config_destinations import OAuth2Config


class PaginationConfig(_Model):
    """How a sync walks the pages (defaults per style in hookline.sync.pagination)."""

    style: Literal["cursor", "page", "offset", "next_url", "link"]
    param: str | None = None  # cursor / page / offset: the query parameter
    next_path: str | None = None  # cursor: JMESPath to the next cursor; next_url: to the next URL
    start: int | None = Field(default=None, ge=0)  # page: first page number (1); offset: first offset (0)
    limit_param: str | None = None  # page / offset: the page-size parameter
    limit: int | None = Field(default=None, ge=1, le=10000)


class WatermarkConfig(_Model):
    path: str  # JMESPath over a record: its last-modified value
    param: str  # query parameter that asks the API for records changed since the watermark


class SyncConfig(_Model):
    """Pull from an API that cannot push; each item becomes an event of `source`."""

    source: str
    url: str
    method: Literal["GET", "POST"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    items_path: str = "@"
    id_path: str = "id"
    type: str = "sync"
    next_cursor_path: str | None = None
    cursor_param: str = "cursor"
    max_pages: int = Field(default=10, ge=1, le=1000)
    timeout_seconds: float = Field(default=10, gt=0, le=900)
    version_path: str | None = None  # part of the event id: a changed record is a new event
    pagination: PaginationConfig | None = None
    watermark: WatermarkConfig | None = None
    every: str = Field(default="15m", pattern=r"^\s*\d+\s*[mhd]\s*$")
    oauth2: OAuth2Config | None = None
    params: dict[str, str] = Field(default_factory=dict)  # fixed query parameters on every page
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
