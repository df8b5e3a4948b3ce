"""The console's re-send (pages/resend.py): the dry run over the archive, then the guards DLQ replay has
(a confirmation, a readable rate, the CSRF token, write access) before anything is queued."""

from __future__ import annotations

from typing import Any

from hookline.console.backend import ReplayJob
from hookline.operations.archive_search import DuckDbArchive
from hookline.operations.resend import archived_events, plan
from hookline.validation import parse_config
from tests.unit.tools.test_console import HOST, FakeBackend, client
from tests.unit.tools.test_resend import CONFIG, engine_over, task


class Archived(FakeBackend):
    def __init__(self, writable: bool = True) -> None:
        super().__init__(writable)
        self.engine: DuckDbArchive = engine_over(task("e1"), task("e1", route="ledger"))
        self.resends: list[tuple[list[str], float | None, str | None, bool]] = []

    def resend_plan(self, ids: list[str], *, route: str | None = None, force: bool = False,
                    dry_run: bool = True) -> tuple[Any, Any]:
        cfg = parse_config(CONFIG)
        return plan(ids, archived_events(self.engine, ids), cfg, log_items=lambda _: [{"route": "orders#resend-1"}],
                    route=route, force=force), cfg

    def start_resend(self, ids: list[str], rate: float | None, *, route: str | None = None,
                     force: bool = False) -> Any:
        if not self.access.writable:
            raise PermissionError(self.access.why)
        self.resends.append((ids, rate, route, force))
        job = ReplayJob(id="j1", ids=ids, rate=rate, kind="resend", done=True, total=0)
        with self._lock:
            self._jobs[job.id] = job
        return job


def test_the_dry_run_shows_each_resend_with_its_own_key_and_body_and_queues_nothing() -> None:
    backend = Archived()
    _, c = client(backend)
    html = c.get("/resend/preview", query_string={"id": ["e1", "gone"]}, headers=HOST).get_data(as_text=True)
    assert 'data-field="key"><code>e1:ledger#resend-1</code>' in html
    assert 'data-field="key"><code>e1:orders#resend-2</code>' in html  # after the log's resend-1
    assert "POST http://crm.invalid/c" in html and "&#34;password&#34;: &#34;***&#34;" in html
    assert "gone: not in the archive" in html
    assert backend.resends == []
    one = c.get("/resend/preview", query_string={"id": "e1", "route": "orders"}, headers=HOST).get_data(as_text=True)
    assert "e1:orders#resend-2" in one and "e1:ledger" not in one


def test_a_resend_needs_the_confirmation_a_readable_rate_and_the_csrf_token() -> None:
    backend = Archived()
    app, c = client(backend)
    form = {"id": "e1", "csrf_token": app.config["CSRF_TOKEN"], "rate": "20/s"}
    assert c.post("/resend", data=form, headers=HOST).status_code == 400  # not confirmed
    assert c.post("/resend", data={**form, "confirm": "yes", "rate": "fast"}, headers=HOST).status_code == 400
    assert c.post("/resend", data={**form, "confirm": "yes", "csrf_token": "guess"}, headers=HOST).status_code == 403
    assert backend.resends == []
    done = c.post("/resend", data={**form, "confirm": "yes", "force": "yes"}, headers=HOST)
    assert done.status_code == 303 and done.headers["Location"].endswith("/dlq/replay/j1")
    assert backend.resends == [(["e1"], 20.0, None, True)]
    assert "Re-send" in c.get("/dlq/replay/j1", headers=HOST).get_data(as_text=True)


def test_a_read_only_console_cannot_resend() -> None:
    backend = Archived(writable=False)
    app, c = client(backend)
    form = {"id": "e1", "csrf_token": app.config["CSRF_TOKEN"], "confirm": "yes"}
    assert c.post("/resend", data=form, headers=HOST).status_code == 403
    html = c.get("/resend/preview", query_string={"id": "e1"}, headers=HOST).get_data(as_text=True)
    assert "Re-send is disabled" in html and 'id="resend-form"' not in html
