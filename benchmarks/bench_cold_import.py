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

Each ready case has two reference cases, timed in the same rounds (ready, libraries, floor and boto3
interleaved, order rotated per round): "libraries" imports exactly the third-party modules the ready
run loaded, in its order, and builds the AWS clients its first request built (recorded by wrapping
botocore's `Session.create_client` in an untimed probe run) from one botocore session, with no
hookline code; "floor" does the same with only what the contract requires (botocore/boto3, the
Powertools modules, the X-Ray SDK when tracing is on, and those clients): no pydantic, requests, yaml.
ready - libraries is hookline's own cost; no Python implementation of this design goes under the floor.
Both reference cases run without cyclic garbage collection, as the functions' app.py do in Lambda until
their first invocation is over; the bare `import boto3` is left as it is (the issue's yardstick).

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


def _run(code: str, env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd="/")
    return out.stdout.strip().splitlines()[-1].split()


def time_import(module: str, handler: str | None, xray: bool, ready: bool = False) -> tuple[float, float]:
    code = (_READY.format(imports=_READY_IMPORT.get(handler or "", ""), touch=READY_ATTR[handler or ""]) if ready
            else _TIMED.format(module=module))
    env = _env(handler, xray)
    if ready:
        env.update(READY_ENV)
    wall, cpu = _run(code, env)
    return float(wall), float(cpu)


# Untimed, beside each ready case: the third-party modules its first request loaded, in import order, and
# the AWS clients it built. botocore.session's Session.create_client is wrapped as the module is first
# imported (a meta path finder), so the ready code still imports everything in its own order.
_PROBE = """
import json, sys
from importlib.util import find_spec
before, clients = set(sys.modules), []


class Hook:
    def find_spec(self, name, path=None, target=None):
        if name != "botocore.session":
            return None
        sys.meta_path.remove(self)
        spec = find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            create = module.Session.create_client

            def create_client(self, service_name, *args, **kwargs):
                clients.append(service_name)
                return create(self, service_name, *args, **kwargs)
            module.Session.create_client = create_client
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, Hook())
import app
from hookline.wiring import services
{imports}s = services(); {touch}
import sysconfig
stdlib = sysconfig.get_paths()["stdlib"]


def third_party(name, module):
    # Not an alias (__mp_main__, Cython's runtime modules): a module importable under its own name.
    spec = getattr(module, "__spec__", None)
    return (name not in before and spec is not None and spec.name == name
            and name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] not in ("hookline", "app")
            and not (spec.origin or "").startswith(stdlib))


third = [name for name, module in list(sys.modules.items()) if third_party(name, module)]
print(json.dumps({{"modules": third, "clients": clients}}))
"""
# The reference cases: those modules imported by name in that order, then those clients from one botocore
# session; no hookline code. A name that does not import by itself (an alias a library registers) is counted.
# Without cyclic garbage collection in Lambda, as the functions' app.py do: any implementation could.
_LIBRARIES = """
import gc, os, sys, time
from importlib import import_module
modules, clients = os.environ["BENCH_MODULES"].split(), os.environ["BENCH_CLIENTS"].split()
t, c = time.perf_counter(), time.process_time()
if os.environ.get("LAMBDA_TASK_ROOT"):
    gc.disable()
failed = 0
for name in modules:
    try:
        import_module(name)
    except Exception:
        failed += 1
if clients:
    import botocore.session
    session = botocore.session.Session()
    for service in clients:
        session.create_client(service)
wall, cpu = time.perf_counter() - t, time.process_time() - c
if os.environ.get("BENCH_LOADED"):  # untimed: what this run loaded, to name what the floor leaves out
    print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
print(wall, cpu, failed)
"""
# What the contract requires of any Python implementation of this design: the AWS SDK and its clients,
# Powertools (logger, metrics, tracer; deliver's batch and idempotency), the X-Ray SDK when tracing is on.
CONTRACT = ("botocore", "boto3", "s3transfer", "aws_lambda_powertools", "aws_xray_sdk")


def probe_ready(handler: str, xray: bool) -> dict[str, list[str]]:
    env = {**_env(handler, xray), **READY_ENV}
    code = _PROBE.format(imports=_READY_IMPORT.get(handler, ""), touch=READY_ATTR[handler])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd="/")
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_libraries(handler: str, xray: bool, modules: list[str], clients: list[str]) -> tuple[float, float]:
    env = {**_env(handler, xray), **READY_ENV, "BENCH_MODULES": " ".join(modules), "BENCH_CLIENTS": " ".join(clients)}
    wall, cpu, failed = _run(_LIBRARIES, env)
    if int(failed) > len(modules) // 20:  # a few aliases are expected; more means the list is not what ran
        raise RuntimeError(f"{handler}: {failed} of {len(modules)} modules did not import by name")
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


def _median_ms(samples: list[tuple[float, float]], clock: int) -> float:
    return statistics.median(x[clock] for x in samples) * 1000


def ready_ratios(handler: str, pairs: int, xray: bool) -> dict:
    """The ready case against boto3 (as `ratios`), and its libraries and floor cases in the same rounds."""
    probe = probe_ready(handler, xray)
    floor = [m for m in probe["modules"] if m.split(".")[0] in CONTRACT]
    env = {**_env(handler, xray), **READY_ENV, "BENCH_MODULES": " ".join(floor),
           "BENCH_CLIENTS": " ".join(probe["clients"]), "BENCH_LOADED": "1"}
    out = subprocess.run([sys.executable, "-c", _LIBRARIES], env=env, capture_output=True, text=True, check=True,
                         cwd="/")
    in_floor = set(out.stdout.strip().splitlines()[-2].split())
    sides = {"ready": lambda: time_import("app", handler, xray, ready=True),
             "libraries": lambda: time_libraries(handler, xray, probe["modules"], probe["clients"]),
             "floor": lambda: time_libraries(handler, xray, floor, probe["clients"]),
             "boto3": lambda: time_import("boto3", None, xray)}
    names = list(sides)
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for i in range(pairs):
        for name in names[i % len(names):] + names[:i % len(names)]:  # each side leads in turn
            got[name].append(sides[name]())
    ready, libs, base, boto3 = got["ready"], got["libraries"], got["floor"], got["boto3"]

    def per_round(a: list[tuple[float, float]], b: list[tuple[float, float]], clock: int) -> list[float]:
        return [x[clock] / y[clock] for x, y in zip(a, b, strict=True)]

    def minus_ms(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
        return statistics.median((x[1] - y[1]) * 1000 for x, y in zip(a, b, strict=True))

    rs, cpu = per_round(ready, boto3, 0), per_round(ready, boto3, 1)
    return {"handler_ms_median": _median_ms(ready, 0), "boto3_ms_median": _median_ms(boto3, 0),
            "ratio_median": statistics.median(rs), "ratio_min": min(rs),
            "handler_cpu_ms_median": _median_ms(ready, 1), "boto3_cpu_ms_median": _median_ms(boto3, 1),
            "cpu_ratio_median": statistics.median(cpu), "cpu_ratio_min": min(cpu),
            # CPU only from here: the figures to judge by on a shared machine.
            "libraries_cpu_ms_median": _median_ms(libs, 1),
            "libraries_cpu_ratio_median": statistics.median(per_round(libs, boto3, 1)),
            "ready_over_libraries_cpu_median": statistics.median(per_round(ready, libs, 1)),
            "hookline_cpu_ms_median": minus_ms(ready, libs),
            "floor_cpu_ms_median": _median_ms(base, 1),
            "floor_cpu_ratio_median": statistics.median(per_round(base, boto3, 1)),
            "ready_over_floor_cpu_median": statistics.median(per_round(ready, base, 1)),
            "above_floor_cpu_ms_median": minus_ms(ready, base),
            "libraries": {"modules": len(probe["modules"]), "floor_modules": len(floor), "clients": probe["clients"],
                          "beyond_floor": sorted({m.split(".")[0] for m in probe["modules"]} - in_floor)}}


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
                result["cases"][case][handler] = {**ready_ratios(handler, pairs, xray), "top": []}
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
            if "libraries" in f:
                lib = f["libraries"]
                print(f"           libraries ({lib['modules']} modules, clients: {' '.join(lib['clients'])}) "
                      f"{f['libraries_cpu_ms_median']:6.1f} ms CPU: libraries / boto3 "
                      f"{f['libraries_cpu_ratio_median']:.2f}, ready / libraries "
                      f"{f['ready_over_libraries_cpu_median']:.2f}, "
                      f"hookline's own {f['hookline_cpu_ms_median']:5.1f} ms")
                print(f"           floor, the contract's libraries only ({lib['floor_modules']} modules, without "
                      f"{', '.join(lib['beyond_floor'])}) {f['floor_cpu_ms_median']:6.1f} ms CPU: floor / boto3 "
                      f"{f['floor_cpu_ratio_median']:.2f}, ready / floor {f['ready_over_floor_cpu_median']:.2f}, "
                      f"above the floor {f['above_floor_cpu_ms_median']:5.1f} ms")
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
