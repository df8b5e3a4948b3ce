"""Enricher with a recording fetch (no network): POST bodies, chained steps, cache expiry, failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hookline.core.outcomes import HttpResult
from hookline.delivery.enrich import Enricher, EnrichFailed
from hookline.validation import parse_config


class Fetch:
    def __init__(self, answers: dict[str, tuple[int, Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, bytes, str]] = []

    def __call__(self, dest: Any, method: str, url: str, body: bytes, event_id: str, label: str,
                 deadline: float | None) -> HttpResult:
        self.calls.append((method, url, body, label))
        status, payload = next((v for k, v in self.answers.items() if url.endswith(k)), (404, None))
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return HttpResult(0.0, 1.0, status_code=status, body=raw, requests_made=1,
                          error=None if 200 <= status < 300 else f"HTTP {status}")


def setup(steps: list[dict[str, Any]]) -> tuple[Any, Any]:
    cfg = parse_config({
        "sources": {"s": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {"crm": {"url": "https://crm.example.com/api/"}, "out": {"url": "https://out.example.com"}},
        "routes": [{"name": "r", "source": "s", "destination": "out", "enrich": steps,
                    "transform": {"x": "enriched"}}]})
    return cfg, cfg.route("r")


ENVELOPE = {"id": "e1", "body": {"email": "a+b@example.com", "plan": "pro"}}


def test_post_body_and_a_later_step_using_an_earlier_result() -> None:
    cfg, route = setup([
        {"name": "contact", "destination": "crm", "method": "POST", "path": "/search",
         "body": {"filters.email": "body.email", "limit": {"value": 1}}},
        {"name": "owner", "destination": "crm", "path": "/owners/{enriched.contact.owner_id}"}])
    fetch = Fetch({"/search": (200, {"owner_id": 7}), "/owners/7": (200, {"name": "Bo"})})
    enriched, responses = Enricher(cfg, fetch).run(route, ENVELOPE, "e1")
    assert enriched == {"contact": {"owner_id": 7}, "owner": {"name": "Bo"}}
    assert fetch.calls[0] == ("POST", "https://crm.example.com/api/search",
                              b'{"filters":{"email":"a+b@example.com"},"limit":1}', "r.enrich.contact")
    assert fetch.calls[1][:2] == ("GET", "https://crm.example.com/api/owners/7")
    assert [r.result for r in responses] == ["ok", "ok"]


def test_placeholders_are_url_encoded() -> None:
    cfg, route = setup([{"name": "c", "destination": "crm", "path": "/c?email={body.email}&plan={body.plan}"}])
    fetch = Fetch({"plan=pro": (200, {"id": 1})})
    Enricher(cfg, fetch).run(route, ENVELOPE, "e1")
    assert fetch.calls[0][1] == "https://crm.example.com/api/c?email=a%2Bb%40example.com&plan=pro"


def test_cache_expires_after_cache_seconds() -> None:
    now = [100.0]
    cfg, route = setup([{"name": "c", "destination": "crm", "path": "/c", "cache_seconds": 60}])
    fetch = Fetch({"/c": (200, {"id": 1})})
    enricher = Enricher(cfg, fetch, clock=lambda: now[0])
    for _ in range(3):
        enricher.run(route, ENVELOPE, "e1")
    assert len(fetch.calls) == 1
    _, responses = enricher.run(route, ENVELOPE, "e1")
    assert responses[0].result == "cached"
    now[0] += 61
    enricher.run(route, ENVELOPE, "e1")
    assert len(fetch.calls) == 2


def test_a_404_is_not_cached_and_a_non_json_answer_is_kept_as_text() -> None:
    cfg, route = setup([{"name": "c", "destination": "crm", "path": "/c", "cache_seconds": 60,
                         "on_missing": "default", "default": "none"}])
    fetch = Fetch({})
    enricher = Enricher(cfg, fetch)
    assert enricher.run(route, ENVELOPE, "e1")[0] == {"c": "none"}
    assert enricher.run(route, ENVELOPE, "e1")[0] == {"c": "none"}
    assert len(fetch.calls) == 2
    fetch.answers["/c"] = (200, b"plain text")
    assert enricher.run(route, ENVELOPE, "e1")[0] == {"c": "plain text"}


@pytest.mark.parametrize(("status", "permanent"), [(503, False), (429, False), (400, True), (404, True)])
def test_failures_carry_the_http_result_for_classification(status: int, permanent: bool) -> None:
    cfg, route = setup([{"name": "c", "destination": "crm", "path": "/c"}])
    with pytest.raises(EnrichFailed) as e:
        Enricher(cfg, Fetch({"/c": (status, {"e": 1})})).run(route, ENVELOPE, "e1")
    assert e.value.http is not None and e.value.http.outcome.permanent is permanent
    assert e.value.error == f"enrich c (crm GET /c): HTTP {status}"
    assert e.value.http.error == e.value.error


@pytest.mark.parametrize(("template", "body", "expected"), [
    ("/c/{body.a}{body.b}/x", {"a": "x", "b": "."}, "the value at body.b is '.'"),
    ("/c/{body.a}", {"a": ".."}, "the value at body.a is '..'"),
    ("/c/{body.a}?q=1", {"a": "."}, "the value at body.a is '.'"),
    ("/c/{body.a}", {"a": "a\\..\\b"}, "the value at body.a contains '\\\\'"),
    ("/c/{body.a}", {"a": 7.5}, None),
    ("/c/{body.a}.json", {"a": "."}, "the value at body.a is '.'"),
    ("/c/v{body.a}", {"a": "1.2"}, None),
    ("/c?next={body.a}#{body.b}", {"a": "../x", "b": ".."}, None),
])
def test_a_path_value_stays_in_its_segment(template: str, body: dict[str, Any], expected: str | None) -> None:
    from hookline.mapping.compiler import MappingError
    from hookline.mapping.urls import compile_url_template

    render_url = compile_url_template(template)
    if expected is None:
        assert "/c" in render_url({"body": body})
        return
    with pytest.raises(MappingError) as e:
        render_url({"body": body})
    assert expected in str(e.value) and "no request was made" in str(e.value)


def test_a_literal_dot_segment_in_a_path_is_a_configuration_problem() -> None:
    from hookline.core.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        setup([{"name": "c", "destination": "crm", "path": "/a/../{body.email}"}])
    assert "routes[0].enrich[0].path: path '/a/../{body.email}' has a '.' or '..' segment" in str(e.value)
