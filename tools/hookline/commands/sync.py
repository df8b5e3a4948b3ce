"""`hookline sync list` / `hookline sync run NAME`: the batch syncs' state, and one run now.

`run` against the running `hookline dev` runs the sync in this process, on the emulator's
queue and tables with the dev configuration and env file (what the dev scheduler would do);
against a deployed stack it invokes the stack's sync function with {"job": NAME} (its role,
its secrets) and follows the run's checkpoint in the events table for the progress bar.
Exit status: 0 when the run completed, 1 when a page failed or the run could not finish.
"""

from __future__ import annotations

import argparse
from typing import Any

from hookline.commands import _jobs
from hookline.commands._jobs import job_config, sync_store
from hookline.commands._ops import CommandError, emit_json, friendly, shorten, stack_for, table
from hookline.operations.stack import StackInfo
from hookline.operations.timeparse import format_epoch


def add_parser(sub: argparse._SubParsersAction) -> None:
    _jobs.add_list_run_parsers(
        sub, "sync", "batch syncs: list their state, or run one now", __doc__.splitlines()[0],
        list_help="each sync: last run, watermark, next run, last error",
        list_config_help="configuration file (default: the one `hookline dev` runs, else $HOOKLINE_CONFIG or "
                         "./hookline.yaml)",
        run_help="run one sync now, with a progress bar (exit 0 completed, 1 pages failed)",
        target=("name", "the sync's name (syncs.<name> in the configuration)"), run_list=run_list, run_one=run_one)


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
            "running": _jobs.running(st), "last_error": st.get("last_error"),
        })
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no syncs configured (syncs: in the configuration)")
        return 0
    table(["SYNC", "EVERY", "LAST RUN", "STATUS", "PAGES", "SEEN", "QUEUED", "WATERMARK", "NEXT RUN", "LAST ERROR"],
          [[r["sync"], r["every"], format_epoch(r["last_run"]), _jobs.status_cell(r), r["pages"], r["seen"],
            r["queued"], r["watermark"], format_epoch(r["next_run"]), shorten(r["last_error"], 50)] for r in rows],
          right=(4, 5, 6))
    return 0


@friendly
def run_one(args: argparse.Namespace) -> int:
    stack = stack_for(args)
    return _jobs.report_run(args, _run_local(args, stack) if stack.local else _run_remote(args, stack), _summary)


def _summary(run: dict[str, Any]) -> str:
    watermark = f"\n  watermark  {run['watermark']}" if run.get("watermark") is not None else ""
    return (f"sync {run['sync']}: {run['status']}{' (resumed)' if run.get('resumed') else ''} — "
            f"{run.get('pages', 0)} page(s), {run.get('seen', 0)} seen, {run.get('queued', 0)} queued, "
            f"{run.get('unchanged', 0)} unchanged, {run.get('failed', 0)} failed page(s), "
            f"{run.get('duration_seconds', 0):.1f} s{watermark}")


def _run_local(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    """In this process, against the running `hookline dev` (its emulator, configuration and env file)."""
    cfg, path = job_config(args, stack)
    if args.name not in cfg.syncs:
        raise CommandError(f"no sync {args.name!r} in {path} (configured: {', '.join(cfg.syncs) or 'none'})")
    svc = _jobs.services_beside_dev(stack, cfg, path)
    # lazy: every `hookline` run imports all command modules; their deferred imports cost ~0.5 s.
    from hookline.sync.runner import run_job
    from hookline.sync.service import build_runtime

    return _jobs.run_here(
        f"sync {args.name}", lambda run: f"page {run.pages}, {run.seen} seen, {run.queued} queued, "
                                         f"{run.unchanged} unchanged",
        lambda on_page: run_job(args.name, cfg, build_runtime(svc, on_page=on_page))).to_dict()


def _run_remote(args: argparse.Namespace, stack: StackInfo) -> dict[str, Any]:
    """Invoke the deployed sync function; follow the checkpoint in the events table meanwhile."""
    store = sync_store(stack)

    def follow() -> str | None:
        checkpoint = store.get_state(args.name).get("checkpoint") or {}
        return f"{checkpoint.get('pages', 0)} page(s) done" if checkpoint else None

    return _jobs.run_deployed(stack, "sync", args.name, {"job": args.name}, "runs", follow)
