"""`hookline console` in a real headless Chromium, against a running `hookline dev` with real receivers.

One `hookline dev`, one console and one browser for the whole module. Events are produced in
every state this branch's engine has: delivered (first try and after a retry), retrying (a long
retry schedule keeps it there), dead (retries exhausted, and a permanent 4xx), unrouted, and a
dropped duplicate. Every request carries a secret in its headers and body; no page may show it.

Chromium is Debian's package (/usr/bin/chromium, installed by `make test`: scripts/ensure-chromium):
Playwright's own browser download is not reachable here. The browser signs in once, through the
login link the console prints; every test's page shares that browser context (the link works once).
Screenshots go to a temporary folder, and to docs/console/ when
HOOKLINE_UPDATE_SCREENSHOTS=1 (`make console-screenshots`), so that a test run leaves the tree clean.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookline.ingress.signatures import sign
from hookline.operations.timeparse import format_duration, format_epoch
from hookline.validation import load_config
from tests.e2e.console_support import Console
from tests.e2e.helpers import GITHUB_SECRET, REPO, DevProcess, as_a_sender_retries, dev_env, free_port, report
from tests.support.receiver import Receiver, Script

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("HOOKLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "docs" / "console"
PLANTED = f"planted-secret-{uuid.uuid4().hex}"
ISSUE = {"action": "opened", "issue": {"number": 7, "title": "Checkout times out", "user": {"login": "octocat"}},
         "repository": {"full_name": "acme/shop"}, "api_token": PLANTED}
# destination name -> (receiver script, per-route retry schedule)
DESTINATIONS = {
    "crm": (Script(statuses=[200]), None),
    "billing": (Script(statuses=[500, 200]), [1, 1]),
    "warehouse": (Script(statuses=[500]), [1, 1]),
    "ledger": (Script(statuses=[422]), [1, 1]),
    "search": (Script(statuses=[503]), [600]),
    "outage": (Script(statuses=[500]), None),  # its breaker opens at the first failure: its events are held
}
# destination name -> more of its configuration (issue 10's limits and breaker)
DESTINATION_EXTRA: dict[str, dict[str, Any]] = {
    "crm": {"rate_limit": "50/s", "max_concurrency": 4},
    "outage": {"circuit_breaker": {"failures": 1, "cool_down_seconds": 600}},
    # its 6 failures (2 events x 3 attempts) must exhaust the retries, not open the default breaker (5)
    "warehouse": {"circuit_breaker": {"failures": 10}},
}
# issue 11's governance: every route writes the issue entity, owned by its source; billing owns invoices
ENTITIES = {"issue": {"owner": "github", "steward": "support team", "fields": ["title", "number"]},
            "invoice": {"owner": "billing", "fields": ["amount"]}}


class Stage:
    def __init__(self, dev: DevProcess, receivers: dict[str, Receiver], console: Console, ids: dict[str, list[str]],
                 shots: Path) -> None:
        self.dev = dev
        self.receivers = receivers
        self.console = console
        self.ids = ids
        self.shots = shots

    def events(self) -> list[dict[str, Any]]:
        return _events(self.dev.cwd)

    def dlq(self) -> list[dict[str, Any]]:
        """What `hookline dlq list --json` prints, computed in-process (a CLI run costs seconds under load)."""
        from hookline.commands.dlq import open_dlq
        from hookline.operations.dlq import sort_entries

        return [e.to_dict() for e in sort_entries(open_dlq(_stack(self.dev.cwd)).peek())]

    def cli_json(self, *args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "hookline.cli", *args, "--json"], cwd=self.dev.cwd,
                             env=dev_env(), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def _send(dev: DevProcess, config: Path, event: str, delivery: str) -> int:
    # Each delivery its own body: the same signed bytes under a new delivery id are a duplicate (replay guard).
    body = json.dumps({**ISSUE, "delivery": delivery}).encode()
    verify = load_config(config).sources["github"].verify
    headers = sign(verify, GITHUB_SECRET, body, msg_id=delivery)
    headers.update({"X-GitHub-Event": event, "Content-Type": "application/json", "X-Api-Key": PLANTED,
                    "Authorization": f"Bearer {PLANTED}", "X-Partner-Token": PLANTED})
    req = urllib.request.Request(f"{dev.url}/webhooks/github", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return e.code


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def stage(browser: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Stage]:
    # (`browser` first: without chromium the module fails at once, before starting `hookline dev`)
    workdir = tmp_path_factory.mktemp("console")
    receivers = {name: Receiver(script) for name, (script, _) in DESTINATIONS.items()}
    for r in receivers.values():
        r.__enter__()
    cfg = {
        "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:E2E_GITHUB_SECRET"]}}},
        "destinations": {name: {"url": f"{r.url}/{name}", "timeout_seconds": 5, **DESTINATION_EXTRA.get(name, {})}
                         for name, r in receivers.items()},
        "entities": ENTITIES,
        "routes": [{"name": f"to-{name}", "source": "github", "destination": name, "writes": "issue",
                    "when": f"headers.\"x-github-event\" == '{name}'",
                    "transform": {"title": "body.issue.title", "number": {"path": "body.issue.number",
                                                                          "type": "string"}},
                    **({"retry": {"schedule_seconds": schedule}} if schedule else {})}
                   for name, (_, schedule) in DESTINATIONS.items()],
        "retry": {"schedule_seconds": [1, 1]},
    }
    config = workdir / "hookline.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    dev = DevProcess(workdir, config, free_port())
    console = None
    try:
        dev.wait_ready()
        console = Console(workdir)  # it starts while the events settle (pages read the log when loaded)
        started = time.perf_counter()
        ids: dict[str, list[str]] = {name: [f"{name}-{uuid.uuid4().hex[:8]}" for _ in range(2)]
                                     for name in DESTINATIONS}
        ids["unrouted"] = [f"unrouted-{uuid.uuid4().hex[:8]}"]
        for name, event_ids in ids.items():
            for event_id in event_ids:
                assert _send(dev, config, name, event_id) == 202
        # a duplicate, dropped at ingress (409 while the first may still be queueing)
        assert as_a_sender_retries(lambda: _send(dev, config, "crm", ids["crm"][0]), int) == 200

        def settled() -> bool:
            rows = {(r["id"], r["route"]): r for r in _events(workdir)}
            def status(name: str, i: int) -> str | None:
                return rows.get((ids[name][i], f"to-{name}"), {}).get("status")
            return (all(status("crm", i) == "delivered" and status("billing", i) == "delivered"
                        and status("warehouse", i) == "dead" and status("ledger", i) == "dead"
                        and status("search", i) == "retrying" and status("outage", i) == "held"
                        for i in range(2)))

        try:
            _wait(settled, 60, "every event in its final state")
        except AssertionError as e:
            now = {f"{r['route']}/{r['id']}": r["status"] for r in _events(workdir)}
            raise AssertionError(f"{e}; statuses now: {now}") from None
        console.started()
        report(request, f"\nconsole e2e: events in every state after {time.perf_counter() - started:.1f} s")
        shots = tmp_path_factory.mktemp("shots")
        yield Stage(dev, receivers, console, ids, shots)
        if os.environ.get("HOOKLINE_UPDATE_SCREENSHOTS") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            for png in shots.glob("*.png"):
                shutil.copy(png, SHOTS / png.name)
    finally:
        if console is not None:
            console.stop()
        dev.interrupt()
        for r in receivers.values():
            r.__exit__(None, None, None)


def _events(cwd: Path) -> list[dict[str, Any]]:
    """The event log in-process (polled while the events settle; a CLI run per poll is slow under load)."""
    from hookline.commands.events import read_items
    from hookline.operations.report import list_events

    return [r.to_dict() for r in list_events(read_items(_stack(cwd)))]


def _stack(cwd: Path) -> Any:
    """The running dev's resources, from its state file alone (whatever AWS_* this process has)."""
    from hookline.operations.stack import StackInfo, read_dev_state

    state = read_dev_state(cwd / ".hookline" / "dev.json")
    return StackInfo(outputs=state["outputs"], endpoint_url=state["endpoint_url"], region=state["region"],
                     origin="test", local=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: the console's browser tests drive Debian's chromium. Install it "
                    "(as root: apt-get update && apt-get install -y chromium; `make test` does this through "
                    "scripts/ensure-chromium), or point HOOKLINE_CHROMIUM at a Chromium binary.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(context: Any, console: Console) -> None:
    """Open the console's login link in `context`, as the operator does from the terminal."""
    page = context.new_page()
    try:
        resp = page.goto(console.login_url)
        assert resp is not None and resp.status == 200, resp and resp.status
        assert page.url == f"{console.url}/", page.url  # redirected: the token left the address bar
    finally:
        page.close()


@pytest.fixture(scope="module")
def signed_in(browser: Any, stage: Stage) -> Iterator[Any]:
    """The browser context that opened the console's login link: every test's page lives in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    sign_in(context, stage.console)
    yield context
    context.close()


@pytest.fixture
def page(signed_in: Any) -> Iterator[Any]:
    page = signed_in.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    page.close()
    # A CSP violation or a script error shows up here: the pages must work as served.
    assert not problems, problems


def _visit(page: Any, stage: Stage, path: str) -> str:
    resp = page.goto(stage.console.url + path)
    assert resp is not None and resp.status == 200, (path, resp and resp.status)
    html = page.content()
    assert PLANTED not in html, f"{path} shows the secret planted in a header"
    return str(html)


def _submit_filters(page: Any) -> None:
    """Submit the filters and wait for the answer's page to load: a click returns once the navigation has
    begun, and rows counted then may be the new page's before its table is parsed (seen once: [] found)."""
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")


def _shot(page: Any, stage: Stage, name: str) -> None:
    path = stage.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def _cell(page: Any, row_selector: str, field: str) -> str:
    return str(page.locator(f"{row_selector} [data-field='{field}']").first.inner_text()).strip()


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def test_overview_shows_the_figures_of_hookline_report(stage: Stage, page: Any) -> None:
    # Given events in every state, and what `hookline report --since 24h` says about them
    expected = stage.cli_json("report", "--since", "24h")
    # When the overview is opened (its default window is 24 h)
    _visit(page, stage, "/")
    _shot(page, stage, "overview")
    # Then every route's figures, and the totals, are the report's
    assert set(expected["routes"]) == {f"to-{n}" for n in DESTINATIONS}
    for route, figures in [*expected["routes"].items(), ("TOTAL", expected["total"])]:
        row = f"#routes tr[data-route='{route}']"
        for field in ("received", "delivered", "retried", "dead", "in_flight", "held", "stale", "skipped",
                      "duplicates"):
            assert _cell(page, row, field) == str(figures[field]), (route, field)
        assert _cell(page, row, "error_rate") == _pct(figures["error_rate"]), route
        assert _cell(page, row, "latency_p50_seconds") == format_duration(figures["latency_p50_seconds"]), route
        assert _cell(page, row, "latency_p95_seconds") == format_duration(figures["latency_p95_seconds"]), route
    # And the cards repeat the totals, with the DLQ depth
    for field in ("received", "delivered", "dead", "in_flight"):
        assert _cell(page, "#totals", field) == str(expected["total"][field])
    assert page.locator("#dlq-depth").inner_text().strip() == "4"
    # And the charts count each delivery once, by status: the route's bars add up to its received count
    for name in DESTINATIONS:
        bars = page.locator(f"figure[data-route='to-{name}'] rect")
        counted = sum(int(bars.nth(i).get_attribute("data-count")) for i in range(bars.count()))
        assert counted == expected["routes"][f"to-{name}"]["received"]
    statuses = {page.locator("figure[data-route='All routes'] rect").nth(i).get_attribute("data-status")
                for i in range(page.locator("figure[data-route='All routes'] rect").count())}
    assert statuses == {"delivered", "retrying", "dead", "held", "unrouted"}
    assert expected["routes"]["to-outage"]["held"] == 2  # the held column is not trivially zero
    # And the 1 h and 7 d windows hold the same events (all received minutes ago)
    for window in ("1h", "7d"):
        _visit(page, stage, f"/?window={window}")
        assert _cell(page, "#routes tr[data-route='TOTAL']", "received") == str(expected["total"]["received"])


def test_events_filter_and_the_timeline_shows_each_attempt(stage: Stage, page: Any) -> None:
    # Given the event log as `hookline events` sees it
    rows = stage.cli_json("events")
    # When the events page is filtered by status
    _visit(page, stage, "/events?status=dead")
    _shot(page, stage, "events")
    shown = page.locator("#events tbody tr")
    assert sorted(shown.nth(i).get_attribute("data-id") for i in range(shown.count())) == \
        sorted(r["id"] for r in rows if r["status"] == "dead")
    # And by route, and searched by id
    _visit(page, stage, "/events?route=to-search")
    assert {page.locator("#events tbody tr").nth(i).get_attribute("data-status")
            for i in range(page.locator("#events tbody tr").count())} == {"retrying"}
    # (the billing receiver answers 500 to its first request only: one of the two billing events was retried)
    [target] = [r["id"] for r in rows if r["route"] == "to-billing" and len(r["attempt_history"]) == 2]
    _visit(page, stage, "/events")
    page.fill("input[name=q]", target[-8:])
    _submit_filters(page)
    assert [page.locator("#events tbody tr").nth(i).get_attribute("data-id")
            for i in range(page.locator("#events tbody tr").count())] == [target]
    # When the event that failed once and then got through is opened
    page.click(f"#events a:text('{target}')")
    page.wait_for_url(re.compile(r"/events/"))
    assert PLANTED not in page.content()
    # Then its timeline shows received, each attempt with its status code, then delivered
    [row] = [r for r in rows if r["id"] == target]
    section = page.locator("section[data-route='to-billing']")
    steps = section.locator("li.step")
    kinds = [steps.nth(i).get_attribute("class").split()[1] for i in range(steps.count())]
    assert kinds == ["received", *["attempt"] * len(row["attempt_history"]), "delivered"]
    codes = [c.strip() for c in section.locator("li.attempt [data-field='status_code']").all_inner_texts()]
    assert codes == [str(a["status_code"]) for a in row["attempt_history"]] == ["500", "200"]
    _shot(page, stage, "event")
    # And a dead event shows its payload and mapped body, with the planted secrets redacted
    _visit(page, stage, f"/events/{stage.ids['warehouse'][0]}")
    section = page.locator("section[data-route='to-warehouse']")
    assert section.locator("li.attempt").count() == 3
    assert "retries_exhausted" in section.locator("li.dead").inner_text()
    payload = json.loads(section.locator("pre.json").first.inner_text())
    assert payload["api_token"] == "***" and payload["issue"]["title"] == "Checkout times out"
    assert json.loads(section.locator("pre.json").nth(1).inner_text()) == {"title": "Checkout times out",
                                                                          "number": "7"}
    headers = dict(zip(section.locator("table.kv th").all_inner_texts(),
                       section.locator("table.kv td").all_inner_texts(), strict=True))
    # (ingress drops credential-named headers since issue 9: they never reach the DLQ, so none to redact)
    assert headers["x-github-event"] == "warehouse"
    assert not {"x-api-key", "x-partner-token", "authorization"} & set(headers), headers
    _shot(page, stage, "event-dead")


def test_the_search_box_finds_archived_events_by_their_body(stage: Stage, page: Any) -> None:
    # Given the events the deliver function archived (each body carries its delivery id)
    target = stage.ids["crm"][1]
    # When the search box is given a filter on the body, with the filter language of `hookline events search`
    _visit(page, stage, "/events")
    page.fill("input[name=where]", f'body.delivery = "{target}" and headers.x-github-event = "crm"')
    _submit_filters(page)
    # Then the archived event is the one result, delivered, and no planted secret is on the page
    rows = page.locator("#search tbody tr")
    assert [(rows.nth(i).get_attribute("data-id"), rows.nth(i).get_attribute("data-status"))
            for i in range(rows.count())] == [(target, "delivered")]
    assert PLANTED not in page.content()
    # And a malformed filter says where, in one line
    page.fill("input[name=where]", "body.delivery =")
    _submit_filters(page)
    assert page.locator("p.problem").inner_text() == "--where: expected a value at column 16"


def test_destinations_show_endpoint_and_recent_error_rate(stage: Stage, page: Any) -> None:
    rows = stage.events()
    health = {d["name"]: d for d in stage.cli_json("destinations")}
    _visit(page, stage, "/destinations")
    _shot(page, stage, "destinations")
    # The breaker, held events and limits are what `hookline destinations` says
    assert health["outage"]["breaker"] == "open" and health["outage"]["held"] == 2
    assert _cell(page, "#destinations tr[data-destination='outage']", "breaker") == \
        f"open since {format_epoch(health['outage']['since'])}"
    for name, d in health.items():
        row = f"#destinations tr[data-destination='{name}']"
        assert _cell(page, row, "held") == str(d["held"]), name
        assert _cell(page, row, "rate limit") == (d["rate_limit"] or "-"), name
        assert _cell(page, row, "concurrency") == str(d["max_concurrency"] or "-"), name
        if d["breaker"] == "closed":
            failing = d["consecutive_failures"]
            assert _cell(page, row, "breaker") == "closed" + (f" ({failing} failing)" if failing else ""), name
        else:
            assert _cell(page, row, "breaker") == f"{d['breaker']} since {format_epoch(d['since'])}", name
    assert (health["crm"]["rate_limit"], health["crm"]["max_concurrency"]) == ("50/s", 4)
    for name in DESTINATIONS:
        attempts = [a for r in rows if r["route"] == f"to-{name}" for a in r["attempt_history"]]
        failed = [a for a in attempts if not 200 <= (a.get("status_code") or 0) < 300]
        row = f"#destinations tr[data-destination='{name}']"
        assert _cell(page, row, "attempts") == str(len(attempts)), name
        assert _cell(page, row, "error_rate") == _pct(len(failed) / len(attempts)), name
        last = max(attempts, key=lambda a: a["at"])
        assert _cell(page, row, "last_status") == str(last["status_code"]), name


def _map_rows(text: str) -> list[dict[str, str]]:
    """`hookline map`'s table, cut at its header's column starts (cells hold single spaces only)."""
    lines = text.splitlines()
    header = lines[0]
    names = ["ENTITY", "OWNER (STEWARD)", "ROUTE", "FROM -> TO", "FIELDS WRITTEN", "NOTE"]
    starts = [header.index(n) for n in names]
    keys = ["entity", "owner", "route", "flow", "fields", "note"]
    rows = []
    for line in lines[1:]:
        if not line.strip():
            break
        cuts = [*starts, None]
        rows.append({k: line[cuts[i]:cuts[i + 1]].strip() for i, k in enumerate(keys)})
    return rows


def test_map_shows_the_rows_of_hookline_map(stage: Stage, page: Any) -> None:
    # Given what `hookline map` prints for the running configuration
    out = subprocess.run([sys.executable, "-m", "hookline.cli", "map", "--config", "hookline.yaml"],
                         cwd=stage.dev.cwd, env=dev_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = _map_rows(out.stdout)
    assert len(expected) == len(DESTINATIONS) + 1  # a row per route, and the entity no route writes
    # When the map is opened
    _visit(page, stage, "/map")
    _shot(page, stage, "map")
    # Then its table has the same rows, in the same order
    shown = [{k: str(r.locator(f"[data-field='{k}']").inner_text()).strip() for k in expected[0]}
             for r in page.locator("#flows tbody tr").all()]
    assert shown == expected
    assert {"entity": "invoice", "owner": "billing", "route": "-", "flow": "-", "fields": "amount",
            "note": "no route writes it"} in shown
    # And the diagram has a box per source, route and destination, two curves per route, the owner starred
    svg = page.locator("svg.flowmap")
    assert svg.locator("g.map-node.route").count() == len(DESTINATIONS)
    assert svg.locator("g.map-node.destination").count() == len(DESTINATIONS)
    assert svg.locator("path.edge").count() == 2 * len(DESTINATIONS)
    assert svg.locator("g.map-node.source.owner[data-source='github']").count() == 1


def test_dlq_replay_from_the_page_delivers_the_selected_events_exactly_once(stage: Stage, page: Any) -> None:
    # Given the DLQ as `hookline dlq list` sees it, and the warehouse fixed (it answers 200 now)
    before = stage.cli_json("dlq", "list")
    assert sorted(e["id"] for e in before) == sorted(stage.ids["warehouse"] + stage.ids["ledger"])
    warehouse, ledger = stage.receivers["warehouse"], stage.receivers["ledger"]
    warehouse.script = Script(statuses=[200])
    seen = {"warehouse": len(warehouse.requests), "ledger": len(ledger.requests)}
    # When the DLQ page is opened, grouped by route and reason
    _visit(page, stage, "/dlq")
    groups = {(r.get_attribute("data-route"), r.get_attribute("data-reason")):
              r.locator("[data-field='count']").inner_text() for r in page.locator("#groups tbody tr").all()}
    assert groups == {("to-warehouse", "retries_exhausted"): "2", ("to-ledger", "permanent_http"): "2"}
    # And the two warehouse events are selected, and the replay previewed
    for event_id in stage.ids["warehouse"]:
        page.check(f"#dlq tr[data-id='{event_id}'] input.pick")
    _shot(page, stage, "dlq")
    page.click("#preview")
    page.wait_for_url(re.compile(r"/dlq/preview"))
    assert PLANTED not in page.content()
    # Then the dry run lists exactly them, and nothing was sent yet
    assert page.locator("#would-send").inner_text() == "2"
    assert sorted(r.get_attribute("data-id") for r in page.locator("#dry-run tbody tr").all()) == \
        sorted(stage.ids["warehouse"])
    def mapping_now() -> list[str]:
        return [t.split("\n")[0].strip() for t in page.locator("#dry-run tbody td:last-child").all_inner_texts()]

    assert mapping_now() == ["unchanged", "unchanged"]
    assert len(warehouse.requests) == seen["warehouse"]
    # And once the route's mapping gains a field, the dry run shows the new body beside the failed one
    config = stage.dev.cwd / "hookline.yaml"
    cfg = yaml.safe_load(config.read_text())
    [route] = [r for r in cfg["routes"] if r["name"] == "to-warehouse"]
    route["transform"]["repository"] = "body.repository.full_name"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    page.reload()
    assert mapping_now() == ["changed", "changed"]
    changed = page.locator("details.diff[open] tr.changed")
    assert changed.count() >= 2 and '"repository": "acme/shop"' in changed.first.inner_text()
    _shot(page, stage, "dlq-preview")
    # When the rate is set, the confirmation ticked, and Replay clicked
    page.fill("input[name=rate]", "4/s")
    page.check("#confirm")
    page.click("#replay")
    page.wait_for_url(re.compile(r"/dlq/replay/"))
    # Then the progress view reaches "done" with both sent
    page.locator("#replay-progress[data-done='true']").wait_for(timeout=30_000)  # set by the polling script
    assert page.locator("#state").inner_text() == "done"
    assert page.locator("#counter").inner_text() == "2 of 2"
    assert page.locator("#summary").inner_text().startswith("sent 2, skipped 0, failed 0")
    assert PLANTED not in page.content()
    progress_json = stage.console.url + page.locator("#replay-progress").get_attribute("data-url")
    assert PLANTED not in page.request.get(progress_json).text()
    _shot(page, stage, "dlq-progress")
    # And each replayed event reaches the warehouse exactly once more, with its Idempotency-Key
    def new_requests() -> list[str]:
        return [r.headers.get("idempotency-key", "") for r in warehouse.requests[seen["warehouse"]:]]

    _wait(lambda: len(new_requests()) >= 2, 20, "the replayed deliveries")
    time.sleep(3)  # a second copy would have arrived by now (batching window 1 s)
    assert sorted(new_requests()) == sorted(f"{i}:to-warehouse" for i in stage.ids["warehouse"])
    assert len(ledger.requests) == seen["ledger"]  # not selected: not sent
    # And the DLQ keeps only the unselected events; the replayed ones are delivered in the event log
    after = stage.dlq()
    assert sorted(e["id"] for e in after) == sorted(stage.ids["ledger"])
    _wait(lambda: all(r["status"] == "delivered" for r in stage.events() if r["route"] == "to-warehouse"),
          20, "the replayed events to be recorded as delivered")


def _refused(url: str, *, form: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=form, method="POST" if form is not None else "GET",
                                 headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=10)
    return refused.value.code, refused.value.read().decode()


def test_without_its_login_link_the_console_answers_403_to_everything(stage: Stage, browser: Any,
                                                                      signed_in: Any) -> None:
    # Given the DLQ's events, and a browser (or local process) that never opened the login link
    message_id = stage.dlq()[0]["message_id"]
    stranger = browser.new_context()
    try:
        page = stranger.new_page()
        # When it opens a page, the DLQ dry run (which would run the transforms) or a stylesheet
        for path in ("/", "/events", "/dlq", f"/dlq/preview?id={message_id}", "/static/console.css"):
            resp = page.goto(stage.console.url + path)
            # Then each is refused, saying how to get in, and shows no payload or CSRF token
            assert resp is not None and resp.status == 403, (path, resp and resp.status)
            assert "login link" in page.content() and PLANTED not in page.content()
            assert page.locator("meta[name=csrf-token]").count() == 0
        # And the login link, already used by the operator's browser, does not open it either
        resp = page.goto(stage.console.login_url)
        assert resp is not None and resp.status == 403 and "used already" in page.content()
        assert stranger.cookies() == []
    finally:
        stranger.close()
    # And a POST replay, without the cookie or with a guessed one, is refused before its CSRF token is read
    form = f"id={message_id}&confirm=yes&rate=1/s".encode()
    [cookie] = [c for c in signed_in.cookies() if c["name"].startswith("hookline_console")]
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    for headers in ({}, {"Cookie": f"{cookie['name']}=guessed"}):
        code, text = _refused(f"{stage.console.url}/dlq/replay", form=form, headers=headers)
        assert code == 403 and "login link" in text
    # And nothing left the DLQ, and the console printed its token only in its banner (never in its log)
    assert any(e["message_id"] == message_id for e in stage.dlq())
    output = "".join(stage.console.output)
    assert output.count(stage.console.token) == 1 and "token=<hidden>" in output


def test_replay_needs_the_csrf_token_and_the_console_answers_only_on_localhost(stage: Stage, signed_in: Any) -> None:
    # Given a DLQ event id, posted by a signed-in browser without the CSRF token the pages carry
    message_id = stage.dlq()[0]["message_id"]
    form = f"id={message_id}&confirm=yes&rate=1/s".encode()
    [cookie] = [c for c in signed_in.cookies() if c["name"].startswith("hookline_console")]
    code, text = _refused(f"{stage.console.url}/dlq/replay", form=form,
                          headers={"Cookie": f"{cookie['name']}={cookie['value']}"})
    assert code == 403 and "CSRF token" in text
    # And a request for another host name (DNS rebinding) is refused outright
    code, _ = _refused(f"{stage.console.url}/dlq", headers={"Host": f"evil.example:{stage.console.port}"})
    assert code == 421
    # Then nothing left the DLQ
    assert any(e["message_id"] == message_id for e in stage.dlq())


def test_read_only_console_says_so_and_cannot_replay(stage: Stage, page: Any, signed_in: Any) -> None:
    # Given a console started read-only next to the same `hookline dev`, signed in to with its own link
    console = Console(stage.dev.cwd, "--read-only").started()
    try:
        assert "read-only" in console.banner
        sign_in(signed_in, console)
        message_id = stage.dlq()[0]["message_id"]
        # When its DLQ preview is opened
        page.goto(f"{console.url}/dlq/preview?id={message_id}")
        # Then the page says read-only and offers no replay form
        assert "Read-only" in page.locator("#read-only").inner_text()
        assert page.locator("#replay-form").count() == 0
        assert PLANTED not in page.content()
        _shot(page, stage, "read-only")
        # And a POST carrying the page's own CSRF token is refused too, as read-only
        token = page.locator("meta[name=csrf-token]").get_attribute("content")
        resp = page.request.post(f"{console.url}/dlq/replay",
                                 form={"id": message_id, "confirm": "yes", "csrf_token": token})
        assert resp.status == 403 and "read-only" in resp.text()
        assert any(e["message_id"] == message_id for e in stage.dlq())
    finally:
        console.stop()
