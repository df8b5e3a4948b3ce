"""The console's pure parts and its guards, without a browser (tests/e2e/test_console_browser.py drives one)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from hookline.console import Backend, create_app
from hookline.console.backend import Access, probe_write_access
from hookline.console.charts import bucket_counts, stacked_bars
from hookline.console.pages.destinations import destination_views
from hookline.operations.report import EventRow
from hookline.operations.stack import StackInfo
from hookline.validation import parse_config

NOW = 1_800_000_000.0


def row(at: float | None, status: str, route: str = "A") -> EventRow:
    return EventRow(event_id=f"e{at}", route=route, source="github", type=None, status=status, attempts=[],
                    received_at=at)


def test_buckets_count_each_row_once_by_status_inside_the_window_only() -> None:
    # Given rows inside the last hour, one older, one without a time, and a status this console does not know
    rows = [row(NOW - 10, "delivered"), row(NOW - 20, "delivered"), row(NOW - 30, "dead"),
            row(NOW - 1800, "retrying"), row(NOW - 1801, "stale"), row(NOW - 3 * 3600, "delivered"),
            row(None, "delivered"), row(NOW - 40, "paused")]
    # When they are bucketed over 1 h (known statuses first, in reading order)
    b = bucket_counts(rows, NOW, "1h")
    # Then 5-minute buckets from the hour's start to now hold exactly the six rows of the window
    assert b.width == 300 and b.start <= NOW - 3600 < b.start + 300 and b.start + len(b.counts) * 300 > NOW
    assert {s: b.total(s) for s in b.statuses} == {"retrying": 1, "delivered": 2, "dead": 1, "stale": 1,
                                                   "paused": 1}
    assert b.statuses == ["retrying", "delivered", "dead", "stale", "paused"]
    assert b.counts[int((NOW - 10 - b.start) // 300)] == {"delivered": 2, "dead": 1, "paused": 1}


def test_the_chart_draws_one_rect_per_bucket_and_status_with_its_count() -> None:
    b = bucket_counts([row(NOW - 10, "delivered"), row(NOW - 11, "delivered"), row(NOW - 700, "dead")], NOW, "1h")
    svg = stacked_bars(b, "1h", "A <route>")
    assert svg.count("<rect ") == 2
    assert 'data-status="delivered" data-count="2"' in svg and 'data-status="dead" data-count="1"' in svg
    assert "A &lt;route&gt;" in svg and "<route>" not in svg


class FakeSqs:
    def __init__(self, code: str | None) -> None:
        self.code = code
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def delete_message(self, **kwargs: Any) -> None:
        self.calls.append(("delete_message", kwargs))
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DeleteMessage")


@pytest.mark.parametrize(("code", "writable"), [
    ("ReceiptHandleIsInvalid", True),
    ("AccessDenied", False),
    ("AccessDeniedException", False),
    ("InternalError", True),
])
def test_write_access_is_probed_with_a_delete_that_can_delete_nothing(code: str, writable: bool) -> None:
    sqs = FakeSqs(code)
    access = probe_write_access(sqs, "dlq-url", "queue-url")
    assert access.writable is writable
    assert sqs.calls == [("delete_message", {"QueueUrl": "dlq-url",
                                             "ReceiptHandle": "hookline-console-permission-probe"})]
    if not writable:
        assert "sqs:DeleteMessage" in access.why


def test_without_a_delivery_queue_the_console_is_read_only() -> None:
    assert not probe_write_access(FakeSqs(None), "dlq-url", None).writable


def test_destinations_show_host_and_path_but_never_credentials_or_query() -> None:
    config = parse_config({
        "sources": {"gh": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
        "destinations": {"crm": {"url": "https://user:pw@crm.example.com:8443/hooks?token=abc", "method": "PUT",
                                 "timeout_seconds": 3}},
        "routes": [{"name": "r1", "source": "gh", "destination": "crm"}],
    })
    items = [{"event_id": "e1", "route": "r1", "received_at": NOW - 60, "status": "delivered",
              "attempts": [{"at": NOW - 59, "status_code": 503, "error": "HTTP 503"},
                           {"at": NOW - 50, "status_code": 201}]},
             {"event_id": "e2", "route": "r1", "received_at": NOW - 40, "status": "retrying",
              "attempts": [{"at": NOW - 39, "status_code": None, "error": "timed out"}]},
             {"event_id": "e0", "route": "r1", "received_at": NOW - 90_000, "status": "delivered",
              "attempts": [{"at": NOW - 90_000, "status_code": 200}]}]
    [view] = destination_views(config, items, NOW)
    assert view.host == "https://crm.example.com:8443/hooks"
    assert (view.method, view.timeout_seconds, view.routes) == ("PUT", 3, ["r1"])
    # The day-old attempt is outside the window; the timeout counts as a failure and is the last status
    assert (view.attempts, view.failed, view.last_status_code, view.last_error) == (3, 2, None, "timed out")


class FakeBackend(Backend):
    def __init__(self, writable: bool = True) -> None:
        stack = StackInfo(outputs={"DeadLetterQueueUrl": "dlq", "DeliveryQueueUrl": "q"}, region="us-east-1",
                          origin="test")
        super().__init__(stack, probe=lambda *_: Access(writable, "no permission"))
        self.started: list[tuple[list[str], float | None]] = []

    def items(self) -> list[dict[str, Any]]:
        return []

    def dlq_depth(self) -> int:
        return 0

    def start_replay(self, ids: list[str], rate: float | None) -> Any:
        if not self.access.writable:
            raise PermissionError(self.access.why)
        self.started.append((ids, rate))
        raise AssertionError("the guards should have stopped this request")


def client(backend: Backend, port: int | None = 8765, *, signed_in: bool = True) -> Any:
    """The app and a test client, signed in through the login link unless `signed_in=False`."""
    app = create_app(backend, port=port)
    c = app.test_client()
    if signed_in:
        token = app.extensions["hookline_login"].token
        assert c.get(f"/?token={token}", headers={"Host": f"127.0.0.1:{port}"}).status_code == 303
    return app, c


HOST = {"Host": "127.0.0.1:8765"}


class Recording(FakeBackend):
    """Records the work a request would start: a dry run over the DLQ, a replay."""

    def __init__(self) -> None:
        super().__init__()
        self.dry_runs: list[list[str]] = []

    def dry_run(self, ids: list[str], *args: Any, **kwargs: Any) -> Any:
        self.dry_runs.append(ids)
        raise AssertionError("the guards should have stopped this request")


def test_without_the_login_cookie_every_request_is_refused_and_learns_nothing() -> None:
    # Given a console nobody has signed in to (a local process, or a page on another site)
    backend = Recording()
    app = create_app(backend, port=8765)
    c = app.test_client()
    csrf = app.config["CSRF_TOKEN"]
    # When it asks for pages, the DLQ dry run, a static file, or posts a replay with a valid CSRF token
    answers = {path: c.get(path, headers=HOST) for path in
               ("/", "/events", "/dlq", "/dlq/preview?id=m1", "/destinations", "/static/console.css")}
    answers["POST /dlq/replay"] = c.post("/dlq/replay", headers=HOST,
                                         data={"id": "m1", "confirm": "yes", "csrf_token": csrf})
    # Then every answer is 403, saying how to get in, without the CSRF token or the stack's origin
    assert {k: r.status_code for k, r in answers.items()} == dict.fromkeys(answers, 403)
    for r in answers.values():
        text = r.get_data(as_text=True)
        assert "open the URL that `hookline console` printed" in text
        assert csrf not in text and "<nav" not in text
    # And no transform ran over the DLQ, and nothing was replayed
    assert backend.dry_runs == [] and backend.started == []


def test_the_login_link_sets_a_strict_http_only_cookie_and_drops_the_token_from_the_url() -> None:
    app = create_app(FakeBackend(), port=8765)
    login = app.extensions["hookline_login"]
    c = app.test_client()
    # When the printed link (here with a page and a filter after it) is opened
    assert login.url("127.0.0.1", 8765) == f"http://127.0.0.1:8765/?token={login.token}"
    resp = c.get(f"/events?status=dead&token={login.token}", headers=HOST)
    # Then it redirects to the same page without the token, setting the cookie
    assert resp.status_code == 303 and resp.headers["Location"] == "/events?status=dead"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{login.cookie_name}=") and login.token not in cookie
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    # And that browser is now in: pages, static files and a POST with the page's CSRF token
    assert c.get("/events?status=dead", headers=HOST).status_code == 200
    assert c.get("/static/console.css", headers=HOST).status_code == 200
    # A path that would make the Location another host is not followed
    other = create_app(FakeBackend(), port=8765)
    far = other.test_client().get(f"//evil.example/?token={other.extensions['hookline_login'].token}",
                                  headers=HOST)
    assert far.status_code == 303 and far.headers["Location"] == "/"


def test_the_login_link_works_once_and_a_wrong_token_or_cookie_gets_nothing() -> None:
    app, first = client(FakeBackend())
    login = app.extensions["hookline_login"]
    # Given the link used once already: in another browser it is refused, saying what to do
    second = app.test_client()
    reused = second.get(f"/?token={login.token}", headers=HOST)
    assert reused.status_code == 403 and "used already" in reused.get_data(as_text=True)
    assert "Set-Cookie" not in reused.headers and second.get("/", headers=HOST).status_code == 403
    # In the browser that used it, it only drops the token again
    again = first.get(f"/dlq?token={login.token}", headers=HOST)
    assert again.status_code == 303 and "Set-Cookie" not in again.headers
    # A wrong token, a guessed cookie, or the token itself as the cookie: 403
    assert app.test_client().get("/?token=guess", headers=HOST).status_code == 403
    for value in ("guess", login.token, ""):
        stranger = app.test_client()
        stranger.set_cookie(login.cookie_name, value, domain="127.0.0.1")
        assert stranger.get("/", headers=HOST).status_code == 403, value
    # And a fresh console's token never opens this one
    assert app.test_client().get(f"/?token={create_app(FakeBackend()).extensions['hookline_login'].token}",
                                 headers=HOST).status_code == 403


def test_ten_browsers_racing_with_the_same_link_get_one_session() -> None:
    import threading

    app = create_app(FakeBackend(), port=8765)
    token = app.extensions["hookline_login"].token
    clients = [app.test_client() for _ in range(10)]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def open_link(c: Any) -> None:
        start.wait()
        codes.append(c.get(f"/?token={token}", headers=HOST).status_code)

    threads = [threading.Thread(target=open_link, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(codes) == [303] + [403] * 9
    assert sum(c.get("/", headers=HOST).status_code == 200 for c in clients) == 1


def test_two_consoles_on_two_ports_keep_separate_cookies() -> None:
    # Browsers send 127.0.0.1's cookies to every port: one console's cookie must not sign in to, or
    # sign out of, another.
    from hookline.console.access import Login

    assert Login(8765).cookie_name != Login(8766).cookie_name


def test_pages_answer_only_for_localhost_on_their_port_with_a_strict_csp() -> None:
    _, c = client(FakeBackend())
    ok = c.get("/", headers={"Host": "127.0.0.1:8765"})
    assert ok.status_code == 200
    assert "script-src 'self'" in ok.headers["Content-Security-Policy"] and ok.headers["X-Frame-Options"] == "DENY"
    # localhost is let through to the sign-in check (its cookie is its own: the browser keeps one per host name)
    assert c.get("/", headers={"Host": "localhost:8765"}).status_code == 403
    assert c.get("/", headers={"Host": "attacker.example:8765"}).status_code == 421
    assert c.get("/", headers={"Host": "127.0.0.1:9999"}).status_code == 421


def test_a_post_needs_the_token_and_a_same_origin() -> None:
    backend = FakeBackend()
    app, c = client(backend)
    form = {"id": "m1", "confirm": "yes", "rate": "1/s"}
    host = {"Host": "127.0.0.1:8765"}
    assert c.post("/dlq/replay", data=form, headers=host).status_code == 403
    assert c.post("/dlq/replay", data={**form, "csrf_token": "guess"}, headers=host).status_code == 403
    token = app.config["CSRF_TOKEN"]
    cross = c.post("/dlq/replay", data={**form, "csrf_token": token},
                   headers={**host, "Origin": "http://attacker.example"})
    assert cross.status_code == 403
    assert backend.started == []


def test_read_only_pages_say_so_and_refuse_replay_even_with_the_token() -> None:
    backend = FakeBackend(writable=False)
    app, c = client(backend)
    host = {"Host": "127.0.0.1:8765"}
    page = c.get("/", headers=host).get_data(as_text=True)
    assert "Read-only: no permission" in page
    refused = c.post("/dlq/replay", data={"id": "m1", "confirm": "yes", "csrf_token": app.config["CSRF_TOKEN"]},
                     headers=host)
    assert refused.status_code == 403 and "read-only" in refused.get_data(as_text=True)


def test_replay_needs_the_confirmation_and_a_readable_rate() -> None:
    backend = FakeBackend()
    app, c = client(backend)
    base = {"id": "m1", "csrf_token": app.config["CSRF_TOKEN"]}
    host = {"Host": "127.0.0.1:8765"}
    assert c.post("/dlq/replay", data=base, headers=host).status_code == 400
    bad = c.post("/dlq/replay", data={**base, "confirm": "yes", "rate": "fast"}, headers=host)
    assert bad.status_code == 400 and "N/s" in bad.get_data(as_text=True)
    assert backend.started == []


def test_every_template_and_static_file_is_package_data() -> None:
    # A non-editable install (pip install hookline) must carry what the pages load.
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "hookline.console"]
    package = root / "tools/hookline/console"
    files = [p.relative_to(package).as_posix() for d in ("templates", "static")
             for p in (package / d).iterdir() if p.is_file()]
    assert files and all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files), files


def test_an_unreachable_stack_gives_an_actionable_page_not_a_traceback() -> None:
    from botocore.exceptions import EndpointConnectionError

    class Gone(FakeBackend):
        def items(self) -> list[dict[str, Any]]:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:5999/")

    _, c = client(Gone())
    page = c.get("/events", headers={"Host": "127.0.0.1:8765"})
    assert page.status_code == 502
    assert "cannot reach http://127.0.0.1:5999/: is `hookline dev` still running?" in page.get_data(as_text=True)


def test_events_filter_by_time_window_and_id_search() -> None:
    class Log(FakeBackend):
        def items(self) -> list[dict[str, Any]]:
            return [{"event_id": f"evt-{i}", "route": "r", "received_at": NOW - i * 3600, "status": "delivered",
                     "attempts": []} for i in range(1, 6)]

    _, c = client(Log())
    host = {"Host": "127.0.0.1:8765"}
    html = c.get(f"/events?since={_iso(NOW - 3.5 * 3600)}&until={_iso(NOW - 1.5 * 3600)}", headers=host)
    text = html.get_data(as_text=True)
    assert [i for i in range(1, 6) if f'data-id="evt-{i}"' in text] == [2, 3]
    text = c.get("/events?q=VT-4", headers=host).get_data(as_text=True)
    assert [i for i in range(1, 6) if f'data-id="evt-{i}"' in text] == [4]
    bad = c.get("/events?since=yesterday", headers=host).get_data(as_text=True)
    assert "cannot read" in bad


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_dry_run_diff_marks_only_the_lines_that_changed() -> None:
    from hookline.console.pages.dlq import diff_rows
    from hookline.operations.dlq import MappingPreview

    rows = diff_rows(MappingPreview("changed", old={"number": "7", "title": "x", "token": "s3cr3t"},
                                    new={"number": "7", "repository": "acme/shop", "title": "x", "token": "s3cr3t"}))
    assert [(a.strip(), b.strip()) for a, b, changed in rows if changed] == [("", '"repository": "acme/shop",')]
    assert "s3cr3t" not in repr(rows)  # redacted like `dlq replay --dry-run`


def test_pages_load_nothing_from_another_origin() -> None:
    # Operators' laptops may be offline, and the CSP would block it anyway: every asset is in the package.
    import re
    from pathlib import Path

    console = Path(__file__).resolve().parents[3] / "tools/hookline/console"
    for path in [*(console / "templates").iterdir(), *(console / "static").iterdir()]:
        text = path.read_text()
        text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # a namespace name, never fetched
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", text), path
        assert "http://" not in text and "https://" not in text, path


GOVERNED = {
    "sources": {"shop": {"verify": {"scheme": "github", "secrets": ["env:X"]}},
                "crm-hooks": {"verify": {"scheme": "github", "secrets": ["env:X"]}}},
    "destinations": {"crm": {"url": "https://crm.example.com/in?token=abc", "rate_limit": "5/s",
                             "max_concurrency": 2, "circuit_breaker": {"failures": 1, "cool_down_seconds": 600}},
                     "lake": {"type": "firehose", "stream": "orders-lake", "circuit_breaker": "off"}},
    "entities": {"customer": {"owner": "crm", "steward": "sales ops", "fields": ["email"]},
                 "invoice": {"owner": "lake", "fields": ["amount"]}},
    "routes": [{"name": "customers", "source": "shop", "destination": "crm", "writes": "customer",
                "one_way_copy": True, "transform": {"email": "body.email"}},
               {"name": "orders", "source": "shop", "destination": "lake"}],
    "syncs": {"nightly": {"source": "crm-hooks", "url": "https://api.example.com/customers?api_key=zzz",
                          "every": "1h"}},
}


class ConfiguredBackend(FakeBackend):
    def __init__(self, raw: dict[str, Any], breakers: dict[str, dict[str, Any]] | None = None,
                 items: list[dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._config = parse_config(raw)
        self._breakers = breakers
        self._items = items or []

    def config(self) -> Any:
        return self._config

    def items(self) -> list[dict[str, Any]]:
        return self._items

    def destination_rows(self, config: Any) -> list[Any]:
        from hookline.operations.destinations import destination_rows
        from hookline.operations.stack import StackNotFound

        if self._breakers is None:
            raise StackNotFound("the stack (test) has no output 'RecordsTableName'")
        return destination_rows(config, self._breakers, self._items, NOW)


def _cells(html: str, row_attr: str) -> dict[str, str]:
    import re

    row = re.search(rf'<tr {row_attr}>(.*?)</tr>', html, re.S)
    assert row, row_attr
    return dict(re.findall(r'<td data-field="([^"]+)">(.*?)</td>', row.group(1), re.S))


def test_destinations_show_breaker_limits_and_held_as_hookline_destinations_reads_them() -> None:
    from hookline.operations.timeparse import format_epoch

    items = [{"event_id": f"e{i}", "route": "customers", "status": "held", "received_at": NOW - 30, "attempts": []}
             for i in range(3)]
    backend = ConfiguredBackend(GOVERNED, {"crm": {"state": "open", "since": NOW - 20, "failures": 1}}, items)
    _, c = client(backend)
    html = c.get("/destinations", headers={"Host": "127.0.0.1:8765"}).get_data(as_text=True)
    crm = _cells(html, 'data-destination="crm"')
    assert (crm["rate limit"], crm["concurrency"], crm["held"]) == ("5/s", "2", "3")
    assert crm["breaker"] == f"open since {format_epoch(NOW - 20)}"
    lake = _cells(html, 'data-destination="lake"')
    assert (lake["breaker"], lake["rate limit"], lake["held"]) == ("off", "-", "0")
    # A warehouse destination has no URL: its stream is shown instead
    assert "<code>firehose:orders-lake</code>" in html and "token=abc" not in html
    # A stack deployed before the records table existed: the page still answers, and says so
    html = client(ConfiguredBackend(GOVERNED, None))[1].get(
        "/destinations", headers={"Host": "127.0.0.1:8765"}).get_data(as_text=True)
    assert _cells(html, 'data-destination="crm"')["breaker"] == "unknown (the stack has no records table)"


def test_the_map_page_shows_the_rows_of_hookline_map_and_draws_every_flow() -> None:
    from hookline.governance import flows

    backend = ConfiguredBackend(GOVERNED, {})
    _, c = client(backend)
    resp = c.get("/map", headers={"Host": "127.0.0.1:8765"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    expected = flows(backend.config())
    assert [f.route for f in expected] == ["customers", "-", "orders"]
    customers = _cells(html, 'data-route="customers" data-entity="customer"')
    assert customers == {"entity": "customer", "owner": "crm (sales ops)", "route": "customers",
                         "flow": "shop -&gt; crm", "fields": "email", "note": "one-way copy"}
    assert _cells(html, 'data-route="-" data-entity="invoice"')["note"] == "no route writes it"
    # The diagram: a box per source, route and destination, two curves per route, owners starred
    assert html.count('class="map-node source') == 2 and html.count('class="map-node route') == 2
    assert html.count('class="map-node destination') == 2 and html.count('<path class="edge') == 4
    assert 'class="map-node destination owner" data-destination="crm"' in html
    assert html.count('<path class="edge copy"') == 2
    # And the sync that feeds a source, as `hookline map` lists it, without its URL
    assert "syncs: nightly (crm-hooks, every 1h)" in html and "sync nightly every 1h" in html
    assert "token=abc" not in html and "api_key=zzz" not in html


def test_the_map_page_without_a_valid_configuration_says_where_it_looked() -> None:
    _, c = client(FakeBackend())
    html = c.get("/map", headers={"Host": "127.0.0.1:8765"}).get_data(as_text=True)
    assert "No valid configuration at hookline.yaml" in html
