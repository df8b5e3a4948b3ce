"""Which JSONata engine for `{jsonata:}` fields: the candidates on the registry, side by side.

    python benchmarks/bench_jsonata_engines.py [--venvs DIR] [--no-wheels] [--skip-wait]

Each engine runs in a throwaway venv of its own (DIR/venv-<package>, made with `pip install
<package>` if missing; never the project's .venv, and jsonata-rs installs a module named `jsonata`
that would shadow jsonata-python). For each one it measures:

- the official suite (tests/jsonata_suite, 1,686 cases): pass rate on a freshly compiled
  expression, and on the same compiled expressions again after time has passed (a real 2.5 s
  wait: other engines have no clock to inject) and from 4 threads at once: "warm";
- speed: evaluations per second of a few typical mapping expressions, compiled once;
- whether pip finds a cp313 aarch64 manylinux wheel (or a pure-Python one) for the Lambda layer.

"hookline" is jsonata-python behind hookline.mapping.jsonata (per-evaluation budgets and
jsonata_compat's fixes), run with the project's .venv. The figures are in docs/JSONATA.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_MS, MAX_DEPTH = 2000, 500

# (label, pip package) — "hookline" runs in the project's venv
ENGINES = [
    ("hookline", None),
    ("jsonata-python", "jsonata-python"),
    ("jsonatapy", "jsonatapy"),
    ("jsonata-rs", "jsonata-rs"),
    ("jsonata2py", "jsonata2py"),
    ("jlens", "jlens"),
    ("zopyx-pyjsonata", "zopyx-pyjsonata"),
]

ENVELOPE = {
    "id": "evt_1", "source": "stripe", "type": "payment_intent.succeeded",
    "body": {"data": {"object": {
        "id": "pi_3Nx", "amount": 129900, "currency": "usd", "created": 1795780800,
        "customer": {"email": "Ada@Example.com", "name": "Ada Lovelace", "id": 5890840712243076},
        "items": [{"sku": f"SKU-{i}", "qty": i % 3 + 1, "price": 1000 + i} for i in range(20)],
    }}},
}
SPEED = {
    "arithmetic": "body.data.object.amount / 100",
    "string": "$uppercase(body.data.object.currency) & ' ' & $string(body.data.object.amount)",
    "condition": "body.data.object.amount > 100000 ? 'large' : 'small'",
    "line items": "$sum(body.data.object.items.(qty * price)) / 100",
    "object": '{"email": $lowercase(body.data.object.customer.email), '
              '"first": $substringBefore(body.data.object.customer.name, " "), '
              '"skus": body.data.object.items[qty > 1].sku}',
}


# ------------------------------------------------------------------------- adapters (worker side)
def _code(e: BaseException) -> str | None:
    import re

    for attr in ("code", "error_code", "error"):
        value = getattr(e, attr, None)
        if isinstance(value, str) and value:
            return value
    found = re.search(r"\b([A-Z]\d{4})\b", str(e))
    return found.group(1) if found else None


def _adapter(label: str) -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.jsonata_suite import runner

    wait = lambda seconds: time.sleep(min(seconds, 2.5))  # noqa: E731 - real time for foreign engines
    if label == "hookline":
        return runner.hookline_engine(), "jsonata-python+fixes"
    if label == "jsonata-python":
        from jsonata import Jsonata

        def evaluate(h: Any, data: Any, b: dict) -> Any:
            return h.evaluate(data, b or None)

        return runner.Engine(label, lambda s: Jsonata(s, timeout=TIMEOUT_MS, stack=MAX_DEPTH),
                             evaluate, _code, wait), _version("jsonata-python")
    if label == "jsonatapy":
        import jsonatapy

        return runner.Engine(label, jsonatapy.compile,
                             lambda h, d, b: h.evaluate(d, b or None, timeout=TIMEOUT_MS, max_stack_depth=MAX_DEPTH),
                             _code, wait), _version("jsonatapy")
    if label == "jsonata-rs":
        import jsonata

        def compile_rs(s: str) -> Any:
            h = jsonata.Jsonata(s)
            h.set_runtime_bounds(TIMEOUT_MS, MAX_DEPTH)
            return h

        return runner.Engine(label, compile_rs, lambda h, d, b: h.evaluate(d, b or None), _code, wait), \
            _version("jsonata-rs")
    if label == "jsonata2py":
        import jsonata2py

        def compile_j2p(s: str) -> Any:
            h = jsonata2py.compile(s)
            h.set_timeout(TIMEOUT_MS)
            return h

        def evaluate_j2p(h: Any, d: Any, b: dict) -> Any:
            bindings = jsonata2py.JsonataBindings()
            for k, v in b.items():
                bindings.bind_value(k, v)
            out = h.evaluate(d, bindings)
            return None if out is jsonata2py.MISSING else out

        return runner.Engine(label, compile_j2p, evaluate_j2p, _code, wait), _version("jsonata2py")
    if label == "jlens":
        import jlens

        return runner.Engine(label, jlens.Expression,
                             lambda h, d, b: h.evaluate(d, b or None, timeout=TIMEOUT_MS / 1000, max_depth=MAX_DEPTH),
                             _code, wait), _version("jlens")
    if label == "zopyx-pyjsonata":
        from zopyx.pyjsonata import Jsonata

        return runner.Engine(label, Jsonata, lambda h, d, b: h.evaluate(d, b or None, MAX_DEPTH, TIMEOUT_MS),
                             _code, wait), _version("zopyx-pyjsonata")
    raise SystemExit(f"unknown engine {label}")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def worker(label: str, skip_wait: bool) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.jsonata_suite import runner

    engine, version = _adapter(label)
    if skip_wait:
        engine = runner.Engine(engine.name, engine.compile, engine.evaluate, engine.code_of)
    cases, datasets = runner.load()
    started = time.monotonic()
    fresh = runner.run(engine, cases, datasets, threads=1, later=())
    warm = runner.run(engine, cases, datasets)
    took = time.monotonic() - started
    speed = {}
    for name, source in SPEED.items():
        try:
            handle = engine.compile(source)
            engine.evaluate(handle, ENVELOPE, {})
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 0.5:
                engine.evaluate(handle, ENVELOPE, {})
                n += 1
            speed[name] = n / (time.perf_counter() - t0)
        except Exception as e:  # an engine that cannot run a typical expression shows it
            speed[name] = f"error {_code(e)}"
    big = {"error": None}
    try:
        big["value"] = engine.evaluate(engine.compile("$string(body.data.object.customer.id)"), ENVELOPE, {})
    except Exception as e:
        big["error"] = _code(e) or str(e)[:80]
    return {"engine": label, "version": version, "cases": len(cases), "fresh_failures": len(fresh),
            "warm_failures": len(warm), "suite_seconds": round(took, 1), "speed": speed, "big_id": big,
            "warm_only": sorted(set(warm) - set(fresh))[:5]}


# ------------------------------------------------------------------------- orchestrator
def _python_for(package: str | None, venvs: Path) -> Path:
    if package is None:
        return ROOT / ".venv/bin/python"
    venv = venvs / f"venv-{package}"
    python = venv / "bin/python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", package], check=True)
    return python


def _wheel(package: str) -> str:
    """A cp313 aarch64 (manylinux2014 or 2_28: Lambda's AL2023 has glibc 2.34) or pure wheel?"""
    for platform in ("manylinux2014_aarch64", "manylinux_2_28_aarch64"):
        with tempfile.TemporaryDirectory() as d:
            done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:",
                                   "--platform", platform, "--python-version", "3.13", "--no-deps", "-d", d,
                                   package], capture_output=True, text=True)
            files = [p.name for p in Path(d).iterdir()]
            if done.returncode == 0 and files:
                return files[0]
    return "none"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "jsonata-engines")
    parser.add_argument("--no-wheels", action="store_true")
    parser.add_argument("--skip-wait", action="store_true", help="no real 2.5 s wait for the warm run")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.skip_wait)))
        return
    rows = []
    for label, package in ENGINES:
        if args.only and label not in args.only:
            continue
        python = _python_for(package, args.venvs)
        cmd = [str(python), __file__, "--worker", label] + (["--skip-wait"] if args.skip_wait else [])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if done.returncode or not lines:
            print(f"{label}: worker failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        row = json.loads(lines[-1])
        row["wheel"] = "-" if args.no_wheels else ("project venv" if package is None else _wheel(package))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print(f"\n{'engine':<17}{'version':<22}{'fresh':>8}{'warm':>8}  {'suite s':>7}  "
          + "".join(f"{k[:10]:>11}" for k in SPEED) + "  $string(big id)        aarch64 cp313 wheel")
    for r in rows:
        def pct(failures: int, r: dict = r) -> str:
            return f"{100 * (r['cases'] - failures) / r['cases']:.1f}%"
        speeds = "".join(f"{v:>11,.0f}" if isinstance(v, float) else f"{v[:10]:>11}" for v in r["speed"].values())
        big = r["big_id"]["error"] or r["big_id"].get("value")
        print(f"{r['engine']:<17}{r['version']:<22}{pct(r['fresh_failures']):>8}{pct(r['warm_failures']):>8}  "
              f"{r['suite_seconds']:>7}  {speeds}  {str(big)[:22]:<22} {r['wheel']}")
    print("\nfresh / warm: share of the official suite's cases passed; warm = the same compiled expressions "
          "after 2.5 s and from 4 threads. Speed columns: evaluations per second.")


if __name__ == "__main__":
    main()
