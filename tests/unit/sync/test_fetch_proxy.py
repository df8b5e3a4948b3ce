"""A sync's page requests go through the stack's forward proxy (EgressProxy -> HOOKLINE_PROXY) when one is set,
with its password from a secret and never in an error; `direct` or none: straight to the source."""

from __future__ import annotations

import base64

import pytest

from hookline.core.config import SyncConfig
from hookline.secrets import SecretResolver
from hookline.sync.fetch import FetchError, HttpFetcher
from hookline.sync.pagination import Request
from tests.support.forward_proxy import ForwardProxy
from tests.support.receiver import Receiver, Script

SYNC = SyncConfig(source="crm", url="http://placeholder/items")


def test_pages_go_through_the_stack_proxy_with_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy() as proxy, Receiver(Script(body=b'[{"id": 1}]')) as api:
        monkeypatch.setenv("HOOKLINE_PROXY", f"http://sync:{{secret:env:PROXY_PW}}@127.0.0.1:{proxy.port}")
        fetch = HttpFetcher(SecretResolver(environ={"PROXY_PW": "pw-123456"}))
        page = fetch(SYNC, Request(api.url + "/items", {"page": "1"}))
    assert page.data == [{"id": 1}]
    assert proxy.seen == [("GET", api.url + "/items?page=1", "Basic " + base64.b64encode(b"sync:pw-123456").decode())]
    assert [r.path for r in api.requests] == ["/items?page=1"]


def test_without_a_proxy_or_with_direct_the_request_goes_straight(monkeypatch: pytest.MonkeyPatch) -> None:
    with ForwardProxy() as proxy, Receiver(Script(body=b"[]")) as api:
        monkeypatch.delenv("HOOKLINE_PROXY", raising=False)
        HttpFetcher(SecretResolver(environ={}))(SYNC, Request(api.url + "/a"))
        HttpFetcher(SecretResolver(environ={}), proxy="direct")(SYNC, Request(api.url + "/b"))
    assert proxy.seen == [] and [r.path for r in api.requests] == ["/a", "/b"]


def test_an_unreachable_proxy_names_neither_its_password_nor_the_secret() -> None:
    with Receiver() as api:
        fetch = HttpFetcher(SecretResolver(environ={"PROXY_PW": "pw-123456"}),
                            proxy="http://sync:{secret:env:PROXY_PW}@127.0.0.1:9")
        with pytest.raises(FetchError) as e:
            fetch(SYNC, Request(api.url + "/a"))
    assert "unreachable" in str(e.value) and "pw-123456" not in str(e.value)
    unset = HttpFetcher(SecretResolver(environ={}), proxy="http://sync:{secret:env:PROXY_PW}@127.0.0.1:9")
    with pytest.raises(FetchError, match="proxy credentials unavailable"):
        unset(SYNC, Request("http://127.0.0.1:9/a"))
