"""The Events page's search box: the same --where language, answered by the same engine as `hookline events
search` (here DuckDB over the query set's archive, tests/unit/tools/test_archive_query.py)."""

from __future__ import annotations

import re
from typing import Any

from hookline.operations.archive_search import DuckDbArchive
from tests.unit.tools.test_archive_query import T_OLD, archive_lines
from tests.unit.tools.test_console import HOST, FakeBackend, client


class Archived(FakeBackend):
    def __init__(self) -> None:
        super().__init__()
        self.searches: list[Any] = []
        data = b"".join(archive_lines())
        self.engine = DuckDbArchive(lambda since: iter([data]))

    def archive_search(self, search: Any) -> list[Any]:
        self.searches.append(search)
        return self.engine.search(search)


def _ids(html: str) -> list[str]:
    table = html.split('id="search"', 1)[1] if 'id="search"' in html else ""
    return re.findall(r'<tr data-id="([^"]+)"', table)


def test_the_search_box_finds_events_by_body_and_shows_each_route() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/events", query_string={"where": 'body.data.object.customer = "cus_123"', "since": "30d"},
                 headers=HOST).get_data(as_text=True)
    assert _ids(html) == ["e1", "e10", "e10"]  # e10 has two routes
    assert "2 archived event(s) match" in html
    assert 'value="body.data.object.customer = &#34;cus_123&#34;"' in html  # the box keeps what was typed


def test_the_form_s_filters_narrow_the_search() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/events", query_string={"where": 'type contains "."', "source": "stripe", "route": "warehouse",
                                          "since": "30d"}, headers=HOST).get_data(as_text=True)
    assert _ids(html) == ["e10"]
    [search] = backend.searches
    assert search.sources == ("stripe",) and search.routes == ("warehouse",)


def test_without_since_the_search_looks_at_the_last_24_hours() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/events", query_string={"where": 'source = "orders"'}, headers=HOST).get_data(as_text=True)
    assert _ids(html) == [] and "No archived event matches." in html
    assert backend.searches[0].since > T_OLD


def test_a_malformed_where_names_the_column_and_searches_nothing() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/events", query_string={"where": 'source = "github" and body.x = '},
                 headers=HOST).get_data(as_text=True)
    assert "--where: expected a value at column 32" in html
    assert backend.searches == []


def test_an_injection_attempt_is_a_value_like_any_other() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/events", query_string={"where": "body.x = \"1' OR '1'='1\"", "since": "30d"},
                 headers=HOST).get_data(as_text=True)
    assert _ids(html) == ["e8"]
