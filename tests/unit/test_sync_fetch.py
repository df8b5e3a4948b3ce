"""Sync's page fetch: no redirects (credentials stay with the configured host), pages of bounded size."""

from __future__ import annotations

import json

import pytest

from hookline.sync.runner import PageError, http_fetch
from tests.support.receiver import Receiver, Script


def test_a_redirect_is_not_followed_and_the_key_stays_home() -> None:
    # Given an API that redirects to another host
    with Receiver() as elsewhere, \
            Receiver(Script(statuses=[302], headers={"Location": f"{elsewhere.url}/steal"})) as api:
        # When a page is fetched with an API key
        with pytest.raises(PageError, match="redirect") as e:
            http_fetch()("GET", f"{api.url}/items", {"X-Api-Key": "k-secret"}, {}, 5)
        # Then the other host never sees a request, and the error says what to fix
        assert elsewhere.requests == []
        assert elsewhere.url in str(e.value) and "k-secret" not in str(e.value)


def test_a_page_over_the_size_cap_is_refused_with_a_clear_error() -> None:
    big = json.dumps({"items": ["x" * 1000] * 200}).encode()
    with Receiver(Script(body=big)) as api:
        with pytest.raises(PageError, match="larger than 100 KiB"):
            http_fetch(max_page_bytes=100 * 1024)("GET", f"{api.url}/items", {}, {}, 5)
        # A page within the cap is parsed as before
        assert http_fetch()("GET", f"{api.url}/items", {}, {}, 5)["items"][0] == "x" * 1000
