"""Build a sync Runtime from the process's Services (the Lambda handler, `hookline dev`, the CLI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from hookline.observability import count, metrics
from hookline.sync.runner import FAILED, Runtime, SyncRun


def build_runtime(svc: Any, *, remaining: Callable[[], float] | None = None,
                  on_page: Callable[[SyncRun], None] | None = None) -> Runtime:
    # lazy: the sync handler's import stays near `import boto3` (benchmarks/bench_cold_import.py: 1.1x lazy,
    # 2.0x with these at module level); the HTTP client (requests) and the stores load on the first run.
    from hookline.sync.fetch import HttpFetcher
    from hookline.sync.recorder import Recorder

    store = svc.sync_state
    s = svc.settings
    recorder = Recorder(svc.config, store, svc.publisher, svc.payloads,
                        large_body_threshold=s.large_body_threshold_bytes,
                        event_log_ttl_seconds=s.event_log_ttl_seconds, ordered_publisher=svc.ordered_publisher)
    return Runtime(store=store, recorder=recorder, fetch=HttpFetcher(svc.secrets), remaining=remaining,
                   on_page=on_page)


def emit_run_metrics(run: SyncRun) -> None:
    """Per run: pages, records seen / queued / unchanged, failed pages, duration (EMF, namespace Hookline)."""
    count("SyncPages", value=run.pages)
    count("SyncRecordsSeen", value=run.seen)
    count("SyncRecordsQueued", value=run.queued)
    count("SyncRecordsUnchanged", value=run.unchanged)
    # Always emitted (0 included), so the alarm sees data and a run that failed is never "missing data".
    count("SyncPagesFailed", value=run.failed + (1 if run.status == FAILED and not run.failed else 0))
    metrics.add_metric(name="SyncRunDuration", unit=MetricUnit.Seconds, value=run.duration_seconds)
