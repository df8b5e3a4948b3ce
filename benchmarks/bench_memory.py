"""Can ingress and sync run at 256 MB without a slower p95? Peak memory and a CPU-share model.

Lambda cannot run here, so this measures what decides it, per handler, in a process of its own
(functions/<name>/app.py, services built from the environment as in Lambda, X-Ray off) against a
moto server in another process (so the handler process holds only what Lambda's would):

- peak RSS (VmHWM) after import, after the first invocation and after all of them;
- the largest Python allocation peak within one invocation (tracemalloc, a separate pass);
- per invocation, CPU time (process_time) and wall time.

Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU), so the same
invocation at M MB takes about (wall - cpu) + cpu / (M / 1769): the waits (AWS calls, the
source API) stay, the CPU part stretches. The p95 of that model is printed for 256, 512 and
1024 MB. Ingress is measured per webhook; sync per job run (a page of 20 items).

    .venv/bin/python benchmarks/bench_memory.py [--invocations 150] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import ROOT, LambdaContext, github_payload, http_event, load_handler, moto_server_stack, write_json

FULL_VCPU_MB = 1769
SIZES = (256, 512, 1024)
SYNC_ITEMS = 20


def _rss_mb() -> float:
    """This process's peak RSS so far. Not getrusage's ru_maxrss: Linux carries it across exec, so a
    child started by a 200 MB parent reads 200 MB before it has imported anything."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(handler: str, invocations: int) -> dict[str, Any]:
    """Runs in the measured process: the environment already names the stack and the config."""
    started_rss = _rss_mb()
    app = load_handler(handler)
    rss_import = _rss_mb()
    ctx = LambdaContext()
    sink = open(os.devnull, "w")  # noqa: SIM115 - the handlers' logs: not measured here
    from hookline.observability import logger

    logger.registered_handler.setStream(sink)

    def invoke(i: int) -> None:
        if handler == "ingress":
            response = app.handler(http_event(github_payload(i)), ctx)
            assert response["statusCode"] == 202, response
        else:
            result = app.handler({"job": "all"}, ctx)
            assert result["runs"][0]["seen"] == SYNC_ITEMS, result

    stdout, sys.stdout = sys.stdout, sink  # Metrics flush to stdout
    try:
        invoke(0)
        rss_first = _rss_mb()
        cpu, wall = [], []
        for i in range(1, invocations + 1):
            c, w = time.process_time(), time.perf_counter()
            invoke(i)
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
        rss_peak = _rss_mb()
        tracemalloc.start()
        peaks = []
        for i in range(invocations + 1, invocations + 21):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            invoke(i)
            peaks.append((tracemalloc.get_traced_memory()[1] - before) / 2**20)
        tracemalloc.stop()
    finally:
        sys.stdout = stdout
    return {"rss_start_mb": started_rss, "rss_import_mb": rss_import, "rss_first_mb": rss_first,
            "rss_peak_mb": rss_peak, "alloc_peak_per_invocation_mb": max(peaks), "cpu": cpu, "wall": wall}


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def model(cpu: list[float], wall: list[float]) -> dict[int, float]:
    out = {}
    for size in SIZES:
        share = min(size / FULL_VCPU_MB, 1.0)
        out[size] = _p95([max(w - c, 0.0) + c / share for c, w in zip(cpu, wall, strict=True)]) * 1000
    return out


def measure(invocations: int) -> dict[str, Any]:
    from tests.support.receiver import Receiver, Script

    items = [{"id": f"item-{i}", "name": f"Item {i}", "email": f"u{i}@example.com"} for i in range(SYNC_ITEMS)]
    results: dict[str, Any] = {}
    with moto_server_stack() as stack, Receiver() as dest, \
            Receiver(Script(body=json.dumps(items).encode())) as api, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "hookline.yaml"
        config.write_text(json.dumps({
            "sources": {"github": {"verify": {"scheme": "github", "secrets": ["env:BENCH_GH_SECRET"]}},
                        "crm-pull": {"verify": {"scheme": "hmac-sha256", "secrets": ["env:BENCH_GH_SECRET"],
                                                "header": "X-Sig"}}},
            "destinations": {"crm": {"url": f"{dest.url}/contacts"}},
            "routes": [{"name": "issues", "source": "github", "destination": "crm",
                        "when": "headers.\"x-github-event\" == 'issues'"},
                       {"name": "pulled", "source": "crm-pull", "destination": "crm"}],
            "syncs": {"contacts": {"source": "crm-pull", "url": f"{api.url}/contacts"}},
        }))
        deployed = {f.logical_id: f.environment for f in stack.deployed.functions()}  # as CloudFormation set them
        for handler, logical in (("ingress", "IngressFunction"), ("sync", "SyncFunction")):
            env = {**os.environ, **deployed[logical],
                   "HOOKLINE_CONFIG": str(config), "AWS_LAMBDA_FUNCTION_NAME": f"hookline-{handler}",
                   "POWERTOOLS_TRACE_DISABLED": "1", "PYTHONPATH": os.pathsep.join(
                       [str(ROOT / "layers" / "hookline"), str(ROOT)])}
            # Each sync run pulls the same items: after the first they are duplicates. Fresh ids per run
            # would need a changing API; duplicates still cost the full read path, and the first run the writes.
            out = subprocess.run([sys.executable, __file__, "--child", handler, "--invocations",
                                  str(invocations if handler == "ingress" else max(invocations // 5, 20))],
                                 env=env, capture_output=True, text=True, check=False, timeout=900)
            if out.returncode:
                raise SystemExit(f"{handler} child failed:\n{out.stderr[-3000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["p95_model_ms"] = model(r["cpu"], r["wall"])
            r["cpu_ms_median"] = statistics.median(r["cpu"]) * 1000
            r["wall_ms_median"] = statistics.median(r["wall"]) * 1000
            r["invocations"] = len(r.pop("cpu"))
            r.pop("wall")
            results[handler] = r
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=150)
    parser.add_argument("--child", choices=("ingress", "sync"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.invocations)))
        return 0
    results = measure(args.invocations)
    print("per handler process (moto server in another process; CPU-share model: 1,769 MB = 1 vCPU)")
    for handler, r in results.items():
        p95 = r["p95_model_ms"]
        print(f"  {handler:7s} RSS after import {r['rss_import_mb']:.0f} MB, "
              f"after first call {r['rss_first_mb']:.0f} MB, peak {r['rss_peak_mb']:.0f} MB; "
              f"largest allocation peak in one call "
              f"{r['alloc_peak_per_invocation_mb']:.1f} MB; CPU {r['cpu_ms_median']:.1f} ms, "
              f"wall {r['wall_ms_median']:.1f} ms median over {r['invocations']} calls")
        print("          modelled p95: " + ", ".join(f"{size} MB {ms:.0f} ms" for size, ms in sorted(p95.items())))
    write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
