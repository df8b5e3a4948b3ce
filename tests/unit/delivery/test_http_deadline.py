"""A delivery's time limit holds for the whole request, however slowly the destination answers."""

from __future__ import annotations

import json
import time

import pytest

from hookline.core import outcomes
from hookline.core.config import DestinationConfig
from hookline.core.oauth import TokenCache, TokenError
from hookline.delivery.send.http import HttpSender
from hookline.secrets import SecretResolver
from tests.support.trickle import TrickleServer

BODY = b'{"ok": true}' + b" " * 200


def head(status: int = 200, length: int = len(BODY)) -> bytes:
    return (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
            "Connection: close\r\n\r\n").encode()


def sender() -> HttpSender:
    return HttpSender(SecretResolver(environ={"CS": "client-secret"}))


@pytest.mark.parametrize("trickle_head", [False, True], ids=["slow-body", "slow-headers"])
def test_a_trickling_destination_is_cut_off_at_its_timeout(trickle_head: bool) -> None:
    # Given a destination that sends one byte every 0.2 s (each read is quick; the whole is not)
    with TrickleServer(head=head(), body=BODY, interval=0.2, trickle_head=trickle_head) as slow:
        dest = DestinationConfig(url=slow.url, timeout_seconds=1.5)
        # When a delivery is sent with a 1.5 s timeout
        t0 = time.monotonic()
        result = sender().send(dest, event_id="e", route="r", body=b"{}")
        elapsed = time.monotonic() - t0
    # Then it ends as a timeout close to 1.5 s, not after the 40+ s the trickle would take
    assert result.error_kind == outcomes.TIMEOUT and result.status_code is None, result
    assert 1.4 <= elapsed < 4.0
    assert "1.5" in (result.error or "")


def test_the_invocations_deadline_bounds_the_request_too() -> None:
    with TrickleServer(head=head(), body=BODY, interval=0.2) as slow:
        dest = DestinationConfig(url=slow.url, timeout_seconds=30)
        t0 = time.monotonic()
        result = sender().send(dest, event_id="e", route="r", body=b"{}", deadline=time.monotonic() + 1.5)
        elapsed = time.monotonic() - t0
    assert result.error_kind == outcomes.TIMEOUT and elapsed < 4.0


def test_no_token_fetch_starts_once_the_budget_is_spent() -> None:
    # Given an OAuth2 destination and an invocation whose time is already spent
    with TrickleServer(head=head(), body=b"{}", interval=0) as idp:
        dest = DestinationConfig(url="http://127.0.0.1:9/x", oauth2={
            "token_url": f"{idp.url}/token", "client_id": "c", "client_secret": "env:CS"})
        s = sender()
        t0 = time.monotonic()
        result = s.send(dest, event_id="e", route="r", body=b"{}", deadline=time.monotonic() + 0.1)
    # Then no token request is made and the delivery is a quick timeout to retry
    assert time.monotonic() - t0 < 1.0
    assert s.oauth.fetches == 0 and idp.connections == 0
    assert result.error_kind == outcomes.TIMEOUT


def test_a_trickling_token_endpoint_is_cut_off_at_the_budget() -> None:
    token = json.dumps({"access_token": "t", "token_type": "Bearer"}).encode()
    with TrickleServer(head=head(length=len(token)), body=token, interval=0.3) as idp:
        cache = TokenCache(SecretResolver(environ={"CS": "x"}), timeout_seconds=10)
        from hookline.core.config import OAuth2Config

        cfg = OAuth2Config(token_url=f"{idp.url}/token", client_id="c", client_secret="env:CS")
        t0 = time.monotonic()
        with pytest.raises(TokenError, match="timed out"):
            cache.token(cfg, timeout=1.0)
    assert time.monotonic() - t0 < 3.0


def test_a_huge_token_response_is_refused_without_reading_it_all() -> None:
    big = b'{"access_token": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    with TrickleServer(head=head(length=len(big)), body=b"", interval=0) as idp:
        idp.head = head(length=len(big)) + big
        cache = TokenCache(SecretResolver(environ={"CS": "x"}))
        from hookline.core.config import OAuth2Config

        cfg = OAuth2Config(token_url=f"{idp.url}/token", client_id="c", client_secret="env:CS")
        with pytest.raises(TokenError, match="larger than"):
            cache.token(cfg, timeout=5)
