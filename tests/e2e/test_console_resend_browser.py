"""Re-send from `hookline console` in a real headless Chromium, against a running `hookline dev` with real receivers:
from an event's page and from a search result, with the dry run, a rate, the confirmation and the progress page,
as DLQ replay works there. The stage (dev, receivers, console, events in every state) is test_console_browser's.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e import test_console_browser as base
from tests.e2e.test_console_browser import PLANTED, Stage, _visit, _wait

pytestmark = pytest.mark.e2e
# test_console_browser's fixtures, by name: this module gets its own stage (dev, console, browser)
browser, stage, signed_in, page = base.browser, base.stage, base.signed_in, base.page
ISSUE_BODY = {"title": "Checkout times out", "number": "7"}


def _confirm_and_watch(page: Any, rate: str) -> None:
    page.fill("input[name=rate]", rate)
    page.check("#confirm")
    page.click("#resend")
    page.wait_for_url(re.compile(r"/dlq/replay/"))
    page.locator("#replay-progress[data-done='true']").wait_for(timeout=30_000)  # set by the polling script
    assert page.locator("h1").inner_text().startswith("Re-send")
    assert page.locator("#state").inner_text() == "done"
    assert page.locator("#counter").inner_text() == "1 of 1"
    assert page.locator("#summary").inner_text().startswith("sent 1, skipped 0, failed 0")
    assert PLANTED not in page.content()


def _original(stage: Stage, event_id: str) -> dict[str, Any]:
    return next(r for r in stage.events() if r["id"] == event_id and r["route"] == "to-crm")


def test_resend_from_the_event_page_is_a_new_delivery_with_its_own_key(stage: Stage, page: Any) -> None:
    crm = stage.receivers["crm"]
    event_id = stage.ids["crm"][1]
    before = _original(stage, event_id)
    seen = len(crm.requests)
    # When the event's page offers Re-send, and the dry run is opened
    _visit(page, stage, f"/events/{event_id}")
    page.click("#resend-button")
    page.wait_for_url(re.compile(r"/resend/preview"))
    assert PLANTED not in page.content()
    # Then it shows one re-send: its own key, the request line and the mapped body; nothing was sent
    assert page.locator("#would-send").inner_text() == "1"
    row = page.locator("#dry-run tbody tr")
    assert row.count() == 1
    assert row.locator("[data-field='key']").inner_text() == f"{event_id}:to-crm#resend-1"
    assert row.locator("[data-field='request']").inner_text() == f"POST {crm.url}/crm"
    assert '"title": "Checkout times out"' in page.locator("pre.mapped").inner_text()
    assert len(crm.requests) == seen
    # When it is confirmed at a rate: the progress page reaches done
    _confirm_and_watch(page, "5/s")
    # And the CRM gets one new request with the re-send's key and the mapped body
    _wait(lambda: len(crm.requests) > seen, 20, "the re-sent delivery")
    time.sleep(2)  # a second copy would have arrived by now (batching window 1 s)
    new = crm.requests[seen:]
    assert [r.headers.get("idempotency-key") for r in new] == [f"{event_id}:to-crm#resend-1"]
    assert new[0].json() == ISSUE_BODY
    # And the original's line is unchanged; the re-send has its own, delivered
    _wait(lambda: any(r["id"] == event_id and r["route"] == "to-crm#resend-1" and r["status"] == "delivered"
                      for r in stage.events()), 20, "the re-send's event log line")
    assert _original(stage, event_id) == before


def test_resend_from_a_search_result(stage: Stage, page: Any) -> None:
    crm = stage.receivers["crm"]
    event_id = stage.ids["crm"][0]
    seen = len(crm.requests)
    _visit(page, stage, "/events")
    page.fill("input[name=where]", f'body.delivery = "{event_id}"')
    page.click("form.filters button[type=submit]")
    page.check(f"#search tr[data-id='{event_id}'] input[name=id]")
    page.click("#resend-button")
    page.wait_for_url(re.compile(r"/resend/preview"))
    keys = page.locator("#dry-run [data-field='key']").all_inner_texts()
    assert [k.strip() for k in keys] == [f"{event_id}:to-crm#resend-1"]
    _confirm_and_watch(page, "2/s")
    _wait(lambda: len(crm.requests) > seen, 20, "the re-sent delivery")
    time.sleep(2)
    assert [r.headers.get("idempotency-key") for r in crm.requests[seen:]] == [f"{event_id}:to-crm#resend-1"]
