"""Cold import of each Lambda handler (functions/*/app.py) divided by a bare `import boto3`.

Each sample is a fresh interpreter that times one import (interpreter start-up excluded) with
perf_counter, and with process_time beside it: its CPU time, which on a shared machine leaves out the
waits for a core that wall time includes. A handler sample and a boto3 sample form a pair; pairs are
interleaved so that machine load hits both sides alike, and the ratio is taken per pair (median and min
reported).

Lambda-like: the layer (layers/hookline) and the function folder come first on sys.path as
/opt/python and /var/task do, the environment carries what the Lambda runtime and template.yaml
set (function name, region, POWERTOOLS_*), and the bytecode is compiled beforehand (this machine
sets PYTHONDONTWRITEBYTECODE=1, under which every import would compile from source; Lambda
bundles are built with bytecode). Two cases: X-Ray off (no daemon address: tracing is not loaded)
and X-Ray on (AWS_XRAY_DAEMON_ADDRESS set as `Tracing: Active` does).

The import alone flatters a handler that defers imports to its first request, so "ready" cases
time the import plus building what the first request uses (configuration loaded, services and
their AWS clients made; no AWS call) against the same bare `import boto3`.

    .venv/bin/python benchmarks/bench_cold_import.py [--pairs 20] [--top 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HANDLERS = ("ingress", "deliver", "sync")
GOAL = 1.5

LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "LAMBDA_TASK_ROOT": "/var/task",
    "POWERTOOLS_SERVICE_NAME": "hookline",
    "POWERTOOLS_METRICS_NAMESPACE": "Hookline",
    "HOOKLINE_STAGE": "dev",
}
XRAY_ON = {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000", "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR"}

# Wall time, and CPU time (process_time) beside it: on a shared machine a sample's wall time includes
# waiting for a core, which CPU time does not (the import is CPU-bound: its files are in the page cache).
_CLOCKS = "t, c = time.perf_counter(), time.process_time()"
_PRINT = "print(time.perf_counter() - t, time.process_time() - c)"
_TIMED = "import time, sys; " + _CLOCKS + "; import {module}; " + _PRINT
# Ready to serve: the handler imported and the services of its first request built (clients made,
# configuration loaded: the pre-validated form where `make deploy` would have written one), no AWS call.
# A small-body event: no S3 client (made only for bodies past the claim-check threshold).
_READY = ("import time, sys; " + _CLOCKS + "; import app; from hookline.wiring import services; "
          "{imports}s = services(); {touch}; " + _PRINT)
READY_ATTR = {"ingress": "s.ingress, s.publisher.client, s.event_log_entries.client",
              "deliver": "s.delivery, s.events.table, s.delivery_queues",
              # A sync run: its state store (the event log's table) and the queue it publishes to.
              "sync": "build_runtime(s), s.publisher.client"}
_READY_IMPORT = {"sync": "from hookline.sync.service import build_runtime; "}


def _env(handler: str | None, xray: bool) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "POWERTOOLS_", "HOOKLINE_", "_X_AMZN", "PYTHON"))}
    env = {**keep, **LAMBDA_ENV, **(XRAY_ON if xray else {})}
    env["AWS_LAMBDA_FUNCTION_NAME"] = f"hookline-{handler or 'bare'}"
    paths = [str(ROOT / "layers" / "hookline")] + ([str(ROOT / "functions" / handler)] if handler else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def compile_bytecode() -> None:
    """What a Lambda bundle has: .pyc next to every module (compileall writes them despite the env var)."""
    for folder in (sysconfig.get_paths()["purelib"], ROOT / "layers" / "hookline", ROOT / "functions"):
        compileall.compile_dir(str(folder), quiet=2, workers=0)


def time_import(module: str, handler: str | None, xray: bool, ready: bool = False) -> tuple[float, float]:
    code = (_READY.format(imports=_READY_IMPORT.get(handler or "", ""), touch=READY_ATTR[handler or ""]) if ready
            else _TIMED.format(module=module))
    env = _env(handler, xray)
    if ready:
        env.update(READY_ENV)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd="/")
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


READY_ENV: dict[str, str] = {}


def _prepare_ready(tmp: Path) -> None:
    """A bundled configuration as `make deploy` leaves it (plus its pre-validated form, where that exists)."""
    config = tmp / "hookline.yaml"
    config.write_text((ROOT / "examples" / "hookline.yaml").read_text())
    env = _env(None, False)
    subprocess.run([sys.executable, "-m", "hookline.prevalidated", str(config)], env=env, capture_output=True,
                   check=False, cwd="/")  # absent before the pre-validated form existed: the YAML is loaded
    READY_ENV.update({"HOOKLINE_CONFIG": str(config), "EVENTS_TABLE": "events",
                      "DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                      "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
                      "PAYLOAD_BUCKET": "payloads", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})


def ratios(handler: str, pairs: int, xray: bool, ready: bool = False) -> dict[str, float]:
    """Median (and min) over `pairs` interleaved pairs of handler / boto3, in wall and in CPU time."""
    hs, bs = [], []
    for i in range(pairs):
        # Alternate which goes first so a warming page cache favours neither side.
        if i % 2:
            b = time_import("boto3", None, xray)
            h = time_import("app", handler, xray, ready)
        else:
            h = time_import("app", handler, xray, ready)
            b = time_import("boto3", None, xray)
        hs.append(h)
        bs.append(b)
    rs = [h[0] / b[0] for h, b in zip(hs, bs, strict=True)]
    cpu = [h[1] / b[1] for h, b in zip(hs, bs, strict=True)]
    return {"handler_ms_median": statistics.median(h[0] for h in hs) * 1000,
            "boto3_ms_median": statistics.median(b[0] for b in bs) * 1000,
            "ratio_median": statistics.median(rs), "ratio_min": min(rs),
            "handler_cpu_ms_median": statistics.median(h[1] for h in hs) * 1000,
            "boto3_cpu_ms_median": statistics.median(b[1] for b in bs) * 1000,
            "cpu_ratio_median": statistics.median(cpu), "cpu_ratio_min": min(cpu)}


_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def import_top(handler: str, xray: bool, top: int, runs: int = 3) -> list[tuple[str, float]]:
    """Self time per package (hookline per module), median over `runs` `-X importtime` runs, in ms."""
    per_run: list[dict[str, float]] = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], env=_env(handler, xray),
                             capture_output=True, text=True, check=True, cwd="/")
        totals: dict[str, float] = defaultdict(float)
        for line in out.stderr.splitlines():
            m = _LINE.match(line)
            if not m:
                continue
            name = m.group(4)
            parts = name.split(".")
            key = ".".join(parts[:2]) if parts[0] == "hookline" else parts[0]
            totals[key] += int(m.group(1)) / 1000
        per_run.append(totals)
    keys = set().union(*per_run)
    med = {k: statistics.median(r.get(k, 0.0) for r in per_run) for k in keys}
    return sorted(med.items(), key=lambda kv: -kv[1])[:top]


def measure(pairs: int, top: int, ready_only: bool = False) -> dict:
    compile_bytecode()
    result: dict = {"pairs": pairs, "cases": {}}
    for xray in (() if ready_only else (False, True)):
        case = "xray_on" if xray else "xray_off"
        result["cases"][case] = {}
        for handler in HANDLERS:
            result["cases"][case][handler] = {
                **ratios(handler, pairs, xray), "top": import_top(handler, xray, top) if handler == "ingress" else []}
    with tempfile.TemporaryDirectory() as tmp:
        _prepare_ready(Path(tmp))
        for xray in (False, True):
            case = "ready_xray_on" if xray else "ready_xray_off"
            result["cases"][case] = {}
            for handler in READY_ATTR:
                result["cases"][case][handler] = {**ratios(handler, pairs, xray, ready=True), "top": []}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here (used by bench_table.py)")
    parser.add_argument("--ready-only", action="store_true", help="only the import + first request's cases")
    args = parser.parse_args()
    result = measure(args.pairs, args.top, args.ready_only)
    for case, handlers in result["cases"].items():
        print(f"{case}: {args.pairs} interleaved pairs, handler import / `import boto3`")
        for handler, f in handlers.items():
            print(f"  {handler:8s} {f['handler_ms_median']:6.1f} ms / {f['boto3_ms_median']:6.1f} ms   "
                  f"ratio median {f['ratio_median']:.2f}  min {f['ratio_min']:.2f}   (goal <= {GOAL});  CPU "
                  f"{f['handler_cpu_ms_median']:6.1f} ms / {f['boto3_cpu_ms_median']:6.1f} ms   "
                  f"ratio median {f['cpu_ratio_median']:.2f}  min {f['cpu_ratio_min']:.2f}")
        if not handlers["ingress"]["top"]:
            continue
        print(f"  import-time top {args.top} (ingress, self ms, median of 3):")
        for name, ms in handlers["ingress"]["top"]:
            print(f"    {ms:7.1f}  {name}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
