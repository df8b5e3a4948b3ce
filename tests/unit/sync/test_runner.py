"""Sync runs on in-memory fakes (tests/support/fakes.py) and an in-process paged API: no moto, no sockets.

A page run, the watermark's advance, resuming from a checkpoint, and the run lock (from ten threads, and
lapsing on a moved clock). tests/integration/test_sync*.py run the same walks against moto and a real HTTP API.
"""

from __future__ import annotations

import threading
from typing import Any

from hookline.sync.fetch import FetchedPage, FetchError
from hookline.sync.recorder import Recorder
from hookline.sync.runner import BUSY, COMPLETED, FAILED, Runtime, run_sync
from hookline.validation import parse_config
from tests.support.aging import Clock, together
from tests.support.fakes import FakePayloadStore, FakeQueue, FakeSyncStateStore, MemoryTable

PAGE = 3


def config() -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:SHOP_SECRET"], "header": "x-sig"}}},
        "destinations": {"wh": {"url": "http://wh.invalid/in"}},
        "routes": [{"name": "orders-to-wh", "source": "shop", "destination": "wh"}],
        "syncs": {"orders": {"source": "shop", "url": "https://api.example.com/orders", "items_path": "data",
                             "id_path": "id", "version_path": "updated_at", "every": "15m", "max_pages": 100,
                             "pagination": {"style": "cursor", "param": "cursor", "next_path": "next"},
                             "watermark": {"path": "updated_at", "param": "updated_since"}}},
    })


class Api:
    """Records changed since `updated_since`, in (updated_at, id) order, PAGE a page, cursor = offset."""

    def __init__(self, count: int) -> None:
        self.records = [{"id": i, "updated_at": 100 + i} for i in range(1, count + 1)]
        self.requests: list[dict[str, str]] = []
        self.fail_at: set[int] = set()  # request numbers (1-based) answered with a failure
        self.lock = threading.Lock()
        self.before: Any = None  # runs in each request (a slow source, while other runs try)

    def __call__(self, sync: Any, request: Any) -> FetchedPage:
        with self.lock:
            self.requests.append(dict(request.params))
            if len(self.requests) in self.fail_at:
                raise FetchError("GET https://api.example.com/orders answered 502", status=502)
        since = float(request.params.get("updated_since", 0))
        start = int(request.params.get("cursor", 0))
        if self.before is not None:
            self.before()
        changed = sorted((r for r in self.records if r["updated_at"] >= since),
                         key=lambda r: (r["updated_at"], r["id"]))
        page = changed[start:start + PAGE]
        more = start + PAGE < len(changed)
        return FetchedPage({"data": [dict(r) for r in page], "next": str(start + PAGE) if more else None})


class Sync:
    def __init__(self, api: Api, clock: Clock | None = None) -> None:
        self.clock = clock or Clock(1_000_000.0)
        self.cfg = config()
        self.store = FakeSyncStateStore(MemoryTable(), clock=self.clock)
        self.queue = FakeQueue()
        self.api = api
        recorder = Recorder(self.cfg, self.store, self.queue, FakePayloadStore(), clock=self.clock)
        self.runtime = Runtime(store=self.store, fetch=api, clock=self.clock, sleep=self.clock.sleep, recorder=recorder)

    def run(self) -> Any:
        return run_sync("orders", self.cfg.syncs["orders"], self.runtime)

    def state(self) -> dict[str, Any]:
        return self.store.get_state("orders")


def test_a_run_walks_every_page_queues_each_record_once_and_advances_the_watermark() -> None:
    s = Sync(Api(7))
    run = s.run()
    assert (run.status, run.pages, run.seen, run.queued, run.unchanged) == (COMPLETED, 3, 7, 7, 0)
    assert sorted(t.event_id for t in s.queue.tasks) == sorted(f"orders:{i}@{100 + i}" for i in range(1, 8))
    state = s.state()
    assert state["watermark"] == "107" and "checkpoint" not in state
    assert "lease_until" not in state  # the lock is released
    assert state["next_run_at"] == run.started_at + 15 * 60
    assert "updated_since" not in s.api.requests[0]  # no watermark yet: everything


def test_the_next_run_asks_from_the_watermark_and_queues_only_what_changed() -> None:
    s = Sync(Api(7))
    s.run()
    s.api.records[2]["updated_at"] = 200  # record 3 changed at the source
    s.clock.advance(15 * 60)
    run = s.run()
    assert s.api.requests[-1]["updated_since"] == "107"
    # 7 (at the watermark, seen again: unchanged) and 3's new version
    assert (run.status, run.seen, run.queued, run.unchanged) == (COMPLETED, 2, 1, 1)
    assert s.queue.tasks[-1].event_id == "orders:3@200"
    assert s.state()["watermark"] == "200"


def test_a_failed_page_keeps_the_checkpoint_and_the_watermark_and_the_next_run_resumes_there() -> None:
    s = Sync(Api(7))
    s.api.fail_at = {2}
    run = s.run()
    assert (run.status, run.pages, run.queued) == (FAILED, 1, 3)
    state = s.state()
    assert "watermark" not in state and state["checkpoint"]["request"]["params"]["cursor"] == "3"
    assert "502" in state["last_error"]
    s.clock.advance(60)
    again = s.run()
    assert again.resumed and again.status == COMPLETED and again.queued == 4
    assert len(s.queue.tasks) == 7 and s.state()["watermark"] == "107"


def test_one_run_at_a_time_from_ten_threads_and_a_dead_runs_lock_lapses() -> None:
    s = Sync(Api(7))
    busy, lock, gate = [], threading.Lock(), threading.Event()
    s.api.before = lambda: gate.wait(10)  # the run holding the lock is still fetching while the others try

    def run(i: int) -> Any:
        result = s.run()
        if result.status == BUSY:
            with lock:
                busy.append(i)
                if len(busy) == 9:
                    gate.set()
        return result

    runs = together(run)
    s.api.before = None
    assert sorted(r.status for r in runs).count(COMPLETED) == 1
    assert {r.status for r in runs} <= {COMPLETED, BUSY}
    assert len(s.queue.tasks) == 7  # every record queued once whatever the order
    # A run that died holding the lock: the next one is busy until the lock lapses.
    assert s.store.acquire("orders", "dead-run", s.clock() + 900)
    assert s.run().status == BUSY
    s.clock.advance(901)
    assert s.run().status == COMPLETED


def test_overlapping_runs_never_queue_a_version_twice() -> None:
    s = Sync(Api(30))
    second = Runtime(store=s.store, fetch=s.api, clock=s.clock, sleep=s.clock.sleep,
                     recorder=Recorder(s.cfg, s.store, s.queue, FakePayloadStore(), clock=s.clock))
    # Two syncs' worth of workers racing over the same records (as if the lock had lapsed mid-run).
    together(lambda i: s.runtime.recorder.record_page("orders", s.cfg.syncs["orders"], list(s.api.records),
                                                      f"run-{i}") if i % 2 else
             second.recorder.record_page("orders", s.cfg.syncs["orders"], list(s.api.records), f"run-{i}"))
    assert sorted(t.event_id for t in s.queue.tasks) == sorted(f"orders:{i}@{100 + i}" for i in range(1, 31))
