"""OAuth2 client-credentials token cache: fetch, cache until expiry, refresh, single flight, safe errors."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests

from hookline.core.config import OAuth2Config
from hookline.core.oauth import TokenCache, TokenError
from hookline.secrets import SecretResolver

CLIENT_SECRET = "cs-very-secret-value"
CFG = OAuth2Config(token_url="https://login.example.com/oauth2/token", client_id="hookline",
                   client_secret="env:CRM_CLIENT_SECRET", scope="api", audience="crm")


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeResponse:
    def __init__(self, status: int, data: Any) -> None:
        self.status_code = status
        self._data = data

    def json(self) -> Any:
        if isinstance(self._data, Exception):
            raise self._data
        return self._data

    def iter_content(self, size: int) -> Any:
        yield b"<html>not json</html>" if isinstance(self._data, Exception) else json.dumps(self._data).encode()

    def close(self) -> None:
        pass


class FakeSession:
    """Answers token requests from a list (the last answer repeats); records what was posted."""

    def __init__(self, *answers: Any, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.posts: list[dict[str, Any]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        with self._lock:
            self.posts.append({"url": url, **kwargs})
            n = len(self.posts)
        if self.delay:
            time.sleep(self.delay)
        answer = self.answers[min(n - 1, len(self.answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer


def token(value: str, expires_in: Any = 3600, **extra: Any) -> FakeResponse:
    data = {"access_token": value, "token_type": "Bearer", **extra}
    if expires_in is not None:
        data["expires_in"] = expires_in
    return FakeResponse(200, data)


def cache(session: FakeSession, clock: Clock | None = None, **kwargs: Any) -> TokenCache:
    secrets = SecretResolver(environ={"CRM_CLIENT_SECRET": CLIENT_SECRET})
    return TokenCache(secrets, session, clock=clock or Clock(), **kwargs)  # type: ignore[arg-type]


def test_fetches_with_the_client_credentials_grant() -> None:
    session = FakeSession(token("t1"))
    assert cache(session).token(CFG) == "t1"
    post = session.posts[0]
    assert post["url"] == CFG.token_url
    assert post["data"] == {"grant_type": "client_credentials", "client_id": "hookline",
                            "client_secret": CLIENT_SECRET, "scope": "api", "audience": "crm"}
    assert post["allow_redirects"] is False
    assert post["timeout"] > 0


def test_token_is_cached_until_it_expires_minus_a_margin() -> None:
    # Given a token valid for 3600 s (margin 60 s)
    clock = Clock(1000)
    session = FakeSession(token("t1", 3600), token("t2", 3600))
    tokens = cache(session, clock)
    assert tokens.token(CFG) == "t1"
    # When used again well within its lifetime, no new request
    clock.now = 1000 + 3539
    assert tokens.token(CFG) == "t1"
    assert len(session.posts) == 1
    # When it is about to expire, a new one is fetched
    clock.now = 1000 + 3541
    assert tokens.token(CFG) == "t2"
    assert len(session.posts) == 2


def test_short_lived_tokens_get_a_proportional_margin() -> None:
    clock = Clock(0)
    session = FakeSession(token("t1", 30), token("t2", 30))
    tokens = cache(session, clock)
    tokens.token(CFG)
    clock.now = 26.9  # 30 - 3 (a tenth) - a little
    assert tokens.token(CFG) == "t1"
    clock.now = 27.1
    assert tokens.token(CFG) == "t2"


@pytest.mark.parametrize(("expires_in", "options", "kept_at", "renewed_at"), [
    pytest.param(None, {"default_lifetime": 900}, 839, 841, id="without expires_in the default lifetime applies"),
    pytest.param("120", {}, 107, 109, id="expires_in as a string is understood"),
])
def test_the_lifetime_comes_from_expires_in_or_the_default(
        expires_in: Any, options: dict[str, Any], kept_at: int, renewed_at: int) -> None:
    clock = Clock(0)
    tokens = cache(FakeSession(token("t1", expires_in), token("t2", expires_in)), clock, **options)
    tokens.token(CFG)
    clock.now = kept_at
    assert tokens.token(CFG) == "t1"
    clock.now = renewed_at
    assert tokens.token(CFG) == "t2"


def test_invalidate_drops_the_rejected_token_once() -> None:
    session = FakeSession(token("t1"), token("t2"), token("t3"))
    tokens = cache(session)
    assert tokens.token(CFG) == "t1"
    tokens.invalidate(CFG, "t1")
    assert tokens.token(CFG) == "t2"
    # A second delivery that also failed with t1 does not throw t2 away
    tokens.invalidate(CFG, "t1")
    assert tokens.token(CFG) == "t2"
    assert len(session.posts) == 2


def test_different_clients_have_different_tokens() -> None:
    other = CFG.model_copy(update={"client_id": "other"})
    session = FakeSession(token("t1"), token("t2"))
    tokens = cache(session)
    assert tokens.token(CFG) == "t1"
    assert tokens.token(other) == "t2"
    assert tokens.token(CFG) == "t1"


def test_concurrent_deliveries_fetch_one_token() -> None:
    session = FakeSession(token("t1"), token("t2"), delay=0.05)
    tokens = cache(session)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(tokens.token(CFG))) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["t1"] * 10
    assert len(session.posts) == 1


def test_endpoint_errors_name_the_oauth_error_never_the_secret() -> None:
    session = FakeSession(FakeResponse(401, {"error": "invalid_client",
                                             "error_description": f"client secret {CLIENT_SECRET} is wrong"}))
    with pytest.raises(TokenError) as e:
        cache(session).token(CFG)
    message = str(e.value)
    assert "401" in message and "invalid_client" in message and CFG.token_url in message
    assert CLIENT_SECRET not in message


@pytest.mark.parametrize(("answer", "fragment"), [
    (requests.Timeout("slow"), "timed out"),
    (requests.ConnectionError("refused"), "unreachable"),
    (FakeResponse(200, ValueError("not json")), "without a JSON object"),
    (FakeResponse(200, {"token_type": "Bearer"}), "without an access_token"),
    (FakeResponse(200, {"access_token": "x", "token_type": "mac"}), "only bearer"),
    (FakeResponse(503, ValueError("html")), "answered 503"),
])
def test_every_failure_is_a_token_error(answer: Any, fragment: str) -> None:
    with pytest.raises(TokenError, match=fragment):
        cache(FakeSession(answer)).token(CFG)


def test_a_failure_is_not_cached() -> None:
    session = FakeSession(FakeResponse(500, {}), token("t1"))
    tokens = cache(session)
    with pytest.raises(TokenError):
        tokens.token(CFG)
    assert tokens.token(CFG) == "t1"


def test_a_shorter_time_budget_bounds_the_request() -> None:
    session = FakeSession(token("t1"))
    cache(session, timeout_seconds=10).token(CFG, timeout=2.5)
    assert session.posts[0]["timeout"] == 2.5
