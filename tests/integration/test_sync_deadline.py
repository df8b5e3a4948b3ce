"""A sync run's time is bounded however slowly its source answers (issue 22, item 3).

A source API that trickles a page one byte at a time never trips a per-read socket timeout:
the review measured a page read of 79.9 s with `timeout_seconds: 2` and a token fetch of
12.3 s. Here real local servers trickle bytes; each page and token fetch must end near its
`timeout_seconds`, and the run must stop cleanly: the checkpoint where it got to, the run lock
released, the last error kept and the failure metric emitted.

The watchdog's timer is wall-clock (a socket is shut down by a real timer), so the bounds are
measured in real seconds; the run's own clock and remaining time are injected.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hookline.adapters.aws.sync_state import SyncStore
from hookline.sync.runner import BUSY, COMPLETED, FAILED, run_job, run_sync
from tests.integration.test_sync import ALL7, Clock, drain, ids, make_config, runtime
from tests.support.paged_api import Fault, PagedApi, sync_spec
from tests.support.trickle import TrickleServer

TOKEN = b'{"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600}'


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SECRET", "s3cret-shop")
    monkeypatch.setenv("SHOP_CLIENT_SECRET", "client-s3cret")


@pytest.fixture
def api() -> Iterator[PagedApi]:
    a = PagedApi(page_size=3)
    a.add(7)
    yield a
    a.stop()


def state(stack: Any) -> dict[str, Any]:
    return SyncStore(stack.ddb.Table(stack.events_table)).get_state("orders")


def test_a_trickling_page_is_cut_at_its_timeout_and_the_run_records_where_it_stopped(
        stack: Any, api: PagedApi, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.sync import app
    from hookline.sync import service
    from hookline.wiring import Services, install
    from tests.support.events import load_event

    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(service, "count", lambda name, reason=None, value=1: emitted.append((name, value)))
    # Given a source whose second page trickles its ~200-byte body one byte every 0.2 s (40 s in all)
    api.faults[2] = Fault(200, trickle=0.2)
    cfg = make_config(sync_spec(api, "page", timeout_seconds=1))
    lambda_context.remaining_ms = 300_000
    with stack.run_as("SyncFunction"):
        install(Services(stack.settings, config=cfg))
        try:
            # When the scheduler's tick runs the sync through the handler
            t0 = time.monotonic()
            first = app.handler(load_event("sync/schedule"), lambda_context)
            elapsed = time.monotonic() - t0
            after_first = state(stack)
            # And the next tick, the source well again, resumes it
            second = app.handler({"job": "orders"}, lambda_context)
        finally:
            install(None)
    # Then the slow page ended near its 1 s limit, not after the trickle's 40 s ...
    assert elapsed < 4.0, elapsed
    (run,) = first["runs"]
    assert (run["status"], run["pages"], run["queued"], run["failed"]) == (FAILED, 1, 3, 1)
    assert "did not answer within 1 s" in run["error"] and "timeout_seconds" in run["error"]
    # ... the run recorded how far it got (the next request: page 2), released its lock and kept the error ...
    checkpoint = after_first["checkpoint"]
    assert checkpoint["request"]["params"]["page"] == "2" and checkpoint["pages"] == 1
    assert "lease_until" not in after_first and "lease_run" not in after_first
    assert "did not answer within 1 s" in after_first["last_error"]
    # ... its failure metric went out (the SyncFailuresAlarm's metric) ...
    assert ("SyncPagesFailed", 1) in emitted
    # ... and the next run went on from page 2: every record once, none twice
    (resumed,) = second["runs"]
    assert (resumed["status"], resumed["resumed"], resumed["queued"]) == (COMPLETED, True, 4)
    assert ids(drain(stack)) == ALL7


def test_a_trickling_token_endpoint_is_cut_at_the_syncs_timeout(stack: Any, api: PagedApi) -> None:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(TOKEN)}\r\n"
            "Connection: close\r\n\r\n").encode()
    # Given an OAuth2 sync whose token endpoint sends its answer one byte every 0.3 s (about 22 s)
    with TrickleServer(head=head, body=TOKEN, interval=0.3) as idp:
        cfg = make_config(sync_spec(api, "link", timeout_seconds=1, oauth2={
            "token_url": f"{idp.url}/token", "client_id": "hookline", "client_secret": "env:SHOP_CLIENT_SECRET"}))
        clock = Clock()
        # When the sync runs
        t0 = time.monotonic()
        run = run_sync("orders", cfg.syncs["orders"], runtime(stack, cfg, clock, remaining=lambda: 300.0))
        elapsed = time.monotonic() - t0
    # Then the token fetch ended near the sync's 1 s, and the run failed cleanly before any page
    assert elapsed < 4.0, elapsed
    assert (run.status, run.pages, run.failed) == (FAILED, 0, 1)
    assert "credentials unavailable" in (run.error or "") and "timed out" in (run.error or "")
    assert "client-s3cret" not in (run.error or "")
    recorded = state(stack)
    assert "lease_until" not in recorded and recorded["checkpoint"]["pages"] == 0
    assert api.requests == []


def test_the_watermark_and_run_lock_with_time_advanced(stack: Any, api: PagedApi) -> None:
    """The sync's state that ages: `every` (next_run_at), the run lock's lease and the watermark,
    checked after seconds, minutes and hours on an injected clock."""
    cfg = make_config(sync_spec(api, "page", every="15m"))
    clock = Clock()
    started = clock.now
    # A completed run keeps its watermark and is next due `every` later
    assert run_job("due", cfg, runtime(stack, cfg, clock))[0].status == COMPLETED
    assert state(stack)["watermark"] == "100" and state(stack)["next_run_at"] == started + 900
    drain(stack)
    for seconds in (1, 60, 899):
        clock.now = started + seconds
        assert run_job("due", cfg, runtime(stack, cfg, clock)) == []  # not due yet
    # A run that died holding the lock (a crashed invocation) blocks the next for the lease, not longer
    clock.now = started + 900
    store = SyncStore(stack.ddb.Table(stack.events_table), clock=clock)
    assert store.acquire("orders", "dead-run", clock.now + 600)
    for later in (1, 60, 599):
        clock.now = started + 900 + later
        (busy,) = run_job("due", cfg, runtime(stack, cfg, clock))
        assert busy.status == BUSY
    # Hours later: the lease has passed; the run goes on from the watermark and releases its lock
    api.update(3, 300)
    asked_since = []
    for hours in (1, 6, 30):
        clock.now = started + hours * 3600
        before = len(api.requests)
        (run,) = run_job("due", cfg, runtime(stack, cfg, clock))
        assert run.status == COMPLETED and run.watermark == "300"
        assert "lease_until" not in state(stack)
        asked_since.append(api.requests[before]["query"]["updated_since"])
    assert asked_since == ["100", "300", "300"]
    assert ids(drain(stack)) == ["orders:3@300"]  # the changed record once, however often it is seen again
