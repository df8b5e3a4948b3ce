"""Pure parts of sync and warehouse delivery: pagination, identity, watermark order, the coalescer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hookline.core.errors import ConfigError
from hookline.delivery.send.warehouse import Coalescer, PutResult, ndjson_line, s3_key
from hookline.sync.pagination import PaginationError, Request, first_request, next_request
from hookline.sync.runner import every_seconds, max_watermark, record_identity
from hookline.validation import parse_config


def sync_cfg(**sync: Any) -> Any:
    return parse_config({
        "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {}, "routes": [],
        "syncs": {"s": {"source": "shop", "url": "https://api.example.com/v1/orders", **sync}},
    }).syncs["s"]


def test_page_and_offset_walk_until_an_empty_page() -> None:
    s = sync_cfg(pagination={"style": "page", "limit_param": "per_page", "limit": 2},
                 watermark={"path": "u", "param": "since"})
    r = first_request(s, "7")
    assert r.params == {"since": "7", "page": "1", "per_page": "2"}
    r2 = next_request(s, r, {}, 1, None)  # a short page is not the end: the API may cap pages
    assert r2 is not None and r2.params["page"] == "2" and r2.params["since"] == "7"
    assert next_request(s, r2, {}, 0, None) is None
    o = sync_cfg(pagination={"style": "offset", "limit": 50})
    r = first_request(o, None)
    assert r.params == {"offset": "0", "limit": "50"}
    assert next_request(o, r, {}, 50, None).params["offset"] == "50"  # type: ignore[union-attr]


def test_cursor_next_url_and_link() -> None:
    c = sync_cfg(pagination={"style": "cursor", "next_path": "meta.next"})
    r = next_request(c, first_request(c, None), {"meta": {"next": "abc"}}, 3, None)
    assert r == Request("https://api.example.com/v1/orders", {"cursor": "abc"})
    assert next_request(c, r, {"meta": {"next": "abc"}}, 3, None) is None  # the same cursor again: stop
    n = sync_cfg(pagination={"style": "next_url", "next_path": "links.next"})
    r = next_request(n, first_request(n, None), {"links": {"next": "?page=2"}}, 3, None)
    assert r == Request("https://api.example.com/v1/orders?page=2", {})
    with pytest.raises(PaginationError, match="leaves the sync's origin"):
        next_request(n, r, {"links": {"next": "https://evil.example.net/steal"}}, 3, None)
    lk = sync_cfg(pagination={"style": "link"})
    r = next_request(lk, first_request(lk, None), {}, 3, "https://api.example.com/v1/orders?p=2")
    assert r is not None and r.url.endswith("?p=2")
    assert next_request(lk, r, {}, 3, None) is None


def test_pagination_problems_are_named() -> None:
    with pytest.raises(ConfigError) as e:
        sync_cfg(pagination={"style": "next_url", "param": "x"})
    paths = {p.path for p in e.value.problems}
    assert {"syncs.s.pagination.next_path", "syncs.s.pagination.param"} <= paths
    with pytest.raises(ConfigError, match="unknown key"):
        sync_cfg(pagination={"style": "page", "page_param": "p"})


def test_the_event_id_carries_the_version() -> None:
    s = sync_cfg(version_path="updated_at")
    assert record_identity("orders", s, {"id": 5, "updated_at": 2}) == ("orders:5@2", "2")
    assert record_identity("orders", s, {"id": 5, "updated_at": 3})[0] == "orders:5@3"
    w = sync_cfg(watermark={"path": "modified", "param": "since"})
    assert record_identity("o", w, {"id": "a", "modified": "2026-01-01"})[0] == "o:a@2026-01-01"
    plain = sync_cfg()
    a, b = record_identity("o", plain, {"id": 1, "x": 1})[0], record_identity("o", plain, {"id": 1, "x": 2})[0]
    assert a.startswith("o:1@h") and a != b  # no version given: a changed record still has a new id


def test_watermark_order_numbers_and_strings() -> None:
    assert max_watermark("9", 10) == "10"
    assert max_watermark("10", 9) == "10"
    assert max_watermark("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z") == "2026-01-02T00:00:00Z"
    assert max_watermark(None, None) is None
    assert every_seconds("15m") == 900 and every_seconds("1h") == 3600
    with pytest.raises(ConfigError):
        sync_cfg(every="15 minutes")


def test_ndjson_and_keys() -> None:
    assert ndjson_line(b'{"a": 1, "b": [1, 2]}') == b'{"a":1,"b":[1,2]}\n'
    assert ndjson_line(b"<x/>") == b'"<x/>"\n'
    assert s3_key("orders/", 1_800_000_000, "t") == "orders/dt=2027-01-15/080000-t.ndjson"


def test_coalescer_one_call_for_concurrent_records_and_per_record_outcomes() -> None:
    calls: list[list[bytes]] = []

    def put(lines: list[bytes]) -> PutResult:
        calls.append(lines)
        return PutResult([("rejected", False) if b"bad" in line else None for line in lines])

    c = Coalescer(put, window=0.2)
    results: dict[int, Any] = {}

    def submit(i: int) -> None:
        results[i] = c.submit(b'"bad"\n' if i == 3 else f"{i}\n".encode())

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(calls[0]) == 6
    assert results[3] == ("rejected", False)
    assert all(results[i] is None for i in (0, 1, 2, 4, 5))


def test_coalescer_splits_at_the_record_limit_and_reports_a_failed_call() -> None:
    calls: list[int] = []

    def put(lines: list[bytes]) -> PutResult:
        calls.append(len(lines))
        raise RuntimeError("ServiceUnavailable")

    c = Coalescer(put, window=0.01, max_records=2)
    assert c.submit(b"1\n") == ("RuntimeError: ServiceUnavailable", False)
    assert calls == [1]


def test_destination_types_need_their_keys() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({"sources": {}, "routes": [], "destinations": {
            "a": {"type": "firehose"}, "b": {"type": "s3", "bucket": "ok-bucket", "url": "https://x.example.com"},
            "c": {}}})
    found = {p.path: p.message for p in e.value.problems}
    assert "needs `stream`" in found["destinations.a.stream"]
    assert "not used by a destination of type s3" in found["destinations.b.url"]
    assert "needs `url`" in found["destinations.c.url"]


def test_send_message_batches_keep_to_ten_entries_and_the_byte_limit() -> None:
    from hookline.core.messages import DeliveryTask, batches

    def task(i: int, size: int) -> DeliveryTask:
        return DeliveryTask(event_id=f"e{i}", source="s", route="r", received_at=1.0, body="x" * size)

    def body(t: DeliveryTask) -> str:
        return t.model_dump_json(exclude_none=True)

    small = batches([task(i, 10) for i in range(25)], body=body)
    assert [len(b) for b in small] == [10, 10, 5]
    big = batches([task(i, 100 * 1024) for i in range(5)], body=body)
    assert [len(b) for b in big] == [2, 2, 1]  # 3 x 100 KiB would pass SQS's 256 KiB per call


def test_review_list_reads_the_configuration_in_use(tmp_path: Any) -> None:
    from datetime import date

    from hookline.commands.reviews import overdue

    cfg = tmp_path / "hookline.yaml"
    cfg.write_text("sources: {}\ndestinations:\n  crm: {url: 'https://crm.example.com', owner: sales, "
                   "review_by: 2026-01-01}\nroutes: []\n")
    [r] = overdue(str(cfg), today=date(2026, 6, 1))
    assert (r.kind, r.name, r.owner) == ("destination", "crm", "sales")
    assert overdue(str(tmp_path / "missing.yaml")) == []


def test_sync_run_against_a_deployed_stack_invokes_the_function(monkeypatch: Any, capsys: Any) -> None:
    import io
    import json as _json
    from types import SimpleNamespace

    from hookline.commands import sync as cmd

    class Lambda:
        def __init__(self, run: dict[str, Any]) -> None:
            self.run, self.calls = run, []

        def invoke(self, **kw: Any) -> dict[str, Any]:
            self.calls.append(kw)
            return {"Payload": io.BytesIO(_json.dumps({"runs": [self.run]}).encode())}

    class Store:
        def get_state(self, name: str) -> dict[str, Any]:
            return {"checkpoint": {"pages": 1}}

    for status, failed, code in (("completed", 0, 0), ("failed", 1, 1)):
        lam = Lambda({"sync": "orders", "status": status, "failed": failed, "pages": 2, "seen": 6, "queued": 6,
                      "unchanged": 0, "duration_seconds": 1.5, "error": "x answered 500" if failed else None})
        stack = SimpleNamespace(local=False, outputs={"SyncFunctionName": "fn"}, output=lambda k: "fn",
                                client=lambda service, lam=lam: lam, extra={})
        monkeypatch.setattr(cmd, "stack_for", lambda args, stack=stack: stack)
        monkeypatch.setattr(cmd, "sync_store", lambda stack: Store())
        args = SimpleNamespace(name="orders", json=False, stack="prod", config=None)
        assert cmd.run_one(args) == code
        assert _json.loads(lam.calls[0]["Payload"]) == {"job": "orders"} and lam.calls[0]["FunctionName"] == "fn"
        out = capsys.readouterr().out
        assert f"sync orders: {status}" in out


def test_every_operator_command_reads_the_same_configuration(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # --config, else the running `hookline dev`'s (on the local stack), else $HOOKLINE_CONFIG, else ./hookline.yaml
    from datetime import date

    from hookline.commands.reviews import overdue
    from hookline.operations.stack import StackInfo

    files = {}
    for name in ("dev", "env", "flag"):
        files[name] = tmp_path / f"{name}.yaml"
        files[name].write_text(f"sources: {{}}\ndestinations:\n  {name}: {{url: 'https://x.example.com', "
                               "owner: o, review_by: 2026-01-01}\nroutes: []\n")
    monkeypatch.setenv("HOOKLINE_CONFIG", str(files["env"]))
    local = StackInfo(outputs={}, region="us-east-1", origin="hookline dev", extra={"config": str(files["dev"])},
                      local=True)
    deployed = StackInfo(outputs={}, region="us-east-1", origin="stack s", extra={"config": str(files["dev"])})
    assert local.config_file() == files["dev"] and deployed.config_file() == files["env"]
    assert local.config_file(files["flag"]) == files["flag"]
    today = date(2026, 6, 1)
    assert [r.name for r in overdue(None, local, today)] == ["dev"]
    assert [r.name for r in overdue(None, deployed, today)] == ["env"]
    assert [r.name for r in overdue(str(files["flag"]), local, today)] == ["flag"]
    monkeypatch.delenv("HOOKLINE_CONFIG")
    assert str(deployed.config_file()) == "hookline.yaml"


def test_page_deadlines_hold_per_thread_whatever_the_other_threads_fetch() -> None:
    """One fetcher (one watched session) shared by threads: each page is bounded by its own sync's
    timeout_seconds; a slow page's watchdog never cuts a fast page fetched at the same time."""
    import json
    import time

    from hookline.secrets import SecretResolver
    from hookline.sync.fetch import FetchError, HttpFetcher
    from tests.support.trickle import TrickleServer

    body = json.dumps({"data": [{"id": i} for i in range(20)]}).encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    fetcher = HttpFetcher(SecretResolver(environ={}))
    outcomes: dict[str, Any] = {}
    with TrickleServer(head=head, body=body, interval=0.1) as slow, \
            TrickleServer(head=head + body, interval=0) as fast:

        def fetch(name: str, url: str, timeout: float) -> None:
            sync = sync_cfg(url=url, timeout_seconds=timeout, items_path="data")
            t0 = time.monotonic()
            try:
                outcomes[name] = (fetcher(sync, Request(url)).data, time.monotonic() - t0)
            except FetchError as e:
                outcomes[name] = (e, time.monotonic() - t0)

        threads = [threading.Thread(target=fetch, args=(f"slow-{i}", slow.url, 0.5 + i * 0.5)) for i in range(4)]
        threads += [threading.Thread(target=fetch, args=(f"fast-{i}", fast.url, 5)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    for i in range(4):
        error, elapsed = outcomes[f"slow-{i}"]
        limit = 0.5 + i * 0.5
        assert isinstance(error, FetchError) and f"within {limit:g} s" in str(error), error
        assert limit - 0.1 <= elapsed < limit + 1.5, (i, elapsed)  # the trickle would take 30+ s
        data, _ = outcomes[f"fast-{i}"]
        assert data == json.loads(body)
