"""`hookline sync list` / `hookline sync run NAME`: the batch syncs' state, and one run now.

`run` against the running `hookline dev` runs the sync in this process, on the emulator's
queue and tables with the dev configuration and env file (what the dev scheduler would do);
against a deployed stack it invokes the stack's sync function with {"job": NAME} (its role,
its secrets) and follows the run's checkpoint in the events table for the progress bar.
Exit status: 0 when the run completed, 1 when a page failed or the run could not finish.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from hookline.commands._jobs import job_config, progress, services_beside_dev, sync_store
from hookline.commands._ops import (
    CommandError,
    add_stack_arg,
    emit_json,
    friendly,
    note,
    shorten,
    stack_for,
    table,
)
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="batch syncs: list their state, or run one now",
                       description=__doc__.splitlines()[0])
    inner = p.add_subparsers(dest="sync_command", metavar="list|run", required=True)
    ls = inner.add_parser("list", help="each sync: last run, watermark, next run, last error")
    ls.add_argument("--config", default=None, help="configuration file (default: the one `hookline dev` runs, "
                                                   "else $HOOKLINE_CONFIG or ./hookline.yaml)")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    add_stack_arg(ls)
    ls.set_defaults(func=run_list)
    rn = inner.add_parser("run", help="run one sync now, with a progress bar (exit 0 completed, 1 pages failed)")
    rn.add_argument("name", help="the sync's name (syncs.<name> in the configuration)")
    rn.add_argument("--config", default=None, help="configuration file (local runs; default as for list)")
    rn.add_argument("--json", action="store_true", help="print the run's figures as JSON")
    add_stack_arg(rn)
    rn.set_defaults(func=run_one)


@friendly
def run_list(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    cfg, _ = job_config(args, stack)
    states = sync_store(stack).all_states(list(cfg.syncs)) if cfg.syncs else {}
    rows = []
    for name, sync in cfg.syncs.items():
        st = states.get(name) or {}
        last = st.get("last_run") or {}
        rows.append({
            "sync": name, "every": sync.every, "last_run": last.get("started_at"), "status": last.get("status"),
            "pages": last.get("pages"), "seen": last.get("seen"), "queued": last.get("queued"),
            "unchanged": last.get("unchanged"), "failed": last.get("failed"), "watermark": st.get("watermark"),
            "next_run": st.get("next_run_at"), "resumes": bool(st.get("checkpoint")),
            "running": float(st.get("lease_until") or 0) > time.time(), "last_error": st.get("last_error"),
        })
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no syncs configured (syncs: in the configuration)")
        return 0
    table(["SYNC", "EVERY", "LAST RUN", "STATUS", "PAGES", "SEEN", "QUEUED", "WATERMARK", "NEXT RUN", "LAST ERROR"],
          [[r["sync"], r["every"], format_epoch(r["last_run"]),
            (r["status"] or "never") + (" (resumes)" if r["resumes"] else "") + (" running" if r["running"] else ""),
            r["pages"], r["seen"], r["queued"], r["watermark"], format_epoch(r["next_run"]),
            shorten(r["last_error"], 50)] for r in rows], right=(4, 5, 6))
    return 0


@friendly
def run_one(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    run = _run_local(args, stack) if stack.local else _run_remote(args, stack)
    if args.json:
        emit_json(run)
    else:
        _summary(run)
    return 0 if run.get("status") == "completed" else 1


def _summary(run: dict[str, Any]) -> None:
    print(f"sync {run['sync']}: {run['status']}{' (resumed)' if run.get('resumed') else ''} — "
          f"{run.get('pages', 0)} page(s), {run.get('seen', 0)} seen, {run.get('queued', 0)} queued, "
          f"{run.get('unchanged', 0)} unchanged, {run.get('failed', 0)} failed page(s), "
          f"{run.get('duration_seconds', 0):.1f} s")
    if run.get("watermark") is not None:
        print(f"  watermark  {run['watermark']}")
    if run.get("stop_reason") and run.get("status") != "completed":
        print(f"  stopped    {run['stop_reason']}")
    if run.get("error"):
        print(f"  error      {run['error']}")


def _run_local(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    """In this process, against the running `hookline dev` (its emulator, configuration and env file)."""
    cfg, path = job_config(args, stack)
    if args.name not in cfg.syncs:
        raise CommandError(f"no sync {args.name!r} in {path} (configured: {', '.join(cfg.syncs) or 'none'})")
    svc = services_beside_dev(stack, cfg, path)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.sync.runner import run_job
    from hookline.sync.service import build_runtime

    with progress() as bars:
        bar = bars.add_task(f"sync {args.name}: starting", total=None)

        def on_page(run: Any) -> None:
            bars.update(bar, description=f"sync {args.name}: page {run.pages}, {run.seen} seen, "
                                         f"{run.queued} queued, {run.unchanged} unchanged")

        runs = run_job(args.name, cfg, build_runtime(svc, on_page=on_page))
    return runs[0].to_dict()


def _run_remote(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    """Invoke the deployed sync function; follow the checkpoint in the events table meanwhile."""
    function = stack.output("SyncFunctionName")
    lam = stack.client("lambda")
    store = sync_store(stack)
    result: dict[str, Any] = {}

    def invoke() -> None:
        try:
            resp = lam.invoke(FunctionName=function, Payload=json.dumps({"job": args.name}).encode())
            result["payload"] = json.loads(resp["Payload"].read() or b"{}")
            result["error"] = resp.get("FunctionError")
        except Exception as e:  # reported below, in the main thread
            result["exception"] = e

    worker = threading.Thread(target=invoke, daemon=True)
    worker.start()
    with progress() as bars:
        bar = bars.add_task(f"sync {args.name}: invoking {function}", total=None)
        while worker.is_alive():
            worker.join(1.0)
            checkpoint = (store.get_state(args.name).get("checkpoint") or {})
            if checkpoint:
                bars.update(bar, description=f"sync {args.name}: {checkpoint.get('pages', 0)} page(s) done")
    if "exception" in result:
        raise result["exception"]
    payload = result.get("payload") or {}
    if result.get("error"):
        raise CommandError(f"{function} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
    runs = payload.get("runs") or []
    if not runs:
        note(f"{function} returned no run: {shorten(json.dumps(payload), 200)}")
        raise CommandError(f"sync {args.name!r} did not run (is it in the deployed configuration?)")
    return dict(runs[0])
