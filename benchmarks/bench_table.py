"""One table of the figures the benchmarks under benchmarks/ wrote (JSON), plus a cost model.

`make bench` runs each benchmark with `--json DIR/<name>.json`, then this. A benchmark whose JSON
is missing is shown as "not run". Every ratio is measured side by side inside its own benchmark
run (the handler and its baseline alternate), as min and median of its rounds.

Cost model, us-east-1 list prices, per million events with one route, for each kind of source
(SOURCE_KINDS: the verify scheme decides whether ingress writes one item or two):
HTTP API $1.00/M requests; SQS $0.40/M requests; DynamoDB on demand $0.625/M write units and
$0.125/M read units (the write units bench_requests counted: items are under 1 KB, so 1 per written
item and 2 per item of a transaction; 1 read unit per read); Lambda arm64
$0.0000133334/GB-s plus $0.20/M invocations (ingress: one invocation per event; delivery: one per
batch of 10); CloudWatch Logs $0.50/GB ingested, from the bytes the handlers wrote per event.
Lambda durations: ingress = its CPU time at 512 MB's CPU share (512/1769 vCPU) plus 8 ms per AWS
call; delivery = the batch benchmark's batch of 10 to a 200 ms destination, over 10.

    .venv/bin/python benchmarks/bench_table.py DIR
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PRICE = {"http_api": 1.00, "sqs": 0.40, "wru": 0.625, "rru": 0.125, "gb_s": 0.0000133334, "lambda_req": 0.20,
         "logs_gb": 0.50, "firehose_gb": 0.029, "partitioning_gb": 0.020}
AWS_CALL_MS = 8.0
MEMORY_MB = 512
FULL_VCPU_MB = 1769
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_READS = {"GetItem", "Query"}


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    file = folder / f"{name}.json"
    return json.loads(file.read_text()) if file.exists() else None


def _ops(counts: dict[str, float]) -> str:
    return ", ".join(f"{v:g} {k.split(':')[-1]}" for k, v in counts.items())


# Ingress's write layout is set by the source's verify scheme (ingress.ingress._replay_guard): an id the
# signature does not cover adds the replay guard item in one TransactWriteItems (bench_requests' GitHub run);
# a signed id with a signed timestamp, or an id taken from the signed body, is one PutItem (the layout of its
# Standard Webhooks run).
SOURCE_KINDS = (("github; shopify and hmac-sha256 with a header id (record + replay guard)", "ingress"),
                ("stripe, standard-webhooks (signed id and timestamp), and shopify or hmac-sha256 with id_path "
                 "or no id (the record is the replay guard): one PutItem", "signed_id"))
COST_GOAL = 5.00


def _ingress_as(req: dict[str, Any], run: str) -> dict[str, Any]:
    """`req` with ingress's figures taken from one of bench_requests' runs ("ingress": GitHub; "signed_id")."""
    if run == "ingress" or "signed_id_write_units_per_event" not in req:
        return req
    return {**req, "ingress_operations_last_round": req["signed_id_operations_last_round"],
            "ingress_write_units_per_event": req["signed_id_write_units_per_event"],
            "ingress_cpu_ms_median": req["signed_id_cpu_ms_median"]}


def cost(req: dict[str, Any], batch: dict[str, Any] | None) -> tuple[float, list[tuple[str, float]]]:
    ops = {**{k: v for k, v in req["ingress_operations_last_round"].items()}}
    for k, v in req.get("delivery_operations", {}).items():
        ops[k] = ops.get(k, 0) + v
    sqs = sum(v for k, v in ops.items() if k.startswith("sqs:")) + req["delivery_poller_requests_per_event"]
    writes = sum(v for k, v in ops.items() if k.split(":")[-1] in _WRITES)
    if "ingress_write_units_per_event" in req:
        writes = req["ingress_write_units_per_event"] + req["delivery_write_units_per_event"]
    reads = sum(v for k, v in ops.items() if k.split(":")[-1] in _READS)
    ingress_calls = req["ingress_requests_per_event"]
    ingress_s = (req["ingress_cpu_ms_median"] / (MEMORY_MB / FULL_VCPU_MB) + ingress_calls * AWS_CALL_MS) / 1000
    delivery_s = (batch["batch_ms"] / 10 / 1000) if batch else 0.0
    gb = MEMORY_MB / 1024
    logs_gb = (req["ingress_log_bytes_per_event"] + req["delivery_log_bytes_per_event"]) / 1e9
    parts = [
        ("HTTP API", PRICE["http_api"]),
        (f"SQS ({sqs:.2f} requests)", sqs * PRICE["sqs"]),
        (f"DynamoDB ({writes:.2f} write units, {reads:.2f} reads)", writes * PRICE["wru"] + reads * PRICE["rru"]),
        ("Lambda requests (1 + 0.1)", 1.1 * PRICE["lambda_req"]),
        (f"Lambda GB-s ({ingress_s * 1000:.0f} ms + {delivery_s * 1000:.0f} ms at {MEMORY_MB} MB)",
         (ingress_s + delivery_s) * gb * PRICE["gb_s"] * 1e6),
        (f"CloudWatch Logs ({logs_gb * 1e9:.0f} B)", logs_gb * PRICE["logs_gb"] * 1e6),
    ]
    if "archive_billed_bytes_per_event" in req:  # the event archive (docs/events.md): Firehose bills per GB
        billed, size = req["archive_billed_bytes_per_event"] / 1e9, req["archive_bytes_per_event"] / 1e9
        parts.append((f"event archive (Firehose: {req['archive_records_per_event']:.1f} records billed "
                      f"{billed * 1e6:.0f} KB; partitioning {size * 1e9:.0f} B)",
                      (billed * PRICE["firehose_gb"] + size * PRICE["partitioning_gb"]) * 1e6))
    return sum(v for _, v in parts), parts


def rows(folder: Path) -> list[tuple[str, str, str]]:
    req, cold, routing, batch = (_load(folder, n) for n in ("requests", "cold_import", "routing", "delivery_batch"))
    batch_server, memory = _load(folder, "delivery_batch_server"), _load(folder, "memory")
    batch_inprocess = _load(folder, "delivery_batch_inprocess")
    out: list[tuple[str, str, str]] = []
    missing = "not run"
    if req:
        units = (f"; {req['ingress_write_units_per_event']:.2f} DynamoDB write units"
                 if "ingress_write_units_per_event" in req else "")
        out.append(("AWS requests per event, ingress",
                    f"{req['ingress_requests_per_event']:.2f} ({_ops(req['ingress_operations_last_round'])}){units}",
                    "2"))
        out.append(("AWS requests per event, delivery",
                    f"{req['delivery_requests_per_event']:.2f} ({_ops(req.get('delivery_operations', {}))}) + "
                    f"{req['delivery_poller_requests_per_event']:.2f} Receive/DeleteMessageBatch", "<= 2.25"))
        if "archive_billed_bytes_per_event" in req:
            out.append(("AWS requests per event, event archive (in the delivery figure above)",
                        f"{req.get('delivery_operations', {}).get('firehose:PutRecordBatch', 0):.2f} PutRecordBatch; "
                        f"{req['archive_records_per_event']:.1f} records, {req['archive_bytes_per_event']:.0f} B",
                        "<= 0.15"))
        out.append(("warm ingress CPU per event / hand-written baseline (GitHub: record + replay guard)",
                    f"median {req['cpu_ratio_median']:.2f}, min {req['cpu_ratio_min']:.2f} "
                    f"({req['ingress_cpu_ms_median']:.1f} vs {req['baseline_cpu_ms_median']:.1f} ms)", "<= 1.3"))
        if "guarded_cpu_ratio_median" in req:
            out.append(("same, over a hand-written handler that keeps the replay guard (one TransactWriteItems)",
                        f"median {req['guarded_cpu_ratio_median']:.2f}, min {req['guarded_cpu_ratio_min']:.2f} "
                        f"({req['ingress_cpu_ms_median']:.1f} vs {req['guarded_baseline_cpu_ms_median']:.1f} ms); "
                        f"AWS answered at once: median {req['instant_guarded_cpu_ratio_median']:.2f}", ""))
        if "signed_id_cpu_ratio_median" in req:
            out.append(("same, a source whose signature covers the id (Standard Webhooks: one PutItem)",
                        f"median {req['signed_id_cpu_ratio_median']:.2f}, min {req['signed_id_cpu_ratio_min']:.2f} "
                        f"({req['signed_id_cpu_ms_median']:.1f} ms); AWS answered at once: median "
                        f"{req['instant_signed_id_cpu_ratio_median']:.2f}", "<= 1.3"))
        if "instant_cpu_ratio_median" in req:
            out.append(("warm ingress CPU per event / hand-written baseline, AWS answered at once (no moto)",
                        f"median {req['instant_cpu_ratio_median']:.2f}, min {req['instant_cpu_ratio_min']:.2f} "
                        f"({req['instant_ingress_cpu_ms_median']:.2f} vs {req['instant_baseline_cpu_ms_median']:.2f}"
                        " ms)", "<= 1.3"))
    else:
        out.append(("AWS requests per event / warm ingress CPU", missing, ""))
    if cold:
        labels = {"xray_off": "cold import / `import boto3`, X-Ray off",
                  "xray_on": "cold import / `import boto3`, X-Ray on",
                  "ready_xray_off": "cold import + first request's services and clients / `import boto3`, X-Ray off",
                  "ready_xray_on": "cold import + first request's services and clients / `import boto3`, X-Ray on"}
        for case, label in labels.items():
            figures = cold["cases"].get(case)
            if not figures:
                continue
            # CPU ratios where measured (bench_cold_import.py): wall time on a shared machine includes waits.
            out.append((label,
                        "; ".join(f"{h} CPU median {f['cpu_ratio_median']:.2f} min {f['cpu_ratio_min']:.2f}, wall "
                                  f"median {f['ratio_median']:.2f}" if "cpu_ratio_median" in f else
                                  f"{h} median {f['ratio_median']:.2f} min {f['ratio_min']:.2f}"
                                  for h, f in figures.items()), "<= 1.5"))
            if all("libraries_cpu_ratio_median" in f for f in figures.values()):
                # bench_cold_import.py's reference cases: the same third-party modules and clients without
                # hookline (libraries), and only the contract's (floor: AWS SDK, Powertools, X-Ray SDK).
                out.append((f"{label}: the libraries it loads alone; the contract's floor",
                            "; ".join(f"{h} libraries / boto3 {f['libraries_cpu_ratio_median']:.2f}, ready / "
                                      f"libraries {f['ready_over_libraries_cpu_median']:.2f} (hookline's own "
                                      f"{f['hookline_cpu_ms_median']:.0f} ms CPU), floor / boto3 "
                                      f"{f['floor_cpu_ratio_median']:.2f}, ready / floor "
                                      f"{f['ready_over_floor_cpu_median']:.2f}" for h, f in figures.items()), ""))
    else:
        out.append(("cold import / `import boto3`", missing, ""))
    size = _load(folder, "layer_size")
    if size:
        layer, tools = size["layer"], size["tools"]
        out.append(("layer size (layers/hookline, without its pip dependencies)",
                    f"{layer['bytes']:,} bytes unzipped ({layer['zip_bytes']:,} zipped), {layer['python_lines']:,} "
                    f"lines; the tooling kept out of it: {tools['python_lines']:,} lines", "no tooling"))
    else:
        out.append(("layer size", missing, ""))
    if routing:
        out.append((f"route matching, {routing['routes']} routes with `when`",
                    f"median {routing['match_ms_median']:.3f} ms, min {routing['match_ms_min']:.3f} ms per request; "
                    f"{routing['parses_per_request']:.0f} parses per request", "<= 1 ms, 0 parses"))
        out.append((f"config load, {routing['routes']} routes (YAML, validated)",
                    f"median {routing['load_ms_median']:.0f} ms, min {routing['load_ms_min']:.0f} ms", "<= 100 ms"))
        if "prevalidated_load_ms_median" in routing:
            out.append(("config load, pre-validated form (Lambda after make deploy)",
                        f"median {routing['prevalidated_load_ms_median']:.0f} ms, "
                        f"min {routing['prevalidated_load_ms_min']:.0f} ms", "<= 100 ms"))
    else:
        out.append(("route matching / config load", missing, ""))
    for data in (batch, batch_server, batch_inprocess):
        if data:
            out.append((f"batch of 10 / one delivery, 200 ms destination [{data['backend']}]",
                        f"median {data['ratio_median']:.2f}, min {data['ratio_min']:.2f}; fixed cost per batch "
                        f"{data['fixed_ms']:.0f} ms (min {data['fixed_ms_min']:.0f})", "<= 1.5"))
    if not batch:
        out.append(("batch of 10 / one delivery", missing, ""))
    if memory:
        for handler, m in memory.items():
            p95 = m["p95_model_ms"]
            out.append((f"memory, {handler}: peak RSS; modelled p95 at 256 / 512 MB",
                        f"{m['rss_peak_mb']:.0f} MB; {float(p95['256']):.0f} / {float(p95['512']):.0f} ms",
                        "256 MB if p95 not slower"))
    if req:
        for kind, run in SOURCE_KINDS:
            if run == "signed_id" and "signed_id_write_units_per_event" not in req:
                continue
            total, parts = cost(_ingress_as(req, run), batch)
            out.append((f"cost per million events (1 route), {kind}", f"${total:.2f}: " + "; ".join(
                f"{name} ${value:.3f}" for name, value in parts), f"<= ${COST_GOAL:.2f}"))
    return out


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ".bench")
    table = rows(folder)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nhookline benchmarks (machine load average {load} on {os.cpu_count()} cores)\n")
    print("| figure | measured | goal |")
    print("|---|---|---|")
    for figure, measured, goal in table:
        print(f"| {figure} | {measured} | {goal} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
