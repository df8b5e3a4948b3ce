"""Build a reconcile Runtime from the process's Services (the sync Lambda's tick, `hookline dev`, the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hookline.observability import count
from hookline.reconcile.runner import FAILED, HEADERS, VIA, ReconcileRun, Runtime


def build_runtime(svc: Any, *, remaining: Callable[[], float] | None = None,
                  on_page: Callable[[ReconcileRun], None] | None = None, session: Any = None) -> Runtime:
    # lazy: as sync/service.py: the HTTP client loads on the first run, not at the handler's import.
    from hookline.reconcile import api

    def record(source: str, e: api.Listed) -> int:
        return svc.ingress.record(source, e.event_id, e.type, dict(HEADERS), e.body, e.parsed, via=VIA).status

    def client(source: str, src: Any) -> Any:
        key = src.reconcile.api_key
        return api.client(api.provider_of(src), src.reconcile, lambda: svc.secrets.resolve(key), session)

    return Runtime(store=svc.sync_state, record=record, client=client, remaining=remaining, on_page=on_page)


def emit_run_metrics(run: ReconcileRun) -> None:
    """`Missed`: webhooks the provider sent (or tried) that hookline never recorded; always emitted (0 too), so
    the alarm sees data. `ReconcilePagesFailed`: the run stopped on a page and resumes on the next tick."""
    count("Missed", value=run.missed)
    count("ReconcilePagesFailed", value=run.failed + (1 if run.status == FAILED and not run.failed else 0))
