"""Reconcile's configuration checks and GitHub's deliveries page reading (no AWS, no network: a session stub
that answers as GitHub's REST reference shows)."""

from __future__ import annotations

from typing import Any

import pytest

from hookline.core.errors import ConfigError
from hookline.reconcile import api
from hookline.validation import parse_config


def cfg(source: dict[str, Any]) -> Any:
    return parse_config({"sources": {"s": source}, "destinations": {"d": {"url": "https://example.com/in"}},
                         "routes": [{"name": "r", "source": "s", "destination": "d"}]})


def problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as e:
        cfg(source)
    return [str(p) for p in e.value.problems]


def test_a_stripe_source_reconciles_with_defaults() -> None:
    rc = cfg({"provider": "stripe", "secrets": ["env:W"], "reconcile": {"api_key": "env:K"}}).sources["s"].reconcile
    assert (rc.every, rc.lookback, rc.api_url, rc.hook) == ("1h", "3d", None, "app")


@pytest.mark.parametrize(("source", "where", "says"), [
    ({"provider": "slack", "secrets": ["env:W"], "reconcile": {"api_key": "env:K"}},
     "sources.s.reconcile", "this source is slack"),
    ({"provider": "stripe", "secrets": ["env:W"], "reconcile": {"api_key": "env:K", "lookback": "3 days"}},
     "sources.s.reconcile.lookback", "'3 days'"),
    ({"provider": "stripe", "secrets": ["env:W"], "reconcile": {"api_key": "env:K", "api_url": "localhost:1"}},
     "sources.s.reconcile.api_url", "not an absolute"),
    ({"provider": "github", "secrets": ["env:W"], "reconcile": {"api_key": "env:K", "hook": "o/r"}},
     "sources.s.reconcile.hook", "OWNER/REPO/HOOK_ID"),
    ({"provider": "stripe", "secrets": ["env:W"], "reconcile": {"api_key": "env:K", "hook": "o/r/1"}},
     "sources.s.reconcile.hook", "only for provider: github"),
])
def test_a_bad_reconcile_says_where_and_what(source: dict[str, Any], where: str, says: str) -> None:
    found = [p for p in problems(source) if p.startswith(where + ":")]
    assert found and says in found[0], problems(source)


class Answer:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code, self._body, self.headers = status, body, headers or {}
        self.text = str(body)

    def json(self) -> Any:
        return self._body


class Session:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, headers: dict[str, str], **_: Any) -> Answer:
        self.calls.append((method, url, headers))
        return self.answers.pop(0)


def github(session: Session, hook: str = "app") -> api.GitHub:
    rc = cfg({"provider": "github", "secrets": ["env:W"],
              "reconcile": {"api_key": "env:K", "hook": hook}}).sources["s"].reconcile
    return api.client("github", rc, lambda: "ghs_token", session)  # type: ignore[return-value]


def test_github_app_deliveries_paged_by_link_and_stopped_at_the_lookback() -> None:
    since = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    page1 = [{"id": 3, "guid": "g3", "delivered_at": "2027-01-15T09:00:00Z", "status_code": 500, "event": "push"},
             {"id": 2, "guid": "g2", "delivered_at": "2027-01-15T08:30:00Z", "status_code": 202, "event": "push"}]
    page2 = [{"id": 1, "guid": "g1", "delivered_at": "2027-01-15T07:00:00Z", "status_code": 500, "event": "push"}]
    s = Session(Answer(200, page1, {"Link": '<https://api.github.com/app/hook/deliveries?cursor=v1_2>; rel="next"'}),
                Answer(200, page2, {"Link": '<https://api.github.com/app/hook/deliveries?cursor=v1_1>; rel="next"'}))
    gh = github(s)
    first = gh.page(gh.first(since))
    assert [(e.event_id, e.failed, e.redeliver) for e in first.events] == [("g3", True, 3), ("g2", False, None)]
    assert first.cursor and first.cursor["url"].endswith("cursor=v1_2")
    second = gh.page(first.cursor)
    assert second.events == [] and second.cursor is None and second.done_before  # older than the lookback: stop
    assert s.calls[0][1] == "https://api.github.com/app/hook/deliveries?per_page=100"
    assert s.calls[0][2]["Authorization"] == "Bearer ghs_token"


def test_a_repository_hooks_redelivery_is_a_post_to_its_attempts() -> None:
    s = Session(Answer(202, {}))
    gh = github(s, hook="octo/app/42")
    gh.redeliver(api.Listed(event_id="g", type="push", created=0, failed=True, redeliver=7))
    assert s.calls == [("POST", "https://api.github.com/repos/octo/app/hooks/42/deliveries/7/attempts",
                        s.calls[0][2])]


def test_retry_after_is_read_and_the_key_never_appears_in_an_error() -> None:
    gh = github(Session(Answer(429, {}, {"Retry-After": "12"})))
    with pytest.raises(api.RateLimited) as e:
        gh.page(gh.first(0))
    assert e.value.retry_after == 12.0
    gh = github(Session(Answer(401, {"message": "Bad credentials for ghs_token"})))
    with pytest.raises(api.ApiError) as err:
        gh.page(gh.first(0))
    assert "answered 401" in str(err.value) and "api_key" in str(err.value) and "ghs_token" not in str(err.value)
