"""The cost model in `make bench` prices each kind of source by its own ingress layout (issue 23's
<= $5.00 per million events goal is per source kind, and the kinds write different items)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _bench_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_table", ROOT / "benchmarks" / "bench_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# What bench_requests writes, trimmed to the keys the table reads: a GitHub run (TransactWriteItems of
# the record and its replay guard: 4 write units) and a Standard Webhooks run (one PutItem: 1 write unit).
REQUESTS = {
    "ingress_requests_per_event": 2.0, "delivery_requests_per_event": 2.0, "delivery_poller_requests_per_event": 0.2,
    "cpu_ratio_median": 1.2, "cpu_ratio_min": 1.2, "baseline_cpu_ms_median": 3.3,
    "ingress_operations_last_round": {"dynamodb:TransactWriteItems": 1.0, "sqs:SendMessage": 1.0},
    "delivery_operations": {"dynamodb:UpdateItem": 2.0},
    "ingress_write_units_per_event": 4.0, "delivery_write_units_per_event": 2.0, "ingress_cpu_ms_median": 4.0,
    "signed_id_operations_last_round": {"dynamodb:PutItem": 1.0, "sqs:SendMessage": 1.0},
    "signed_id_write_units_per_event": 1.0, "signed_id_cpu_ms_median": 3.0,
    "ingress_log_bytes_per_event": 300.0, "delivery_log_bytes_per_event": 600.0,
}


GUARDED = "github; shopify and hmac-sha256 with a header id"  # the kinds that write a replay guard item


def test_cost_is_shown_for_every_kind_of_source_with_its_own_write_units(tmp_path: Path) -> None:
    (tmp_path / "requests.json").write_text(json.dumps(REQUESTS))
    rows = [r for r in _bench_table().rows(tmp_path) if r[0].startswith("cost per million events")]
    by_kind = {figure.split("), ", 1)[1].split(" (")[0]: measured for figure, measured, _ in rows}
    assert set(by_kind) == {GUARDED, "stripe, standard-webhooks"}
    assert "DynamoDB (6.00 write units" in by_kind[GUARDED]
    assert "DynamoDB (3.00 write units" in by_kind["stripe, standard-webhooks"]
    github = float(by_kind[GUARDED].split(":")[0].lstrip("$"))
    signed = float(by_kind["stripe, standard-webhooks"].split(":")[0].lstrip("$"))
    # 3 write units at $0.625 a million, and the signed run's 1 ms less of CPU at 512 MB's share.
    assert 1.875 < github - signed < 1.875 + 0.05
    assert all(goal == "<= $5.00" for figure, _, goal in rows)


def test_the_event_archive_is_counted_and_priced_when_measured(tmp_path: Path) -> None:
    archived = {**REQUESTS, "delivery_operations": {"dynamodb:UpdateItem": 2.0, "firehose:PutRecordBatch": 0.1},
                "archive_records_per_event": 2.0, "archive_bytes_per_event": 3000.0,
                "archive_billed_bytes_per_event": 10240.0}
    (tmp_path / "requests.json").write_text(json.dumps(REQUESTS))
    without = {r[0]: r for r in _bench_table().rows(tmp_path)}
    (tmp_path / "requests.json").write_text(json.dumps(archived))
    rows = {r[0]: r for r in _bench_table().rows(tmp_path)}
    row = rows["AWS requests per event, event archive (in the delivery figure above)"]
    assert row[1].startswith("0.10 PutRecordBatch") and row[2] == "<= 0.15"
    key = f"cost per million events (1 route), {GUARDED} (record + replay guard)"
    # 10.24 GB billed at $0.029 and 3 GB partitioned at $0.020 a million events
    assert "event archive (Firehose: 2.0 records billed 10 KB; partitioning 3000 B) $0.357" in rows[key][1]
    assert float(rows[key][1].split(":")[0].lstrip("$")) - float(without[key][1].split(":")[0].lstrip("$")) \
        == pytest.approx(0.357, abs=0.006)  # totals are shown to the cent


def test_an_older_requests_file_without_the_signed_id_run_still_prices_the_github_kind(tmp_path: Path) -> None:
    old = {k: v for k, v in REQUESTS.items() if not k.startswith("signed_id")}
    (tmp_path / "requests.json").write_text(json.dumps(old))
    rows = [r for r in _bench_table().rows(tmp_path) if r[0].startswith("cost per million events")]
    assert len(rows) == 1 and "6.00 write units" in rows[0][1]
